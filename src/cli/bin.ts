// `poglm bin`: spike times to counts [sequence][time][neuron].
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError, writeJson } from './files.js';
import { integer, positiveNumber } from './options.js';
import { runner, type CliContext } from './runner.js';
import { binSpikeTimes, parseSpikeTimes } from './spikes.js';
import { describeCounts } from './describe.js';

async function binCommand(
  context: CliContext,
  options: { spikes: string; binWidth: string; out: string; neurons?: string; duration?: string; sequenceBins?: string },
): Promise<void> {
  let text: string;
  try {
    text = readFileSync(options.spikes, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --spikes file ${options.spikes}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const counts = binSpikeTimes(parseSpikeTimes(text, options.spikes), {
    binWidth: positiveNumber('--bin-width', options.binWidth),
    neurons: options.neurons === undefined ? undefined : integer('--neurons', options.neurons, { min: 1 }),
    duration: options.duration === undefined ? undefined : positiveNumber('--duration', options.duration),
    sequenceBins: options.sequenceBins === undefined ? undefined : integer('--sequence-bins', options.sequenceBins, { min: 1 }),
  });
  writeJson(options.out, counts);
  context.out(`wrote ${options.out}: ${describeCounts(counts)}`);
}

export function registerBinCommand(program: Command): void {
  program
    .command('bin')
    .description('turn spike times (CSV rows "neuron,time" in seconds) into counts [sequence][time][neuron]')
    .requiredOption('--spikes <times.csv>', 'spike times')
    .requiredOption('--bin-width <seconds>', 'bin width in seconds')
    .requiredOption('--out <counts.json>', 'output file')
    .option('--neurons <n>', 'number of neurons (default: highest index + 1)')
    .option('--duration <seconds>', 'recording length (default: the last spike)')
    .option('--sequence-bins <t>', 'cut into sequences of t bins (the last partial one is dropped)')
    .action(runner(binCommand as never));

}

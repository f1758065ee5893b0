// `poglm bin`: spike times to counts [sequence][time][neuron].
import type { Command } from 'commander';
import { writeAtomically } from './files.js';
import { integer, positiveNumber } from './options.js';
import { InterruptedExit, runner, type CliContext } from './runner.js';
import { binSpikeFile, countsJson, describeBinned, type BinOptions } from './spikes.js';

async function binCommand(
  context: CliContext,
  options: { spikes: string; binWidth: string; out: string; neurons?: string; duration?: string; sequenceBins?: string },
): Promise<void> {
  // The flags are checked before the file is read, so that a typo costs no pass over a large file.
  const binOptions: BinOptions = {
    binWidth: positiveNumber('--bin-width', options.binWidth),
    neurons: options.neurons === undefined ? undefined : integer('--neurons', options.neurons, { min: 1 }),
    duration: options.duration === undefined ? undefined : positiveNumber('--duration', options.duration),
    sequenceBins: options.sequenceBins === undefined ? undefined : integer('--sequence-bins', options.sequenceBins, { min: 1 }),
  };
  const binned = await binSpikeFile(options.spikes, binOptions, { signal: context.signal });
  // The last chunk may have been read as the Ctrl-C came: an interrupted run writes nothing.
  if (context.signal.aborted) throw new InterruptedExit('interrupted: nothing was written');
  writeAtomically(options.out, countsJson(binned));
  context.out(`wrote ${options.out}: ${describeBinned(binned, binOptions.duration)}`);
}

export function registerBinCommand(program: Command): void {
  program
    .command('bin')
    .description(
      'turn spike times (rows "neuron,time" in seconds; comma, tab or semicolon separated; an optional header such as "neuron,time" or "time,unit" gives the order) into counts [sequence][time][neuron] in bins [k w, (k+1) w)',
    )
    .requiredOption('--spikes <times.csv>', 'spike times')
    .requiredOption('--bin-width <seconds>', 'bin width in seconds')
    .requiredOption('--out <counts.json>', 'output file')
    .option('--neurons <n>', 'number of neurons (default: highest index + 1)')
    .option('--duration <seconds>', 'recording length; spikes at or after it are dropped (default: up to and including the last spike)')
    .option('--sequence-bins <t>', 'cut into sequences of t bins (the last partial one is dropped)')
    .action(runner(binCommand as never));
}

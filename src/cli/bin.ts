// `poglm bin`: spike times to counts [sequence][time][neuron].
import type { Command } from 'commander';
import { writeAtomically } from './files.js';
import { integerInput, optional, outputFileInput, positiveInput, readInput, type InputValues } from './inputs.js';
import { commandAction, InterruptedExit, type CliContext } from './runner.js';
import { binSpikeFile, describeBinned } from './spikes.js';
import { countsJson } from './counts-json.js';

// Checked before the file is read (a typo costs no pass over a large file), and --out must not be the --spikes file
// (the counts would replace the spike times). The file itself is read by binSpikeFile, in chunks.
const BIN_INPUTS = {
  flags: {
    spikes: readInput('--spikes', (path) => path),
    binWidth: positiveInput('--bin-width'),
    out: outputFileInput('--out'),
    neurons: optional(integerInput('--neurons', { min: 1 })),
    duration: optional(positiveInput('--duration')),
    sequenceBins: optional(integerInput('--sequence-bins', { min: 1 })),
  },
};

async function binCommand(context: CliContext, { spikes, out, ...options }: InputValues<typeof BIN_INPUTS.flags>): Promise<void> {
  const binned = await binSpikeFile(spikes, options, { signal: context.signal });
  // The last chunk may have been read as the Ctrl-C came: an interrupted run writes nothing.
  if (context.signal.aborted) throw new InterruptedExit('interrupted: nothing was written');
  writeAtomically(out, countsJson(binned));
  context.out(`wrote ${out}: ${describeBinned(binned, options.duration)}`);
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
    .action(commandAction(BIN_INPUTS, binCommand));
}

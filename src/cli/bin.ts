// `poglm bin`: spike times (CSV, NWB, MATLAB v5/v7.3, NumPy) to counts [sequence][time][neuron], in one step from a
// lab's recording to the files `fit` and `grid` read: the units to keep, sequences cut from the recording or from
// each trial's start, a train/test split, and a manifest that says where every sequence came from.
import type { Command } from 'commander';
import { UsageError, writeAtomically } from './files.js';
import { checkWritable, integerInput, integerListInput, optional, outputFileInput, positiveInput, readInput, type Input, type InputValues } from './inputs.js';
import { integerList } from './options.js';
import { commandAction, InterruptedExit, type CliContext } from './runner.js';
import { describeLeftOut, openCsvSpikes } from './spikes.js';
import { MAX_OUTPUT_CELLS } from './limits.js';
import { DataError } from '../model/data.js';
import { binSpikes, resolveUnits, spikeTimesSource, type BinnedSequences, type BinPlan, type SequencePlan, type SpikeSource } from '../io/binning.js';
import { countArraySequences, countArrayUnits } from '../io/count-arrays.js';
import { hashFile } from '../io/manifest.js';
import { writeBinned, type TimeBase } from '../io/outputs.js';
import { detectSpikeFormat, readSpikeFile } from '../io/read-spikes.js';
import { assignSplits, type Split, type SplitPlan } from '../io/split.js';
import { SPIKE_FORMATS, TIME_UNITS, type SpikeCountArray, type SpikeFormat, type SpikeOrigin, type TimeUnit, type Trial, type UnitId } from '../io/spike-data.js';

// ---- Flags ----

function choiceInput<T extends string>(flag: string, choices: readonly T[]): Input<T> {
  return {
    flag,
    read: (raw) => {
      const value = (raw ?? '').trim().toLowerCase() as T;
      if (!choices.includes(value)) throw new UsageError(`${flag} "${raw}" is not one of ${choices.join(', ')}`);
      return value;
    },
  };
}

const textInput = (flag: string): Input<string> => ({
  flag,
  read: (raw) => {
    if (raw === undefined || raw.trim() === '') throw new UsageError(`${flag} is empty: give a name`);
    return raw.trim();
  },
});

/** "3,7,12", "0-9" or a mix: unit ids as written (ids may be names); integer ranges expand. */
const unitListInput = (flag: string): Input<string[]> => ({
  flag,
  read: (raw) => {
    const tokens = (raw ?? '').split(',').map((token) => token.trim());
    if (tokens.some((token) => token === '')) throw new UsageError(`${flag} "${raw}" has an empty entry: list unit ids separated by commas, e.g. 3,7,12 or 0-9`);
    return tokens.flatMap((token) => (/^\d+-\d+$/.test(token) ? integerList(flag, token).map(String) : [token]));
  },
});

const fractionInput = (flag: string): Input<number> => ({
  flag,
  read: (raw) => {
    const value = Number(raw);
    if (raw === undefined || raw.trim() === '' || !(value > 0 && value < 1)) throw new UsageError(`${flag} must be a fraction between 0 and 1 (the share of sequences to test on), got "${raw}"`);
    return value;
  },
});

/** "a:b" in seconds, b > a; "a:" runs to the end. */
const rangeInput = (flag: string): Input<{ start: number; end: number; text: string }> => ({
  flag,
  read: (raw) => {
    const match = /^\s*([^:]+):([^:]*)$/.exec(raw ?? '');
    const [start, end] = match ? [Number(match[1]), match[2].trim() === '' ? Infinity : Number(match[2])] : [NaN, NaN];
    if (!(start >= 0 && end > start)) throw new UsageError(`${flag} must be START:END in seconds with 0 <= START < END (or START: to the end), got "${raw}"`);
    return { start, end, text: String(raw).trim() };
  },
});

const BIN_FLAGS = {
  spikes: readInput('--spikes', (path) => path),
  format: optional(choiceInput('--format', SPIKE_FORMATS)),
  variable: optional(textInput('--variable')),
  timeUnit: optional(choiceInput('--time-unit', TIME_UNITS)),
  frameRate: optional(positiveInput('--frame-rate')),
  binWidth: optional(positiveInput('--bin-width')),
  binFrames: optional(integerInput('--bin-frames', { min: 1 })),
  out: optional(outputFileInput('--out')),
  trainOut: optional(outputFileInput('--train-out')),
  testOut: optional(outputFileInput('--test-out')),
  manifest: optional(outputFileInput('--manifest')),
  neurons: optional(integerInput('--neurons', { min: 1 })),
  units: optional(unitListInput('--units')),
  duration: optional(positiveInput('--duration')),
  sequenceBins: optional(integerInput('--sequence-bins', { min: 1 })),
  align: optional(choiceInput('--align', ['recording', 'trials'] as const)),
  testFraction: optional(fractionInput('--test-fraction')),
  testRange: optional(rangeInput('--test-range')),
  testTrials: optional(integerListInput('--test-trials')),
  splitSeed: optional(integerInput('--split-seed', { max: 2 ** 32 - 1 })),
};

/** The flags of `poglm bin`, read and checked. */
export type BinValues = InputValues<typeof BIN_FLAGS>;

const SPLIT_FLAGS = ['--test-fraction', '--test-range', '--test-trials'] as const;

function checkOutputs(values: BinValues): void {
  const splits = [values.testFraction, values.testRange, values.testTrials].filter((value) => value !== undefined).length;
  if (splits > 1) throw new UsageError(`give one of ${SPLIT_FLAGS.join(', ')}: they are different ways to choose the test sequences`);
  const both = values.trainOut !== undefined && values.testOut !== undefined;
  if (splits === 1 && !both) throw new UsageError(`a split (${SPLIT_FLAGS.join(', ')}) writes two files: give --train-out and --test-out${values.out ? ' instead of --out' : ''}`);
  if (splits === 0 && (values.trainOut !== undefined || values.testOut !== undefined)) throw new UsageError(`--train-out and --test-out need a split: add ${SPLIT_FLAGS.join(', ')}`);
  if (splits === 1 && values.out !== undefined) throw new UsageError('with a split give --train-out and --test-out, not --out');
  if (splits === 0 && values.out === undefined) throw new UsageError('--out is required (or --train-out and --test-out with a split)');
  if (values.splitSeed !== undefined && values.testFraction === undefined) throw new UsageError('--split-seed shuffles the sequences of --test-fraction: add --test-fraction');
  if (values.testTrials !== undefined && values.align !== 'trials') throw new UsageError('--test-trials picks trials: add --align trials');
}

function checkTimeFlags(values: BinValues): void {
  if (values.binFrames !== undefined && values.binWidth !== undefined) throw new UsageError('give --bin-width (seconds) or --bin-frames (frames), not both');
  if (values.binFrames !== undefined && values.timeUnit !== 'frames') throw new UsageError('--bin-frames bins frame times: add --time-unit frames (and --frame-rate)');
  if (values.timeUnit === 'frames' && values.frameRate === undefined) throw new UsageError('--time-unit frames needs --frame-rate HZ, the frames per second');
  if (values.frameRate !== undefined && values.timeUnit !== 'frames') throw new UsageError('--frame-rate applies to --time-unit frames');
  if (values.align === 'trials' && values.duration !== undefined) throw new UsageError('--duration cuts the recording; with --align trials each trial ends its sequence: leave --duration out');
}

/** The manifest's path: --manifest, else beside the counts (counts.json -> counts.manifest.json). */
export function manifestPathFor(out: string): string {
  return `${out.replace(/\.json$/i, '')}.manifest.json`;
}

function checkManifest(values: BinValues): void {
  if (values.manifest !== undefined) return;
  const path = manifestPathFor((values.out ?? values.trainOut)!);
  checkWritable('--manifest', path, false);
  if (path === values.spikes) throw new UsageError(`the manifest ${path} would overwrite the --spikes file: give --manifest another path`);
}

const BIN_INPUTS = { flags: BIN_FLAGS, relations: [checkOutputs, checkTimeFlags, checkManifest] };

// ---- Reading ----

/** What a spike file gives binning: a source of spike times, or counts as stored. */
export type SpikeInput =
  | { kind: 'times'; source: SpikeSource; origin: Omit<SpikeOrigin, 'notes'>; notes: string[]; timeUnit?: TimeUnit; trials?: Trial[] }
  | { kind: 'counts'; data: SpikeCountArray; notes: string[] };

/** Opens `path` in its format: CSV streamed (src/cli/spikes.ts), the others read and checked by src/io. */
export async function openSpikeInput(
  path: string,
  options: { format?: SpikeFormat; variable?: string; units?: string[]; neurons?: number; flag?: string },
  signal?: AbortSignal,
): Promise<SpikeInput> {
  const flag = options.flag ?? '--spikes';
  const source = `${flag} file ${path}`;
  const detected = detectSpikeFormat(path, source, options.format);
  if (detected.format === 'csv') {
    if (options.variable !== undefined) throw new UsageError(`--variable applies to NWB, MATLAB and .npz files; ${path} is read as CSV`);
    const csv = await openCsvSpikes(path, { neurons: options.neurons }, { signal });
    return { kind: 'times', source: csv, origin: { path, source, format: 'csv', container: 'CSV', dataset: 'rows (neuron, time)' }, notes: [] };
  }
  if (options.neurons !== undefined) throw new UsageError(`--neurons applies to CSV files (the number of neuron indices); for ${path} choose units with --units`);
  const data = await readSpikeFile(path, detected, { flag, variable: options.variable, units: options.units });
  if (data.kind === 'counts') return { kind: 'counts', data, notes: data.notes };
  const { notes, units: _units, trials, timeUnit, kind: _kind, ...origin } = data;
  return { kind: 'times', source: spikeTimesSource(data), origin, notes, timeUnit, trials };
}

// ---- Binning ----

const UNIT_SCALE: Record<TimeUnit, number> = { s: 1, ms: 1000, us: 1e6, frames: NaN };

function timeBase(values: BinValues, implied: TimeUnit | undefined): TimeBase {
  const timeUnit = values.timeUnit ?? implied ?? 's';
  if (timeUnit === 'frames' && values.frameRate === undefined) throw new UsageError('the times are in frames: give --frame-rate HZ');
  const frames = values.binFrames !== undefined;
  const rate = values.frameRate ?? NaN;
  if (frames) return { timeUnit, frames, timeScale: 1, perSecond: rate, binWidth: values.binFrames! };
  if (values.binWidth === undefined) throw new UsageError(`--bin-width is required: ${values.spikes} holds spike times${timeUnit === 'frames' ? ' (or give --bin-frames)' : ''}`);
  return { timeUnit, frames, timeScale: timeUnit === 'frames' ? rate : UNIT_SCALE[timeUnit], perSecond: 1, binWidth: values.binWidth };
}

function sequencePlan(values: BinValues, base: TimeBase, trials: Trial[] | undefined, where: string): SequencePlan {
  if (values.align !== 'trials') return { align: 'recording', duration: values.duration === undefined ? undefined : values.duration * base.perSecond, sequenceBins: values.sequenceBins };
  if (!trials) throw new DataError(`--align trials: ${where} has no trials (NWB files keep them in /intervals/trials)`);
  return { align: 'trials', trials, sequenceBins: values.sequenceBins };
}

function splitPlan(values: BinValues, base: TimeBase | undefined, trials: number): SplitPlan | undefined {
  if (values.testFraction !== undefined) return { kind: 'fraction', fraction: values.testFraction, seed: values.splitSeed };
  if (values.testTrials !== undefined) return { kind: 'trials', test: values.testTrials, trials };
  if (values.testRange === undefined) return undefined;
  if (!base) throw new UsageError('--test-range is in seconds: give --bin-width so that the counts have times');
  const { start, end, text } = values.testRange;
  return { kind: 'range', start: start * base.perSecond, end: end * base.perSecond, text };
}

export interface BinResult {
  binned: BinnedSequences;
  units: UnitId[];
  base?: TimeBase;
  notes: string[];
}

/** Bins what openSpikeInput read as the flags say: the counts, the units kept (ids, in order) and the time base. */
export async function binInput(input: SpikeInput, values: BinValues): Promise<BinResult> {
  if (input.kind === 'counts') {
    if (values.align === 'trials' || values.duration !== undefined) throw new UsageError(`${input.data.source} holds counts already binned: --align and --duration apply to spike times`);
    const columns = values.units ? resolveUnits(countArrayUnits(input.data), values.units) : undefined;
    const binned = countArraySequences(input.data, columns, values.sequenceBins, values.binWidth);
    const base = values.binWidth === undefined ? undefined : { timeUnit: 's' as const, frames: false, timeScale: 1, perSecond: 1, binWidth: values.binWidth };
    return { binned, units: columns ?? Array.from({ length: input.data.neurons }, (_, i) => i), base, notes: input.notes };
  }
  const base = timeBase(values, input.timeUnit);
  const notes = [...input.notes];
  if (values.timeUnit === undefined && input.timeUnit !== undefined && input.timeUnit !== 's') notes.push(`${input.origin.source}: times read in ${input.timeUnit}, as its layout keeps them (--time-unit says otherwise)`);
  if (values.timeUnit === undefined && input.timeUnit === undefined && input.origin.format !== 'csv') notes.push(`${input.origin.source} does not say its time unit: read as seconds (give --time-unit ms, us or frames if it is not)`);
  const columns = values.units ? resolveUnits(input.source, values.units) : undefined;
  const plan: BinPlan = {
    binWidth: base.binWidth,
    timeScale: base.timeScale,
    binUnit: base.frames ? 'frames' : 's',
    widthFlag: base.frames ? `--bin-frames (now ${base.binWidth})` : undefined,
    columns,
    sequences: sequencePlan(values, base, input.trials, input.origin.source),
    maxCells: MAX_OUTPUT_CELLS,
  };
  const binned = await binSpikes(input.source, plan);
  const units = (columns ?? Array.from({ length: input.source.unitCount }, (_, i) => i)).map((index) => input.source.unitId(index));
  return { binned, units, base, notes };
}

// ---- The command ----

/** The source's SHA-256 for the manifest, before anything is written; a stop while hashing writes nothing. */
export async function hashSource(path: string, signal: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const hash = await hashFile(path, signal);
  if (!hash || signal.aborted) throw new InterruptedExit('interrupted: nothing was written');
  return hash;
}

function extraNotes(binned: BinnedSequences, splits: Split[] | undefined): string[] {
  const notes: string[] = [];
  if (binned.unselected > 0) notes.push(`${binned.unselected} spikes of units not in --units left out`);
  if (binned.leftOutTrials.length > 0) notes.push(`${binned.leftOutTrials.length} trials shorter than a sequence left out (${binned.leftOutTrials.slice(0, 10).join(', ')}${binned.leftOutTrials.length > 10 ? ', ...' : ''})`);
  const straddling = splits?.filter((split) => split === 'none').length ?? 0;
  if (straddling > 0) notes.push(`${straddling} sequences straddle --test-range and are in neither file`);
  return notes;
}

async function binCommand(context: CliContext, values: BinValues): Promise<void> {
  const input = await openSpikeInput(values.spikes, { format: values.format, variable: values.variable, units: values.units, neurons: values.neurons }, context.signal);
  const { binned, units, base, notes } = await binInput(input, values);
  // The last chunk may have been read as the Ctrl-C came: an interrupted run writes nothing.
  if (context.signal.aborted) throw new InterruptedExit('interrupted: nothing was written');
  for (const note of notes) context.err(`poglm: ${note}`);
  const trials = input.kind === 'times' ? (input.trials?.length ?? 0) : 0;
  const plan = splitPlan(values, base, trials);
  const splits = plan ? assignSplits(binned, plan) : undefined;
  const manifest = values.manifest ?? manifestPathFor((values.out ?? values.trainOut)!);
  const origin = input.kind === 'times' ? input.origin : input.data;
  const timeUnit = input.kind === 'counts' ? 'none (counts read as stored)' : (base?.timeUnit ?? 's');
  const hash = await hashSource(origin.path, context.signal);
  const outputs = { out: values.out, trainOut: values.trainOut, testOut: values.testOut, manifest };
  const described = { origin, hash, timeUnit, units, base, frameRate: values.frameRate, align: values.align ?? ('recording' as const) };
  const lines = await writeBinned(binned, splits, outputs, described, writeAtomically);
  // One line per file; what was left out goes on the last, as `poglm bin` of a CSV file has always said it.
  const leftOutClauses =
    values.align === 'trials'
      ? binned.dropped > 0 ? [`${binned.dropped} of ${binned.spikes} spikes outside every trial's sequence left out`] : []
      : describeLeftOut(binned, values.duration);
  const tail = [...leftOutClauses, ...extraNotes(binned, splits)];
  if (tail.length > 0) lines[lines.length - 1] += `; ${tail.join('; ')}`;
  for (const line of lines) context.out(line);
  context.err(`poglm: wrote the manifest ${manifest}`);
}

export function registerBinCommand(program: Command): void {
  program
    .command('bin')
    .description(
      'turn spike times into counts [sequence][time][neuron] in bins [k w, (k+1) w): CSV rows "neuron,time" (seconds; comma, tab or semicolon separated; ' +
        'an optional header such as "neuron,time" or "time,unit" gives the order), an NWB units table (with its trials), a MATLAB v5/v7/v7.3 file ' +
        '(a cell array of spike-time vectors, or a cluster_class [spikes x 2] matrix of cluster and time in ms), or NumPy .npy/.npz (a [spikes x 2] ' +
        'float array of unit and time, a structured array, two 1-D arrays of unit ids and times, or counts [sequence][bin][neuron] or [bin][neuron]); ' +
        'writes a manifest beside the counts',
    )
    .requiredOption('--spikes <file>', 'spike times or counts (.csv/.tsv, .nwb/.h5, .mat, .npy, .npz: told by its first bytes, else its extension)')
    .option('--format <format>', `read as ${SPIKE_FORMATS.join(', ')} whatever the extension and first bytes say`)
    .option('--variable <name>', 'the MATLAB variable, the .npz array (or two: UNITS,TIMES), or the NWB units table (default /units) to read')
    .option('--bin-width <seconds>', 'bin width in seconds (required for spike times)')
    .option('--time-unit <unit>', "the file's time unit: s, ms, us or frames (default: what the layout implies, cluster_class ms, else s)")
    .option('--frame-rate <hz>', 'frames per second, with --time-unit frames')
    .option('--bin-frames <n>', 'bins of n frames (with --time-unit frames), binned in frames exactly, instead of --bin-width')
    .option('--out <counts.json>', 'output file (without a split)')
    .option('--train-out <train.json>', 'the training sequences, with a split')
    .option('--test-out <test.json>', 'the test sequences, with a split')
    .option('--manifest <file>', 'where the manifest goes (default: beside the counts, counts.manifest.json)')
    .option('--units <list>', 'the units to keep, by id, in this order (e.g. 3,7,12 or 0-9; default all, in the file order)')
    .option('--neurons <n>', 'CSV: number of neurons (default: highest index + 1)')
    .option('--duration <seconds>', 'recording length; spikes at or after it are dropped (default: up to and including the last spike)')
    .option('--sequence-bins <t>', 'cut into sequences of t bins (the last partial one is dropped); with --align trials, t bins from each trial start')
    .option('--align <how>', 'recording (sequences cut from time 0, the default) or trials (one sequence per trial, from its start; NWB trials)')
    .option('--test-fraction <f>', 'the last fraction f of the sequences are the test set (shuffled with --split-seed)')
    .option('--split-seed <n>', 'shuffle the sequences before --test-fraction picks the test set')
    .option('--test-range <a:b>', 'sequences inside [a, b) seconds are the test set; those straddling it are left out')
    .option('--test-trials <list>', 'the sequences of these trials (numbered from 0) are the test set, with --align trials')
    .action(commandAction(BIN_INPUTS, binCommand));
}

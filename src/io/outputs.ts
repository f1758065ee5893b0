// Writing binned sequences: the counts (one file, or the train and test files of a split) and then the manifest, so
// that a manifest on disk means its counts are complete. The writer is given (the CLI's writes go through a temporary
// file and a rename), so that this module decides what is written and the caller how.
import { countsJson, type CountsArray } from '../cli/counts-json.js';
import { describeCountsArray } from '../cli/describe.js';
import type { BinnedSequences } from './binning.js';
import { manifestJson, type Manifest, type ManifestSequence } from './manifest.js';
import type { Split } from './split.js';
import type { SpikeOrigin, TimeUnit, UnitId } from './spike-data.js';

/** Bins are in seconds, or in frames with --bin-frames; times are scaled from the file's unit to the bins'. */
export interface TimeBase {
  timeUnit: TimeUnit;
  frames: boolean;
  /** A file time divided by this is in bin units. */
  timeScale: number;
  /** Seconds (of a flag) times this are bin units. */
  perSecond: number;
  binWidth: number;
}

/** The sequences of `binned` listed in `indices` (in time order), without a copy when they are consecutive. */
function selectSequences(binned: BinnedSequences, indices: number[]): CountsArray {
  const { bins, neurons } = binned;
  const size = bins * neurons;
  const consecutive = indices.every((index, i) => index === indices[0] + i);
  if (consecutive) return { counts: binned.counts.subarray(indices[0] * size, (indices[0] + indices.length) * size), sequences: indices.length, bins, neurons };
  const counts = new (binned.counts.constructor as Uint32ArrayConstructor)(indices.length * size);
  indices.forEach((index, i) => counts.set(binned.counts.subarray(index * size, (index + 1) * size), i * size));
  return { counts, sequences: indices.length, bins, neurons };
}

export interface Outputs {
  /** One counts file, or the two of a split. */
  out?: string;
  trainOut?: string;
  testOut?: string;
  manifest: string;
}

export interface ManifestContext {
  origin: Omit<SpikeOrigin, 'notes'>;
  /** The source file's hash (hashFile), taken before anything is written. */
  hash: { sha256: string; bytes: number };
  timeUnit: string;
  units: UnitId[];
  base?: TimeBase;
  frameRate?: number;
  align: 'recording' | 'trials';
}

function manifestSequences(binned: BinnedSequences, splits: Split[] | undefined, base: TimeBase | undefined): ManifestSequence[] {
  const rows = { train: 0, test: 0, all: 0, none: 0 };
  const seconds = (value: number): number | null => (base ? (base.frames ? value / base.perSecond : value) : null);
  return Array.from({ length: binned.sequences }, (_, s) => {
    const split = splits?.[s] ?? 'all';
    const sequence: ManifestSequence = { start: seconds(binned.starts[s]), end: seconds(binned.ends[s]), split, row: split === 'none' ? null : rows[split]++ };
    if (base?.frames) sequence.frames = [binned.starts[s], binned.ends[s]];
    if (binned.trialOf) sequence.trial = binned.trialOf[s];
    return sequence;
  });
}

function leftOut(binned: BinnedSequences): Record<string, number | number[]> {
  const parts: Record<string, number | number[]> = {};
  if (binned.unselected > 0) parts.spikesOfOtherUnits = binned.unselected;
  if (binned.dropped > 0) parts.spikesOutsideSequences = binned.dropped;
  if (binned.cut > 0) parts.spikesInPartialLastSequence = binned.cut;
  if (binned.leftOutTrials.length > 0) parts.trialsShorterThanASequence = binned.leftOutTrials;
  return parts;
}

/**
 * Writes the counts (one file, or the train and test files of `splits`) with `write`, then the manifest. Returns one
 * line per counts file written ("wrote train.json: 960 sequences x 100 bins x 27 neurons; ...").
 */
export async function writeBinned(
  binned: BinnedSequences,
  splits: Split[] | undefined,
  outputs: Outputs,
  context: ManifestContext,
  write: (path: string, pieces: Iterable<string>) => void,
): Promise<string[]> {
  const lines: string[] = [];
  const files: Record<string, string> = {};
  if (!splits) {
    write(outputs.out!, countsJson(binned));
    files.counts = outputs.out!;
    lines.push(`wrote ${outputs.out}: ${describeCountsArray(binned)}`);
  } else {
    for (const [part, path] of [['train', outputs.trainOut!], ['test', outputs.testOut!]] as const) {
      const indices = splits.flatMap((split, s) => (split === part ? [s] : []));
      const selected = selectSequences(binned, indices);
      write(path, countsJson(selected));
      files[part] = path;
      lines.push(`wrote ${path}: ${describeCountsArray(selected)}`);
    }
  }
  const { base } = context;
  const manifest: Manifest = {
    source: { path: context.origin.path, format: context.origin.format, container: context.origin.container, dataset: context.origin.dataset, timeUnit: context.timeUnit, ...context.hash },
    units: context.units,
    binWidth: base ? (base.frames ? base.binWidth / base.perSecond : base.binWidth) : null,
    ...(base?.frames ? { binFrames: base.binWidth, frameRate: base.perSecond } : context.frameRate ? { frameRate: context.frameRate } : {}),
    sequenceBins: binned.bins,
    align: context.align,
    outputs: files,
    leftOut: leftOut(binned),
    sequences: manifestSequences(binned, splits, base),
  };
  write(outputs.manifest, manifestJson(manifest));
  return lines;
}


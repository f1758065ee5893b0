// Train/test splits of binned sequences: the last fraction of them (or a seeded shuffle), those inside a time range,
// those of given trials, or the first N for training (the paper's preprocessing). Each sequence is "train", "test",
// or "none" (a sequence that straddles a --test-range is in neither, so that no bin is in both). Both parts must be
// non-empty; the errors say how many sequences there are and what to change.
import { DataError } from '../model/data.js';
import { NoisePurpose, PhiloxStream } from '../model/philox.js';

export type Split = 'train' | 'test' | 'none';

export type SplitPlan =
  /** The last `fraction` of the sequences, or a random `fraction` of them when seeded. */
  | { kind: 'fraction'; fraction: number; seed?: number }
  /** Sequences inside [start, end) (in the bins' unit) are the test set; `text` is the flag as given, for messages. */
  | { kind: 'range'; start: number; end: number; text: string }
  /** The sequences of these trials are the test set; `trials` is how many trials the file has. */
  | { kind: 'trials'; test: number[]; trials: number }
  /** The first `train` sequences train, the rest test. */
  | { kind: 'first'; train: number };

export interface SequenceSpans {
  sequences: number;
  starts: Float64Array;
  ends: Float64Array;
  trialOf?: Int32Array;
}

/**
 * The stream of a seeded split: Philox's shuffle purpose at a counter (2^32 - 1) that no epoch of a fit reaches, so
 * that a split seed never replays the minibatch order of a fit with the same seed.
 */
const SPLIT_STREAM = 2 ** 32 - 1;

/** Sequence indices in a seeded random order (Fisher-Yates). */
function shuffled(count: number, seed: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  const stream = new PhiloxStream(seed, NoisePurpose.shuffle, SPLIT_STREAM);
  for (let i = count - 1; i > 0; i--) {
    const j = stream.nextInt(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function byFraction(spans: SequenceSpans, fraction: number, seed: number | undefined): Split[] {
  const { sequences } = spans;
  const test = Math.round(fraction * sequences);
  if (test < 1 || test > sequences - 1) {
    throw new DataError(`--test-fraction ${fraction} of ${sequences} sequences is ${test} test sequences: both parts need at least one (choose a fraction between ${(1 / sequences).toPrecision(2)} and ${(1 - 1 / sequences).toPrecision(2)}, or cut more sequences)`);
  }
  const chosen = seed === undefined ? Array.from({ length: test }, (_, i) => sequences - test + i) : shuffled(sequences, seed).slice(0, test);
  const splits = new Array<Split>(sequences).fill('train');
  for (const s of chosen) splits[s] = 'test';
  return splits;
}

function byRange(spans: SequenceSpans, start: number, end: number): Split[] {
  return Array.from({ length: spans.sequences }, (_, s) => {
    const [from, to] = [spans.starts[s], spans.ends[s]];
    if (from >= start && to <= end) return 'test';
    return to <= start || from >= end ? 'train' : 'none';
  });
}

function byTrials(spans: SequenceSpans, test: number[], trials: number): Split[] {
  if (!spans.trialOf) throw new DataError('--test-trials needs sequences aligned to trials: add --align trials');
  const bad = test.find((trial) => trial >= trials);
  if (bad !== undefined) throw new DataError(`--test-trials ${bad}: the file has ${trials} trials (numbered from 0)`);
  const present = new Set(spans.trialOf);
  const missing = test.find((trial) => !present.has(trial));
  if (missing !== undefined) throw new DataError(`--test-trials ${missing}: that trial is shorter than a sequence, so it has none: lower --sequence-bins or leave it out`);
  const chosen = new Set(test);
  return Array.from(spans.trialOf, (trial) => (chosen.has(trial) ? 'test' : 'train'));
}

/** The split of each sequence; both parts must hold at least one. */
export function assignSplits(spans: SequenceSpans, plan: SplitPlan): Split[] {
  const splits =
    plan.kind === 'fraction'
      ? byFraction(spans, plan.fraction, plan.seed)
      : plan.kind === 'range'
        ? byRange(spans, plan.start, plan.end)
        : plan.kind === 'trials'
          ? byTrials(spans, plan.test, plan.trials)
          : Array.from({ length: spans.sequences }, (_, s): Split => (s < plan.train ? 'train' : 'test'));
  const test = splits.filter((split) => split === 'test').length;
  const train = splits.filter((split) => split === 'train').length;
  if (test === 0 || train === 0) {
    const which = plan.kind === 'range' ? `--test-range ${plan.text}` : plan.kind === 'trials' ? '--test-trials' : 'the split';
    throw new DataError(`${which} leaves ${train} training and ${test} test sequences of ${spans.sequences}: both parts need at least one`);
  }
  return splits;
}

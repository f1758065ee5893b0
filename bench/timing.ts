// Timing helpers: medians over repeated measurements after a warm-up, with a time budget and a per-step cap, so a
// very slow case is measured once and flagged instead of stalling the run (or being dropped silently).

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export interface TimingOptions {
  /** Aim for one measurement (k steps) to last about this long; default 400 ms. */
  targetMs: number;
  /** Measurements to take after the warm-up (the median is reported); default 7. */
  repeats: number;
  /** Wall time allowed for the whole measurement, warm-up included; fewer repeats (at least 1) when it runs short. */
  budgetMs: number;
  /** A step slower than this (in the warm-up) is not repeated: the warm-up itself becomes the one measurement. */
  capMs: number;
  /** Most steps per measurement. */
  maxSteps: number;
  /** Warm-up runs of one step each (compilation, first-use allocations); default 1. */
  warmup: number;
}

export const DEFAULT_TIMING: TimingOptions = {
  targetMs: 400,
  repeats: 7,
  budgetMs: 60_000,
  capMs: 60_000,
  maxSteps: 1000,
  warmup: 1,
};

export interface StepTiming {
  /** Median per-step time over the measurements (ms). */
  stepMs: number;
  /** Fastest and slowest per-step time among the measurements (ms). */
  minMs: number;
  maxMs: number;
  /** Steps per measurement. */
  steps: number;
  /** Measurements behind the median. */
  repeats: number;
  /** Warm-up step time (ms), compilation and first-use costs included. */
  warmupMs: number;
  /** Every measurement's per-step time (ms), in the order taken. */
  samplesMs: number[];
  /** Set when the step was over the cap: measured once, warm-up included, not repeated. */
  singleRun?: boolean;
  /** Set when the budget cut the repeats below the requested number. */
  budgetLimited?: boolean;
}

/**
 * Times `run(k)`, which must perform k steps and resolve once their work has finished on the device. Returns the
 * median per-step time over up to `repeats` measurements of k steps each, k chosen so one lasts about `targetMs`.
 */
export async function timeSteps(run: (steps: number) => Promise<void>, options: Partial<TimingOptions> = {}): Promise<StepTiming> {
  const o = { ...DEFAULT_TIMING, ...options };
  const started = performance.now();
  const timed = async (steps: number): Promise<number> => {
    const t0 = performance.now();
    await run(steps);
    return performance.now() - t0;
  };
  let warmupMs = 0;
  for (let i = 0; i < Math.max(1, o.warmup); i++) {
    warmupMs = await timed(1);
    if (warmupMs > o.capMs) {
      return { stepMs: warmupMs, minMs: warmupMs, maxMs: warmupMs, steps: 1, repeats: 1, warmupMs, samplesMs: [warmupMs], singleRun: true };
    }
  }
  // A first estimate of the step time, which is also the first measurement when a step is long.
  const estimate = await timed(1);
  const steps = Math.max(1, Math.min(o.maxSteps, Math.round(o.targetMs / Math.max(estimate, 1e-3))));
  const perStep: number[] = [];
  if (steps === 1) perStep.push(estimate);
  let budgetLimited = false;
  while (perStep.length < o.repeats) {
    const spent = performance.now() - started;
    const expected = (steps * estimate) * 1.2;
    if (perStep.length > 0 && spent + expected > o.budgetMs) {
      budgetLimited = true;
      break;
    }
    perStep.push((await timed(steps)) / steps);
  }
  const result: StepTiming = {
    stepMs: median(perStep),
    minMs: Math.min(...perStep),
    maxMs: Math.max(...perStep),
    steps,
    repeats: perStep.length,
    warmupMs,
    samplesMs: perStep,
  };
  if (budgetLimited) result.budgetLimited = true;
  return result;
}

/** Times `run()` (one whole unit of work, e.g. a fit) `repeats` times after `warmup` runs; median in ms. */
export async function timeRuns(
  run: () => Promise<void>,
  options: { repeats: number; warmup: number; budgetMs: number },
): Promise<{ medianMs: number; minMs: number; maxMs: number; repeats: number; runsMs: number[]; budgetLimited?: boolean }> {
  const started = performance.now();
  let last = 0;
  for (let i = 0; i < options.warmup; i++) {
    const t0 = performance.now();
    await run();
    last = performance.now() - t0;
  }
  const runsMs: number[] = [];
  let budgetLimited = false;
  while (runsMs.length < options.repeats) {
    const estimate = runsMs.length > 0 ? median(runsMs) : last;
    if (runsMs.length > 0 && performance.now() - started + estimate * 1.2 > options.budgetMs) {
      budgetLimited = true;
      break;
    }
    const t0 = performance.now();
    await run();
    runsMs.push(performance.now() - t0);
  }
  const result = { medianMs: median(runsMs), minMs: Math.min(...runsMs), maxMs: Math.max(...runsMs), repeats: runsMs.length, runsMs };
  return budgetLimited ? { ...result, budgetLimited } : result;
}

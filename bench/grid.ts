// Whole fits through the public API: fitMany with B jobs of identical settings (one batched group, split into jobs
// only where the device's buffer limit demands it) for grid throughput, and single fits for the per-fit time and the
// dispatches per step. Timed end to end as a user sees them: upload, pipeline setup, 20 epochs, results.
import { fit, fitMany, type FitJob, type FitResult } from '../src/api/fit.js';
import type { GpuSession } from '../src/engine/session.js';
import type { Scheme } from '../src/model/types.js';

export interface GridSettings {
  scheme: Scheme;
  method: 'exponential';
  hidden: number;
  epochs: number;
  batchSize: number;
  samples: number;
}

export const PAPER_GRID: GridSettings = { scheme: 'FB', method: 'exponential', hidden: 2, epochs: 20, batchSize: 10, samples: 5 };

export interface GridRun {
  results: FitResult[];
  /** Jobs (chunks) the group was split into, from fitMany's progress note (1 when none). */
  jobs: number;
  note?: string;
}

/** B fits of `train` with seeds 0..B-1 in one fitMany call (one group). */
export async function runGrid(session: GpuSession, train: number[][][], fits: number, settings: GridSettings): Promise<GridRun> {
  const jobs: FitJob[] = Array.from({ length: fits }, (_, seed) => ({ ...settings, train, seed }));
  let note: string | undefined;
  const results = await fitMany(jobs, {
    session,
    onProgress: (progress) => {
      if (progress.note) note = progress.note;
    },
  });
  const failures = results.filter((result) => result.failure).length;
  if (failures > 0) note = `${note ? `${note}; ` : ''}${failures} of ${fits} fits stopped on a non-finite ELBO`;
  const split = note?.match(/split into (\d+) jobs/);
  const run: GridRun = { results, jobs: split ? Number(split[1]) : 1 };
  if (note) run.note = note;
  return run;
}

/** One fit with `fit` (seed 0). */
export async function runFit(session: GpuSession, train: number[][][], settings: GridSettings): Promise<FitResult> {
  return fit(train, { ...settings, seed: 0 }, { session });
}

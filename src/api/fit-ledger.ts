// A fitMany call's checkpoint as it grows (FitLedger): the results of the jobs that ended and the state of the one
// running, each job fingerprinted so that a resume of other settings or data is refused; and the order in which a
// resumed call trains what is left (scheduleChunks).
import { describeValue } from '../model/data.js';
import { CheckpointMismatchError, checkFingerprint, checkFormat, hashCounts, hashJson, type TrainingCheckpoint } from '../model/checkpoint.js';
import { FIT_CHECKPOINT_FORMAT, positiveInteger, type CheckpointOptions, type FitCheckpoint, type FitFingerprint, type FitResult, type ResolvedJob } from './fit-jobs.js';

export function fitFingerprint(job: ResolvedJob, dataHash: string): FitFingerprint {
  return {
    visible: job.job.train[0][0].length,
    sequences: job.sequences,
    bins: job.bins,
    hidden: job.job.hidden,
    scheme: job.scheme,
    method: job.method.method,
    tau: job.method.tau,
    categories: job.method.categories,
    epochs: job.epochs,
    batchSize: job.batchSize,
    samples: job.samples,
    learningRateGenerative: job.learningRateGenerative,
    learningRateVariational: job.learningRateVariational,
    basis: job.basis,
    seed: job.seed,
    train: dataHash,
    init: job.job.init ? hashJson(job.job.init) : null,
  };
}

export type InProgress = NonNullable<FitCheckpoint['inProgress']>;

/**
 * A call's checkpoint as it grows: the results of jobs that ended and the state of the one running, saved through
 * the caller's `save`. Without checkpoint options it keeps nothing and saves nothing.
 */
export class FitLedger {
  readonly completed = new Map<number, FitResult>();
  inProgress?: InProgress;

  private constructor(
    private readonly fingerprints: FitFingerprint[],
    private readonly options?: CheckpointOptions<FitCheckpoint>,
  ) {}

  static open(resolved: ResolvedJob[], options?: CheckpointOptions<FitCheckpoint>): FitLedger {
    if (!options) return new FitLedger([]);
    if (typeof options.save !== 'function') throw new Error('checkpoint.save must be a function that keeps each state');
    if (options.every !== undefined) positiveInteger('checkpoint.every', options.every);
    // The held-out history that decides when such a fit stops is not part of a training state yet.
    if (resolved.some((job) => job.validation)) {
      throw new Error("checkpoints of fits with epochs 'auto' are not supported: give a number of epochs to checkpoint, or fit without a checkpoint");
    }
    // Jobs that share a training array share its hash, as they share its upload.
    const hashes = new Map<number[][][], string>();
    const hashOf = (train: number[][][]): string => hashes.get(train) ?? hashes.set(train, hashCounts(train)).get(train)!;
    const ledger = new FitLedger(resolved.map((job) => fitFingerprint(job, hashOf(job.job.train))), options);
    if (options.resume !== undefined) ledger.restore(options.resume, resolved);
    return ledger;
  }

  get every(): number {
    return this.options?.every ?? 1;
  }

  get saving(): boolean {
    return this.options !== undefined;
  }

  /** Takes over a saved state after checking it is one of these jobs. */
  private restore(state: FitCheckpoint, resolved: ResolvedJob[]): void {
    checkFormat(state, FIT_CHECKPOINT_FORMAT, 'checkpoint.resume');
    const many = resolved.length > 1;
    if (!Array.isArray(state.jobs) || state.jobs.length !== resolved.length) {
      throw new CheckpointMismatchError(many ? 'these fits' : 'the fit', [`the checkpoint holds ${state.jobs?.length} fits, this call has ${resolved.length}`]);
    }
    if (many) checkFingerprint('these fits', state.jobs, this.fingerprints, 'jobs');
    else checkFingerprint('the fit', state.jobs[0], this.fingerprints[0], 'fit');
    const checkIndex = (index: unknown, where: string): number => {
      if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= resolved.length) throw new Error(`${where} is ${describeValue(index)}, not a job of this call`);
      return index as number;
    };
    state.completed.forEach(({ index, result }, i) => {
      const job = resolved[checkIndex(index, `checkpoint.resume.completed[${i}].index`)].job;
      // The label names the job in this call; it changes no number, so it is not part of the fingerprint.
      const labelled = { ...result };
      if (job.label !== undefined) labelled.label = job.label;
      else delete labelled.label;
      this.completed.set(index, labelled);
    });
    if (state.inProgress) {
      state.inProgress.indices.forEach((index, i) => {
        checkIndex(index, `checkpoint.resume.inProgress.indices[${i}]`);
        if (this.completed.has(index)) throw new Error(`checkpoint.resume: job ${index} is both completed and in progress: the state is damaged`);
      });
      this.inProgress = state.inProgress;
    }
  }

  state(): FitCheckpoint {
    const completed = [...this.completed.entries()].sort(([a], [b]) => a - b).map(([index, result]) => ({ index, result }));
    return { format: FIT_CHECKPOINT_FORMAT, version: 1, jobs: this.fingerprints, completed, ...(this.inProgress ? { inProgress: this.inProgress } : {}) };
  }

  /** A running job's state; a finished job's is left for `ended`, which records its results instead. */
  async training(indices: number[], chunkSlots: number, training: TrainingCheckpoint): Promise<void> {
    if (!this.options || training.finished) return;
    this.inProgress = { indices, chunkSlots, training };
    await this.options.save(this.state());
  }

  /** A job's training ended: its results replace its state. */
  async ended(part: ResolvedJob[], results: FitResult[]): Promise<void> {
    if (!this.options) return;
    part.forEach((job, i) => this.completed.set(job.index, results[i]));
    this.inProgress = undefined;
    await this.options.save(this.state());
  }
}

export interface ScheduledChunk {
  part: ResolvedJob[];
  /** The saved state this job continues from. */
  resume?: InProgress;
  /** Which planned split of the group it is (for progress). */
  chunk: number;
}

/**
 * The jobs one group trains, in order: the planned splits of `perJob` fits, less the fits already done; the split
 * that was running when the state was saved continues from it (first, should this device plan other splits).
 */
export function scheduleChunks(members: ResolvedJob[], perJob: number, ledger: FitLedger): ScheduledChunk[] {
  const planned = Array.from({ length: Math.ceil(members.length / perJob) }, (_, chunk) => members.slice(chunk * perJob, (chunk + 1) * perJob));
  const running = ledger.inProgress;
  const byIndex = new Map(members.map((job) => [job.index, job]));
  const owned = running !== undefined && running.indices.every((index) => byIndex.has(index));
  const sameFits = (part: ResolvedJob[]): boolean => owned && part.length === running.indices.length && part.every((job, i) => job.index === running.indices[i]);
  const scheduled: ScheduledChunk[] = [];
  if (owned && !planned.some(sameFits)) scheduled.push({ part: running.indices.map((index) => byIndex.get(index)!), resume: running, chunk: 0 });
  planned.forEach((part, chunk) => {
    if (sameFits(part)) {
      scheduled.push({ part, resume: running, chunk });
      return;
    }
    const pending = part.filter((job) => !ledger.completed.has(job.index) && !(owned && running.indices.includes(job.index)));
    if (pending.length > 0) scheduled.push({ part: pending, chunk });
  });
  return scheduled;
}

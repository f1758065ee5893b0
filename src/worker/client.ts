// The app's side of a fitting Worker: FitWorker sends requests (src/worker/protocol.ts) to a Worker that runs
// serveFits (the shipped dist/browser/poglm-worker.js, or a module of the app's own), and gives back promises with
// the values the library's calls return in the app's own thread: fit, fitMany, inferHiddenArrays and
// syntheticDataset. Progress and per-epoch models arrive as callbacks; an AbortSignal aborts the request in the
// worker; errors are rebuilt with their class and message (src/worker/wire-errors.ts).
//
//   const worker = new FitWorker(new Worker(new URL('poglm-worker.js', import.meta.url), { type: 'module' }));
//   const result = await worker.fit({ train, hidden: 2, scheme: 'FB', method: 'exponential' }, { onEpoch, signal });
import type { SpikeCounts } from '../api/counts.js';
import type { CheckpointOptions, FitCheckpoint, FitEpoch, FitJob, FitProgress, FitResult } from '../api/fit.js';
import type { HiddenPosteriorArrays, InferOptions } from '../api/infer.js';
import type { SyntheticDataset, SyntheticOptions } from '../api/synthetic.js';
import type { PoglmModelJson } from '../model/json.js';
import {
  WORKER_PROTOCOL,
  type FitRequest,
  type MessageEndpoint,
  type RequestValues,
  type WireFitOptions,
  type WorkerDescription,
  type WorkerReply,
  type WorkerRequest,
} from './protocol.js';
import { packCounts, type PackedCounts } from './wire-counts.js';
import { errorFromWire } from './wire-errors.js';

/** What the app's side needs of a worker: a Worker, or a MessagePort whose other end runs serveFits. */
export type WorkerLike = MessageEndpoint & {
  terminate?(): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: Event) => void): void;
};

export interface WorkerFitOptions extends WireFitOptions {
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress) => void;
  /** Each fit's model after each of its epochs (FitEpoch); costs a read of the parameters per epoch in the worker. */
  onEpoch?: (epoch: FitEpoch) => void;
  /** As fitMany's: `save` gets every state, in order, and the call settles after the last save has settled. */
  checkpoint?: CheckpointOptions<FitCheckpoint>;
  /**
   * Counts given as typed arrays are copied to the worker; with `transfer` their buffers are moved instead (faster
   * for large data, and the app's arrays are empty afterwards). Nested arrays are always packed and moved.
   */
  transfer?: boolean;
}

export type WorkerInferOptions = Omit<InferOptions, 'session'> & { transfer?: boolean };

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress) => void;
  onEpoch?: (epoch: FitEpoch) => void;
  save?: (state: FitCheckpoint) => void | Promise<void>;
  /** The saves so far, in order: a fit settles after the last. */
  saving: Promise<void>;
}

/** Jobs' counts packed once per distinct object, so that jobs sharing an array share its upload in the worker too. */
function packJobs(jobs: FitJob[], transfer: boolean): { request: Pick<FitRequest, 'jobs' | 'counts'>; buffers: Transferable[] } {
  const seen = new Map<unknown, number>();
  const counts: PackedCounts[] = [];
  const wireJobs = jobs.map((job, index) => {
    if (typeof job !== 'object' || job === null) return job;
    let position = seen.get(job.train);
    if (position === undefined) {
      position = counts.push(packCounts(jobs.length > 1 ? `jobs[${index}].train` : 'train', job.train, transfer)) - 1;
      seen.set(job.train, position);
    }
    return { ...job, train: position };
  });
  return { request: { jobs: wireJobs as FitRequest['jobs'], counts: counts.map((packed) => packed.wire) }, buffers: [...new Set(counts.flatMap((packed) => packed.transfer))] };
}

export class FitWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Settles when the worker has said which protocol it speaks; requests wait for it. */
  private readonly ready: Promise<void>;
  private announced!: () => void;
  /** Settles when the worker fails or is terminated, so that requests waiting for `ready` stop waiting. */
  private readonly stopped: Promise<void>;
  private stop!: () => void;
  /** Set once the worker failed or was terminated: every request from then on rejects with it. */
  private broken: Error | undefined;

  constructor(private readonly worker: WorkerLike) {
    this.ready = new Promise((resolve) => (this.announced = resolve));
    this.stopped = new Promise((resolve) => (this.stop = resolve));
    worker.addEventListener('message', (event) => this.receive(event.data as WorkerReply));
    worker.addEventListener('error', (event) => this.fail(new Error(`the fitting worker failed: ${(event as ErrorEvent).message ?? 'it could not be loaded or threw'}`)));
    worker.addEventListener('messageerror', () => this.fail(new Error('the fitting worker sent a message that could not be read')));
    worker.start?.();
    // The worker's own 'ready' may have come before this listener: asked again, it answers with another.
    worker.postMessage({ type: 'hello', id: 0 } satisfies WorkerRequest);
  }

  /** One fit, as `fit` runs it: a non-finite stop rejects with NonFiniteError, whose `result` holds the last finite model. */
  async fit(job: FitJob, options: WorkerFitOptions = {}): Promise<FitResult> {
    const [result] = await this.fits([job], true, options);
    return result;
  }

  /** Any number of fits, as `fitMany` runs them (one job per group of fits that share kernels). */
  fitMany(jobs: FitJob[], options: WorkerFitOptions = {}): Promise<FitResult[]> {
    return this.fits(jobs, false, options);
  }

  /** The hidden posterior means (and samples, if asked), as inferHiddenArrays gives them; the arrays are moved here. */
  inferHiddenArrays(model: PoglmModelJson, counts: SpikeCounts, options: WorkerInferOptions = {}): Promise<HiddenPosteriorArrays> {
    const { signal, transfer, ...rest } = options;
    return this.call<HiddenPosteriorArrays>(signal, {}, (id) => {
      const packed = packCounts('data', counts, transfer);
      return [{ type: 'infer', id, model, counts: packed.wire, options: rest }, packed.transfer];
    });
  }

  /** The paper's synthetic dataset of `trial`, simulated on the worker's GPU. */
  syntheticDataset(trial: number, options: SyntheticOptions = {}): Promise<SyntheticDataset> {
    const { signal, ...rest } = options;
    return this.call<SyntheticDataset>(signal, {}, (id) => [{ type: 'synthetic', id, trial, options: rest }, []]);
  }

  /** The worker's GPU adapter (its session opens now, if it is not open) and whether it runs in a Worker's scope. */
  describe(): Promise<WorkerDescription> {
    return this.call<WorkerDescription>(undefined, {}, (id) => [{ type: 'describe', id }, []]);
  }

  /** Stops the worker at once; pending calls reject. */
  terminate(): void {
    this.worker.terminate?.();
    this.fail(new Error('the fitting worker was terminated'));
  }

  private fits(jobs: FitJob[], single: boolean, options: WorkerFitOptions): Promise<FitResult[]> {
    const { signal, onProgress, onEpoch, checkpoint, transfer, ...rest } = options;
    const hooks = { onProgress, onEpoch, save: checkpoint?.save };
    return this.call<FitResult[]>(signal, hooks, (id) => {
      const { request, buffers } = Array.isArray(jobs) ? packJobs(jobs, transfer ?? false) : { request: { jobs, counts: [] }, buffers: [] };
      const message: FitRequest = {
        type: 'fit',
        id,
        single,
        ...(request as Pick<FitRequest, 'jobs' | 'counts'>),
        options: rest,
        events: { progress: Boolean(onProgress), epoch: Boolean(onEpoch) },
        ...(checkpoint ? { checkpoint: { every: checkpoint.every, resume: checkpoint.resume, save: true } } : {}),
      };
      return [message, buffers];
    });
  }

  /** Posts the request `build` makes (once the worker is ready) and settles with its 'done' or 'failed'. */
  private async call<T>(
    signal: AbortSignal | undefined,
    hooks: Pick<Pending, 'onProgress' | 'onEpoch' | 'save'>,
    build: (id: number) => [WorkerRequest, Transferable[]],
  ): Promise<T> {
    // The request is built first, so that counts the worker could never take are refused here, before any wait.
    const id = this.nextId++;
    const [request, transfer] = build(id);
    await Promise.race([this.ready, this.stopped]);
    if (this.broken) throw this.broken;
    const abort = () => this.worker.postMessage({ type: 'abort', id } satisfies WorkerRequest);
    const settled = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, signal, ...hooks, saving: Promise.resolve() });
      // Aborted already: the worker runs the call with an aborted signal, as the app's thread would.
      this.worker.postMessage(signal?.aborted ? { ...request, aborted: true } : request, transfer);
      signal?.addEventListener('abort', abort, { once: true });
    });
    try {
      return await settled;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  private receive(reply: WorkerReply): void {
    if (reply.type === 'ready') {
      if (reply.protocol === WORKER_PROTOCOL) this.announced();
      else this.fail(new Error(`the worker speaks ${reply.protocol}, but this FitWorker speaks ${WORKER_PROTOCOL}: load the worker bundle of the same poglm-gpu version`));
      return;
    }
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    switch (reply.type) {
      case 'progress':
        pending.onProgress?.(reply.progress);
        return;
      case 'epoch':
        pending.onEpoch?.(reply.epoch);
        return;
      case 'checkpoint':
        pending.saving = pending.saving.then(() => pending.save?.(reply.state));
        return;
      case 'done':
        this.pending.delete(reply.id);
        pending.saving.then(() => pending.resolve(reply.value as RequestValues[keyof RequestValues]), pending.reject);
        return;
      case 'failed':
        this.pending.delete(reply.id);
        // An abort rejects with the app's own reason, as the library's calls do with the app's signal.
        pending.saving.then(() => pending.reject(reply.error.aborted && pending.signal?.aborted ? pending.signal.reason : errorFromWire(reply.error)), pending.reject);
        return;
    }
  }

  private fail(error: Error): void {
    this.broken ??= error;
    this.stop();
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

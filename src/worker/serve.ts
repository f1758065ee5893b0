// The worker's side: serveFits listens for requests (src/worker/protocol.ts) and runs them with the library's own
// calls (fit, fitMany, inferHiddenArrays, syntheticDataset) on one GPU session of its own, opened on first use with
// navigator.gpu of the worker. Fits report progress and per-epoch models as messages when the app listens for them;
// each request has an AbortController that an 'abort' message aborts, as the app's AbortSignal would in its own
// thread. Results go back as the calls return them, with the posterior's typed arrays transferred.
import { fit, fitMany, type FitManyOptions, type FitResult } from '../api/fit.js';
import { inferHiddenArrays } from '../api/infer.js';
import { syntheticDataset } from '../api/synthetic.js';
import { GpuSession } from '../engine/session.js';
import { DeviceLostError } from '../gpu/errors.js';
import { WORKER_PROTOCOL, type FitRequest, type MessageEndpoint, type RequestValues, type WorkerReply, type WorkerRequest } from './protocol.js';
import { errorToWire } from './wire-errors.js';

export interface ServeOptions {
  /** The session to run on; default one of the worker's own, opened on the first request (and again after a lost device). */
  session?: GpuSession;
}

/** What serveFits returns: how to stop serving (the worker's own session is then destroyed). */
export interface FitServer {
  close(): void;
}

/** Whether this code runs in a Worker's global scope, not in a page's main thread (or Node's). */
function inWorkerScope(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
  return typeof scope === 'function' && globalThis instanceof scope;
}

type Post = (reply: WorkerReply, transfer?: Transferable[]) => void;

/** A fit request run with fit (one job, fit's errors) or fitMany, its events posted as they come. */
async function runFit(request: FitRequest, session: GpuSession, signal: AbortSignal, post: Post): Promise<FitResult[]> {
  const { id, events, checkpoint } = request;
  // One object per distinct counts of the request: jobs that shared an array in the app share its upload here.
  const jobs = request.jobs.map((job) => ({ ...job, train: request.counts[job.train] }));
  const options: FitManyOptions = {
    ...request.options,
    session,
    signal,
    ...(events.progress ? { onProgress: (progress) => post({ type: 'progress', id, progress }) } : {}),
    ...(events.epoch ? { onEpoch: (epoch) => post({ type: 'epoch', id, epoch }) } : {}),
    ...(checkpoint
      ? { checkpoint: { every: checkpoint.every, resume: checkpoint.resume, save: (state) => (checkpoint.save ? post({ type: 'checkpoint', id, state }) : undefined) } }
      : {}),
  };
  if (!request.single) return fitMany(jobs, options);
  const { train, ...settings } = jobs[0];
  return [await fit(train, settings, options)];
}

/**
 * Serves fits on `scope`: a worker's global scope (the default), or any MessageEndpoint (a MessagePort). Call it at
 * the top level of a module Worker; it announces itself with a 'ready' message that FitWorker waits for.
 */
export function serveFits(scope: MessageEndpoint = globalThis as unknown as MessageEndpoint, options: ServeOptions = {}): FitServer {
  const running = new Map<number, AbortController>();
  let opening: Promise<GpuSession> | undefined = options.session ? Promise.resolve(options.session) : undefined;
  // A session that failed to open is asked for again by the next request (the failure may pass: a busy adapter).
  const session = (): Promise<GpuSession> =>
    (opening ??= GpuSession.open().catch((error: unknown) => {
      opening = undefined;
      throw error;
    }));
  const post: Post = (reply, transfer = []) => scope.postMessage(reply, transfer);

  const run = async (request: Exclude<WorkerRequest, { type: 'abort' | 'hello' }>, signal: AbortSignal): Promise<{ value: RequestValues[keyof RequestValues]; transfer: Transferable[] }> => {
    const gpu = await session();
    switch (request.type) {
      case 'fit':
        return { value: await runFit(request, gpu, signal, post), transfer: [] };
      case 'infer': {
        const value = await inferHiddenArrays(request.model, request.counts, { ...request.options, session: gpu, signal });
        const buffers = [value.means.buffer, value.samples?.buffer].filter((buffer): buffer is ArrayBuffer => buffer instanceof ArrayBuffer);
        return { value, transfer: [...new Set(buffers)] };
      }
      case 'synthetic':
        return { value: await syntheticDataset(request.trial, { ...request.options, signal }, gpu), transfer: [] };
      case 'describe':
        return { value: { adapter: gpu.adapter, inWorker: inWorkerScope() }, transfer: [] };
    }
  };

  const announce = (): void => post({ type: 'ready', protocol: WORKER_PROTOCOL });

  const handle = async (request: WorkerRequest): Promise<void> => {
    if (request.type === 'abort') {
      running.get(request.id)?.abort();
      return;
    }
    if (request.type === 'hello') return announce();
    // Registered before anything is awaited, so that an abort posted right after the request finds it.
    const controller = new AbortController();
    if (request.aborted) controller.abort();
    running.set(request.id, controller);
    try {
      const { value, transfer } = await run(request, controller.signal);
      post({ type: 'done', id: request.id, value }, transfer);
    } catch (error) {
      // A lost device cannot be used again: the next request opens a new session (unless the app gave this one).
      if (error instanceof DeviceLostError && !options.session) opening = undefined;
      post({ type: 'failed', id: request.id, error: errorToWire(error, controller.signal.aborted && error === controller.signal.reason) });
    } finally {
      running.delete(request.id);
    }
  };

  const listener = (event: MessageEvent): void => {
    const request = event.data as WorkerRequest | undefined;
    // Messages that are not requests (another library's, in a shared worker) are not ours to answer.
    if (typeof request !== 'object' || request === null || typeof request.id !== 'number') return;
    void handle(request);
  };
  scope.addEventListener('message', listener);
  scope.start?.();
  announce();
  return {
    close: () => {
      scope.removeEventListener('message', listener);
      for (const controller of running.values()) controller.abort();
      if (!options.session) void opening?.then((gpu) => gpu.destroy(), () => undefined);
    },
  };
}

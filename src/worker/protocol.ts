// The messages between an app's thread (FitWorker, src/worker/client.ts) and a Worker that fits on its own GPU
// session (serveFits, src/worker/serve.ts). Everything in them is structured-clone data: settings and models as
// plain JSON, counts as nested arrays or one typed array with its shape (whose buffer is transferred, not copied),
// results as the API returns them. Each request carries an id; every reply to it carries the same id, and a request
// ends with exactly one 'done' or 'failed'.
import type { CountArray } from '../api/counts.js';
import type { DataPlacement } from '../engine/dataset.js';
import type { FitCheckpoint, FitEpoch, FitJob, FitProgress, FitResult } from '../api/fit.js';
import type { HiddenPosteriorArrays } from '../api/infer.js';
import type { SyntheticDataset, SyntheticOptions } from '../api/synthetic.js';
import type { PoglmModelJson } from '../model/json.js';

/** Names this version of the messages; serveFits announces it, and FitWorker refuses a worker that speaks another. */
export const WORKER_PROTOCOL = 'poglm-gpu.worker/1';

/** Counts as they cross: nested arrays (as given, when they are not plain counts) or a typed array with its shape. */
export type WireCounts = number[][][] | CountArray;

/** A fit job whose training counts are `counts[train]` of its request, so that jobs sharing an array share its upload. */
export interface WireFitJob extends Omit<FitJob, 'train'> {
  train: number;
}

/** The options of fit and fitMany that are data; the callbacks and the signal stay on the app's side. */
export interface WireFitOptions {
  maxJobBytes?: number;
  dataPlacement?: DataPlacement;
  stepsPerSubmit?: number;
}

/** What every request but 'abort' has: its id, and whether the app's signal was aborted before it was posted. */
interface RequestBase {
  id: number;
  /** The worker's signal for it starts aborted, so the call behaves as with an aborted signal in the app's thread. */
  aborted?: boolean;
}

export interface FitRequest extends RequestBase {
  type: 'fit';
  /** fit's semantics (one job; a non-finite stop is an error) rather than fitMany's. */
  single: boolean;
  jobs: WireFitJob[];
  counts: WireCounts[];
  options: WireFitOptions;
  /** Which events the app listens to: per-epoch models cost a read of the parameters each epoch. */
  events: { progress: boolean; epoch: boolean };
  /** Checkpointing: `every`, the state to resume from, and whether to send the states as they are saved. */
  checkpoint?: { every?: number; resume?: FitCheckpoint; save: boolean };
}

export interface InferRequest extends RequestBase {
  type: 'infer';
  model: PoglmModelJson;
  counts: WireCounts;
  options: { samples?: number; keepSamples?: number; seed?: number; maxJobBytes?: number };
}

export interface SyntheticRequest extends RequestBase {
  type: 'synthetic';
  trial: number;
  options: Omit<SyntheticOptions, 'signal'>;
}

/** Opens the worker's GPU session (if it is not open) and says where it runs. */
export interface DescribeRequest extends RequestBase {
  type: 'describe';
}

/**
 * Asks for a 'ready' again: a Worker's first 'ready' is lost when its FitWorker starts listening after it came (an
 * app that creates the Worker, awaits something, then wraps it), and a request posted before serveFits listens is
 * lost too; whichever of the two announcements arrives lets the app's side go on.
 */
export interface HelloRequest {
  type: 'hello';
  id: 0;
}

/** Stops request `id` as an AbortSignal would: a fit ends with what it learned, the others fail as aborted. */
export interface AbortRequest {
  type: 'abort';
  id: number;
}

export type WorkerRequest = FitRequest | InferRequest | SyntheticRequest | DescribeRequest | HelloRequest | AbortRequest;

/** Where the worker runs: its GPU adapter, and whether it is a Worker's global scope (not a page's main thread). */
export interface WorkerDescription {
  adapter: string;
  inWorker: boolean;
}

/** An error as it crosses: enough to rebuild one of the same class, message and stack (src/worker/errors.ts). */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** The error was the request's abort: the app rejects with its own signal's reason. */
  aborted?: boolean;
  /** A NonFiniteError's fit, with its last finite model. */
  result?: FitResult;
}

/** What each request's 'done' carries. */
export interface RequestValues {
  fit: FitResult[];
  infer: HiddenPosteriorArrays;
  synthetic: SyntheticDataset;
  describe: WorkerDescription;
}

export type WorkerReply =
  | { type: 'ready'; protocol: string }
  | { type: 'progress'; id: number; progress: FitProgress }
  | { type: 'epoch'; id: number; epoch: FitEpoch }
  | { type: 'checkpoint'; id: number; state: FitCheckpoint }
  | { type: 'done'; id: number; value: RequestValues[keyof RequestValues] }
  | { type: 'failed'; id: number; error: WireError };

/** What both ends post through and listen on: a Worker, a worker's global scope, or a MessagePort. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  /** A MessagePort delivers nothing until started; Workers and worker scopes have no such method. */
  start?(): void;
}

// Checkpoints: the state a training job stops in, so that a later run continues it bit for bit, and the pieces the
// API's checkpoints share: a lossless text form of f32 arrays, of any number, hashes of data, and the comparison that
// refuses to resume a run with settings or data other than those it was saved with. Pure data: the engine fills a
// training state from the GPU and writes it back; the caller (the CLI, a browser page) decides where it is kept.
import { describeValue } from './data.js';

/**
 * One training job's state between two steps (src/engine/training.ts trainGroup writes and reads it). Everything
 * the GPU carries from step to step is here: parameters and Adam moments exactly as the GPU holds them (f32 bits),
 * each model's failure step and the step counter (which keys the noise and Adam's bias correction), and the host's
 * share (ELBO histories, the epoch, and where a stop fell inside an epoch the per-step ELBOs its mean still needs).
 */
export interface TrainingCheckpoint {
  format: 'poglm-gpu.training-state';
  version: 1;
  /** What the job is: a resume with another spec is refused (checkFingerprint). */
  fingerprint: TrainingFingerprint;
  /** Epochs whose every step has run. */
  epochsCompleted: number;
  /** Steps already run of the next epoch: 0 when the state is at an epoch boundary. */
  stepsIntoEpoch: number;
  /** The step counter: steps run in all, epochsCompleted * stepsPerEpoch + stepsIntoEpoch. */
  step: number;
  /** Nothing is left to run: every epoch ran, or every member failed. */
  finished: boolean;
  /** The unfinished epoch's per-step ELBOs so far, f32 [stepInEpoch][member] (encodeFloat32; empty at a boundary). */
  epochElbos: string;
  members: TrainingMemberState[];
}

export interface TrainingMemberState {
  /** The f32 parameters as the GPU holds them (encodeFloat32). */
  params: string;
  /** Adam's first and second moments (encodeFloat32). */
  firstMoment: string;
  secondMoment: string;
  /** Mean ELBO of each completed epoch (f64, finite: an epoch with a non-finite ELBO marks the member failed). */
  elboHistory: number[];
  /** The first non-finite step, when the member has failed: it stays frozen at the parameters before it. */
  failedAtStep?: number;
}

/** What a training job computes: every setting that changes its numbers. */
export interface TrainingFingerprint {
  visible: number;
  hidden: number;
  scheme: string;
  method: string;
  tau: number;
  categories: number;
  basis: number[];
  batchSize: number;
  samples: number;
  epochs: number;
  stepsPerEpoch: number;
  /** Sequences per chunk of a minibatch: the chunks' gradients are summed in this grouping. */
  chunkSlots: number;
  /** 'auto', 'staged' or 'fused': the fused and staged paths round differently. */
  path: string;
  adam: { learningRateGenerative: number; learningRateVariational: number; beta1: number; beta2: number; epsilon: number };
  members: { seed: number; firstRow: number; sequences: number }[];
}

export const TRAINING_STATE_FORMAT = 'poglm-gpu.training-state';

// f32 arrays travel as base64 of their little-endian bytes, not as JSON numbers: JSON has no -0, NaN or Infinity,
// and a moment or a parameter can be -0 (a zero gradient negated). The bytes are taken as u32 words, never read as
// floats, so no value is canonicalised on the way; and the text is a third the size of printed numbers.
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Map([...BASE64].map((char, value) => [char, value]));

function bytesOf(values: Float32Array): Uint8Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => view.setUint32(i * 4, word, true));
  return bytes;
}

/** Base64 of the f32 values' little-endian bytes: exact for every bit pattern. */
export function encodeFloat32(values: Float32Array): string {
  const bytes = bytesOf(values);
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const triple = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 4) / 3));
    for (let k = 0; k < 4; k++) parts.push(k < chars ? BASE64[(triple >> (18 - 6 * k)) & 63] : '=');
  }
  return parts.join('');
}

/** The f32 values encodeFloat32 wrote; `name` and `length` make a damaged or mismatched state a clear error. */
export function decodeFloat32(text: unknown, name: string, length?: number): Float32Array {
  if (typeof text !== 'string' || text.length % 4 !== 0) throw new Error(`${name} must be base64 text of f32 values (a multiple of 4 characters)`);
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const byteCount = (text.length / 4) * 3 - padding;
  if (byteCount % 4 !== 0) throw new Error(`${name} holds ${byteCount} bytes, not whole f32 values`);
  const bytes = new Uint8Array(byteCount + 2);
  for (let i = 0, at = 0; i < text.length; i += 4, at += 3) {
    let triple = 0;
    for (let k = 0; k < 4; k++) {
      const char = text[i + k];
      const value = char === '=' && i + k >= text.length - padding ? 0 : BASE64_VALUE.get(char);
      if (value === undefined) throw new Error(`${name} is not base64: character ${JSON.stringify(char)} at ${i + k}`);
      triple = (triple << 6) | value;
    }
    bytes[at] = (triple >> 16) & 255;
    bytes[at + 1] = (triple >> 8) & 255;
    bytes[at + 2] = triple & 255;
  }
  const view = new DataView(bytes.buffer);
  const words = new Uint32Array(byteCount / 4);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(i * 4, true);
  const values = new Float32Array(words.buffer);
  if (length !== undefined && values.length !== length) throw new Error(`${name} holds ${values.length} values, expected ${length}`);
  return values;
}

/** A number JSON keeps exactly: finite numbers as they are, and the rest (and -0) as their names. */
export type EncodedNumber = number | 'NaN' | 'Infinity' | '-Infinity' | '-0';

export function encodeNumber(value: number): EncodedNumber {
  if (Object.is(value, -0)) return '-0';
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

export function decodeNumber(value: unknown, name: string): number {
  if (typeof value === 'number') return value;
  const named: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY, '-0': -0 };
  if (typeof value === 'string' && value in named) return named[value];
  throw new Error(`${name} must be a number, got ${describeValue(value)}`);
}

/**
 * A 64-bit hash (two 32-bit multiply-xor lanes, cyrb53's mixing) of numbers, for telling whether data changed
 * between a checkpoint and its resume: not cryptographic, only very unlikely to collide by accident.
 */
class Hash64 {
  private h1 = 0xdeadbeef;
  private h2 = 0x41c6ce57;
  private readonly scratch = new Float64Array(1);
  private readonly words = new Uint32Array(this.scratch.buffer);

  word(value: number): void {
    this.h1 = Math.imul(this.h1 ^ value, 2654435761);
    this.h2 = Math.imul(this.h2 ^ value, 1597334677);
  }

  /** Any number, by its f64 bits (counts are small integers: one word). */
  number(value: number): void {
    if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) {
      this.word(value);
      return;
    }
    this.scratch[0] = value;
    this.word(this.words[0]);
    this.word(this.words[1] ^ 0x80000000);
  }

  hex(): string {
    const h1 = Math.imul(this.h1 ^ (this.h1 >>> 16), 2246822507) ^ Math.imul(this.h2 ^ (this.h2 >>> 13), 3266489909);
    const h2 = Math.imul(this.h2 ^ (this.h2 >>> 16), 2246822507) ^ Math.imul(this.h1 ^ (this.h1 >>> 13), 3266489909);
    return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
  }
}

/** Hash of spike counts x[s][t][n], shape included (the same values cut differently hash differently). */
export function hashCounts(data: number[][][]): string {
  const hash = new Hash64();
  hash.number(data.length);
  for (const sequence of data) {
    hash.number(sequence.length);
    for (const bin of sequence) {
      hash.number(bin.length);
      for (const count of bin) hash.number(count);
    }
  }
  return hash.hex();
}

/** Hash of any JSON value (a start model, ground truth), by its JSON text. */
export function hashJson(value: unknown): string {
  const hash = new Hash64();
  const text = JSON.stringify(value) ?? 'undefined';
  for (let i = 0; i < text.length; i++) hash.word(text.charCodeAt(i));
  hash.number(text.length);
  return hash.hex();
}

/** Raised when a checkpoint is resumed with other settings or data; `differences` names each field that differs. */
export class CheckpointMismatchError extends Error {
  constructor(
    what: string,
    readonly differences: string[],
  ) {
    const shown = differences.slice(0, 6).join('; ') + (differences.length > 6 ? `; and ${differences.length - 6} more` : '');
    super(`cannot resume ${what}: the checkpoint was saved with other settings or data (${shown}); resume with those it was saved with, or start afresh without the checkpoint`);
    this.name = 'CheckpointMismatchError';
  }
}

/** A setting as it reads (a basis, a seed), cut short; a damaged file's deep or odd value by its kind. */
const show = (value: unknown): string => {
  let text: string;
  try {
    text = JSON.stringify(value) ?? 'nothing';
  } catch {
    return describeValue(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Each path where `current` differs from `saved`, as "path is X here but Y in the checkpoint". */
export function fingerprintDifferences(saved: unknown, current: unknown, path: string, found: string[] = []): string[] {
  if (JSON.stringify(saved) === JSON.stringify(current)) return found;
  if (isRecord(saved) && isRecord(current)) {
    for (const key of new Set([...Object.keys(current), ...Object.keys(saved)])) fingerprintDifferences(saved[key], current[key], `${path}.${key}`, found);
  } else if (Array.isArray(saved) && Array.isArray(current) && saved.length === current.length && current.some((item) => typeof item === 'object')) {
    current.forEach((item, i) => fingerprintDifferences(saved[i], item, `${path}[${i}]`, found));
  } else {
    found.push(`${path} is ${show(current)} here but ${show(saved)} in the checkpoint`);
  }
  return found;
}

/** Refuses a checkpoint whose fingerprint differs from the run's, naming what differs. */
export function checkFingerprint(what: string, saved: unknown, current: unknown, path: string): void {
  const differences = fingerprintDifferences(saved, current, path);
  if (differences.length > 0) throw new CheckpointMismatchError(what, differences);
}

/** Refuses what is not a checkpoint of the expected kind (another file, a newer version). */
export function checkFormat(state: unknown, format: string, what: string): asserts state is Record<string, unknown> {
  if (!isRecord(state)) throw new Error(`${what} must be an object (a checkpoint as saved), got ${show(state)}`);
  if (state.format !== format) throw new Error(`${what}.format is ${show(state.format)}, expected "${format}": this is not that kind of checkpoint`);
  if (state.version !== 1) throw new Error(`${what}.version is ${show(state.version)}; this library reads version 1`);
}

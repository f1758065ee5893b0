// The fitted-model JSON (README.md, File formats): basis, generative.{weight,bias}, variational.{scheme,forwardWeight,
// backwardWeight?,bias}, visible, hidden, method and the training settings. Reading checks every field and names the
// one that is wrong. (The CLI writes it through a temporary file and a rename: cli/io.ts.)
import { flattenParams, paramLayout, unflattenParams, type ParamLayout } from './params.js';
import {
  isMethod,
  isScheme,
  METHODS,
  resolveMethod,
  SCHEMES,
  type GenerativeParams,
  type Method,
  type ResolvedMethod,
  type VariationalParams,
} from './types.js';

export interface TrainingRecord {
  epochs: number;
  epochsCompleted: number;
  steps: number;
  batchSize: number;
  samples: number;
  learningRateGenerative: number;
  learningRateVariational: number;
  seed: number;
  /** Mean training ELBO of each completed epoch. */
  elboHistory: number[];
  /** Set when the fit stopped early: "interrupted" by the user, or "non-finite" at a named step. */
  stoppedEarly?: { reason: 'interrupted' | 'non-finite'; step?: number; message: string };
  adapter?: string;
  [extra: string]: unknown;
}

export interface PoglmModelJson {
  format: 'poglm-gpu.model';
  version: 1;
  visible: number;
  hidden: number;
  method: Method;
  tau?: number;
  categories?: number;
  basis: number[];
  generative: GenerativeParams;
  variational?: VariationalParams;
  training?: TrainingRecord;
}

export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

function positiveInteger(value: unknown, field: string, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new ModelFormatError(`${field} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Validates a parsed model JSON; `source` names the file in messages. Only generative parts are required. */
export function parseModel(json: unknown, source = 'model'): PoglmModelJson {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFormatError(`${source}: a model must be a JSON object`);
  const raw = json as Record<string, unknown>;
  if (raw.format !== undefined && raw.format !== 'poglm-gpu.model') {
    throw new ModelFormatError(`${source}.format is ${JSON.stringify(raw.format)}: this is not a model JSON (a \`poglm synth\` dataset goes to --train/--test)`);
  }
  if (raw.version !== undefined && raw.version !== 1) throw new ModelFormatError(`${source}.version is ${JSON.stringify(raw.version)}; this library reads version 1`);
  for (const field of ['tau', 'categories'] as const) {
    if (raw[field] !== undefined && typeof raw[field] !== 'number') throw new ModelFormatError(`${source}.${field} must be a number, got ${JSON.stringify(raw[field])}`);
  }
  const visible = positiveInteger(raw.visible, `${source}.visible`);
  const hidden = positiveInteger(raw.hidden, `${source}.hidden`, true);
  const method = raw.method ?? 'poisson';
  if (typeof method !== 'string' || !isMethod(method)) {
    throw new ModelFormatError(`${source}.method is ${JSON.stringify(method)}; use one of ${METHODS.join(', ')}`);
  }
  if (!Array.isArray(raw.basis) || raw.basis.length === 0 || raw.basis.some((value) => typeof value !== 'number' || !Number.isFinite(value))) {
    throw new ModelFormatError(`${source}.basis must be a non-empty array of finite numbers (psi[0..L-1])`);
  }
  const generative = raw.generative as GenerativeParams | undefined;
  if (typeof generative !== 'object' || generative === null) throw new ModelFormatError(`${source}.generative is missing`);
  let variational = raw.variational as VariationalParams | undefined;
  if (variational !== undefined) {
    if (typeof variational !== 'object' || variational === null) throw new ModelFormatError(`${source}.variational must be an object`);
    if (!isScheme(String(variational.scheme))) {
      throw new ModelFormatError(`${source}.variational.scheme is ${JSON.stringify(variational.scheme)}; use one of ${SCHEMES.join(', ')}`);
    }
  }
  const scheme = variational?.scheme ?? 'F';
  const layout = paramLayout(visible, hidden, scheme);
  try {
    flattenParams(layout, generative, variational);
  } catch (error) {
    throw new ModelFormatError(`${source}.${(error as Error).message}`);
  }
  if (hidden === 0) variational = undefined;
  const model: PoglmModelJson = {
    format: 'poglm-gpu.model',
    version: 1,
    visible,
    hidden,
    method,
    basis: raw.basis as number[],
    generative,
  };
  if (typeof raw.tau === 'number') model.tau = raw.tau;
  if (typeof raw.categories === 'number') model.categories = raw.categories;
  if (variational) model.variational = variational;
  if (raw.training && typeof raw.training === 'object') model.training = raw.training as TrainingRecord;
  try {
    resolveMethod({ method, tau: model.tau, categories: model.categories });
  } catch (error) {
    throw new ModelFormatError(`${source}: ${(error as Error).message}`);
  }
  return model;
}

export interface FlatModel {
  layout: ParamLayout;
  params: Float64Array;
  method: ResolvedMethod;
  basis: number[];
}

/** The flat form the engine runs. A model without a variational part gets zeros (scheme F). */
export function flattenModel(model: PoglmModelJson): FlatModel {
  const scheme = model.variational?.scheme ?? 'F';
  const layout = paramLayout(model.visible, model.hidden, scheme);
  return {
    layout,
    params: flattenParams(layout, model.generative, model.variational),
    method: resolveMethod({ method: model.method, tau: model.tau, categories: model.categories }),
    basis: model.basis,
  };
}

export function buildModel(flat: FlatModel, training?: TrainingRecord): PoglmModelJson {
  const { generative, variational } = unflattenParams(flat.layout, flat.params);
  const model: PoglmModelJson = {
    format: 'poglm-gpu.model',
    version: 1,
    visible: flat.layout.visible,
    hidden: flat.layout.hidden,
    method: flat.method.method,
    basis: [...flat.basis],
    generative,
  };
  if (flat.method.info.gumbelSoftmax) model.tau = flat.method.tau;
  if (flat.method.info.gumbelSoftmax || flat.method.method === 'categorical') model.categories = flat.method.categories;
  if (flat.layout.hidden > 0) model.variational = variational;
  if (training) model.training = training;
  return model;
}

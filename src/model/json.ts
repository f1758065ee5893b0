// The fitted-model JSON (README.md, File formats): basis, generative.{weight,bias}, variational.{scheme,forwardWeight,
// backwardWeight?,bias}, visible, hidden, method and the training settings. Reading checks every field and names the
// one that is wrong, without recursing over the input or printing whole values. (The CLI writes it through a temporary
// file and a rename: cli/files.ts.)
import type { ConvergenceCheck, ValidationRecord } from './convergence.js';
import { describeValue, finiteMatrixProblem, finiteVectorProblem, type MatrixProblem } from './data.js';
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
  /** The trend of the training ELBO at the end (src/model/convergence.ts): still rising means not converged. */
  convergence?: ConvergenceCheck;
  /** With epochs 'auto': the held-out ELBO per epoch and why training stopped (src/api/validation.ts). */
  validation?: ValidationRecord;
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
    const missing = value === undefined ? ' (the field is missing)' : '';
    throw new ModelFormatError(`${field} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${describeValue(value)}${missing}`);
  }
  return value;
}

/** Why a model with NaN or Infinity parameters is refused: JSON writes them as null, and nothing can run it. */
const NON_FINITE =
  'the model has non-finite parameters and cannot be evaluated, simulated or trained from; ' +
  'refit it, or use the last finite parameters a fit writes when it stops early';

function checkParameters(source: string, problem: MatrixProblem | undefined): void {
  if (problem) throw new ModelFormatError(`${source}.${problem.message}${problem.nonFinite ? `: ${NON_FINITE}` : ''}`);
}

function checkHeader(source: string, raw: Record<string, unknown>): void {
  if (raw.format === 'poglm-gpu.synthetic') {
    throw new ModelFormatError(`${source} is a \`poglm synth\` dataset, not a model JSON: give it to --train/--test (or --truth)`);
  }
  if (raw.format !== undefined && raw.format !== 'poglm-gpu.model') {
    throw new ModelFormatError(`${source}.format is ${describeValue(raw.format)}: this is not a model JSON (a model has "format": "poglm-gpu.model")`);
  }
  if (raw.version !== undefined && raw.version !== 1) {
    throw new ModelFormatError(`${source}.version is ${describeValue(raw.version)}; this library reads version 1`);
  }
}

function checkMethod(source: string, raw: Record<string, unknown>): Method {
  for (const field of ['tau', 'categories'] as const) {
    const value = raw[field];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new ModelFormatError(`${source}.${field} must be a finite number, got ${describeValue(value)}`);
    }
  }
  const method = raw.method ?? 'poisson';
  if (typeof method !== 'string' || !isMethod(method)) {
    throw new ModelFormatError(`${source}.method is ${describeValue(method)}; use one of ${METHODS.join(', ')}`);
  }
  try {
    resolveMethod({ method, tau: raw.tau as number | undefined, categories: raw.categories as number | undefined });
  } catch (error) {
    throw new ModelFormatError(`${source}: ${(error as Error).message}`);
  }
  return method;
}

function checkBasis(source: string, basis: unknown): number[] {
  if (!Array.isArray(basis) || basis.length === 0) {
    throw new ModelFormatError(`${source}.basis must be a non-empty array of finite numbers (psi[0..L-1]), but it is ${describeValue(basis)}`);
  }
  checkParameters(source, finiteVectorProblem('basis', basis, basis.length));
  return basis as number[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkGenerative(source: string, generative: unknown, neurons: number): GenerativeParams {
  if (!isObject(generative)) throw new ModelFormatError(`${source}.generative must be an object {"weight", "bias"}, but it is ${describeValue(generative)}`);
  checkParameters(source, finiteMatrixProblem('generative.weight', generative.weight, neurons, neurons));
  checkParameters(source, finiteVectorProblem('generative.bias', generative.bias, neurons));
  return generative as unknown as GenerativeParams;
}

function checkVariational(source: string, variational: unknown, visible: number, hidden: number): VariationalParams {
  if (!isObject(variational)) throw new ModelFormatError(`${source}.variational must be an object, but it is ${describeValue(variational)}`);
  const scheme = variational.scheme;
  if (typeof scheme !== 'string' || !isScheme(scheme)) {
    throw new ModelFormatError(`${source}.variational.scheme is ${describeValue(scheme)}; use one of ${SCHEMES.join(', ')}`);
  }
  const layout = paramLayout(visible, hidden, scheme);
  checkParameters(source, finiteMatrixProblem('variational.forwardWeight', variational.forwardWeight, hidden, layout.forwardColumns));
  if (scheme === 'FB') {
    checkParameters(source, finiteMatrixProblem('variational.backwardWeight', variational.backwardWeight, hidden, visible));
  } else if (variational.backwardWeight !== undefined) {
    throw new ModelFormatError(`${source}.variational.backwardWeight is given but scheme ${scheme} has none (only FB does): remove it, or set the scheme to FB`);
  }
  checkParameters(source, finiteVectorProblem('variational.bias', variational.bias, hidden));
  return variational as unknown as VariationalParams;
}

const TRAINING_INTEGERS = ['epochs', 'epochsCompleted', 'steps', 'batchSize', 'samples', 'seed'] as const;

/** The training record is informational, but what it holds must be what fit writes, so that reports can read it. */
function checkTraining(source: string, training: unknown): TrainingRecord {
  if (!isObject(training)) throw new ModelFormatError(`${source}.training must be an object, but it is ${describeValue(training)}`);
  for (const field of TRAINING_INTEGERS) {
    if (training[field] !== undefined) positiveInteger(training[field], `${source}.training.${field}`, true);
  }
  for (const field of ['learningRateGenerative', 'learningRateVariational'] as const) {
    const value = training[field];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new ModelFormatError(`${source}.training.${field} must be a finite number, got ${describeValue(value)}`);
    }
  }
  const history = training.elboHistory;
  if (history !== undefined) {
    // A non-finite epoch mean is written as null: allowed here, since it records what happened.
    if (!Array.isArray(history)) throw new ModelFormatError(`${source}.training.elboHistory must be an array of numbers, but it is ${describeValue(history)}`);
    for (let i = 0; i < history.length; i++) {
      if (history[i] !== null && typeof history[i] !== 'number') {
        throw new ModelFormatError(`${source}.training.elboHistory[${i}] is ${describeValue(history[i])}: it must be a number`);
      }
    }
  }
  const stopped = training.stoppedEarly;
  if (stopped !== undefined && !(isObject(stopped) && (stopped.reason === 'interrupted' || stopped.reason === 'non-finite'))) {
    throw new ModelFormatError(`${source}.training.stoppedEarly must be {"reason": "interrupted" | "non-finite", ...}, but it is ${describeValue(stopped)}`);
  }
  return training as TrainingRecord;
}

/**
 * Validates a parsed model JSON; `source` names the file in messages. Only generative parts are required. Every
 * field is checked for its type, its shape against visible, hidden and the scheme, and finite values; fields this
 * version does not know are ignored.
 */
export function parseModel(json: unknown, source = 'model'): PoglmModelJson {
  if (!isObject(json)) throw new ModelFormatError(`${source}: a model must be a JSON object, but it is ${describeValue(json)}`);
  checkHeader(source, json);
  const visible = positiveInteger(json.visible, `${source}.visible`);
  const hidden = positiveInteger(json.hidden, `${source}.hidden`, true);
  const method = checkMethod(source, json);
  const basis = checkBasis(source, json.basis);
  const generative = checkGenerative(source, json.generative, visible + hidden);
  // A model without hidden neurons has no q: whatever variational part it carries is checked, then dropped.
  const variational = json.variational === undefined ? undefined : checkVariational(source, json.variational, visible, hidden);
  const model: PoglmModelJson = { format: 'poglm-gpu.model', version: 1, visible, hidden, method, basis, generative };
  if (typeof json.tau === 'number') model.tau = json.tau;
  if (typeof json.categories === 'number') model.categories = json.categories;
  if (variational && hidden > 0) model.variational = variational;
  if (json.training !== undefined) model.training = checkTraining(source, json.training);
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

// The vocabulary shared by the GPU engine, the float64 reference, the CLI and the JSON formats (the model and its
// notation: docs/gradients.md; the formats: README.md). Matrices are row-major nested arrays at the API surface.

export const SCHEMES = ['F', 'FS', 'FB'] as const;
export type Scheme = (typeof SCHEMES)[number];

export const METHODS = [
  'poisson',
  'categorical',
  'gs-score',
  'gs-pathwise',
  'exponential',
  'rayleigh',
  'half-normal',
] as const;
export type Method = (typeof METHODS)[number];

export type Estimator = 'score' | 'pathwise';

export interface MethodInfo {
  /** Shader constant (the `method` override). */
  id: number;
  estimator: Estimator;
  /** Values stored per hidden unit and bin: 1 (the count z), or K (ln y on the simplex) for Gumbel-Softmax. */
  gumbelSoftmax: boolean;
  /** What the base noise of one hidden unit and bin is. */
  noise: 'uniform' | 'normal' | 'gumbel';
  /** Default temperature (Gumbel-Softmax only). */
  tau?: number;
}

export const METHOD_INFO: Record<Method, MethodInfo> = {
  poisson: { id: 0, estimator: 'score', gumbelSoftmax: false, noise: 'uniform' },
  categorical: { id: 1, estimator: 'score', gumbelSoftmax: false, noise: 'uniform' },
  'gs-score': { id: 2, estimator: 'score', gumbelSoftmax: true, noise: 'gumbel', tau: 1.0 },
  'gs-pathwise': { id: 3, estimator: 'pathwise', gumbelSoftmax: true, noise: 'gumbel', tau: 0.5 },
  exponential: { id: 4, estimator: 'pathwise', gumbelSoftmax: false, noise: 'uniform' },
  rayleigh: { id: 5, estimator: 'pathwise', gumbelSoftmax: false, noise: 'uniform' },
  'half-normal': { id: 6, estimator: 'pathwise', gumbelSoftmax: false, noise: 'normal' },
};

export const SCHEME_ID: Record<Scheme, number> = { F: 0, FS: 1, FB: 2 };

/** Categories of the truncated Poisson (categorical and Gumbel-Softmax methods). */
export const DEFAULT_CATEGORIES = 5;
/** Largest K the shaders' fixed-size arrays hold. */
export const MAX_CATEGORIES = 8;
export const EPS = 1e-8;

/** How a distribution is configured beyond its name. */
export interface MethodOptions {
  method: Method;
  /** Gumbel-Softmax temperature; defaults per method. */
  tau?: number;
  /** Categories K of the truncated Poisson; default 5. */
  categories?: number;
}

export interface ResolvedMethod {
  method: Method;
  info: MethodInfo;
  tau: number;
  categories: number;
  /** Values per hidden unit and bin in a sample: 1 or K. */
  sampleWidth: number;
  /** Noise values per hidden unit and bin: 1, or K Gumbels. */
  noiseWidth: number;
}

export function isMethod(name: string): name is Method {
  return (METHODS as readonly string[]).includes(name);
}

export function isScheme(name: string): name is Scheme {
  return (SCHEMES as readonly string[]).includes(name);
}

export function resolveMethod(options: MethodOptions | Method): ResolvedMethod {
  const spec = typeof options === 'string' ? { method: options } : options;
  if (!isMethod(spec.method)) {
    throw new Error(`method "${String(spec.method)}" is unknown; use one of ${METHODS.join(', ')}`);
  }
  const info = METHOD_INFO[spec.method];
  const categories = spec.categories ?? DEFAULT_CATEGORIES;
  if (!Number.isInteger(categories) || categories < 2 || categories > MAX_CATEGORIES) {
    throw new Error(`categories ${categories} must be an integer from 2 to ${MAX_CATEGORIES}`);
  }
  const tau = spec.tau ?? info.tau ?? 1;
  if (!(tau > 0) || !Number.isFinite(tau)) throw new Error(`tau ${tau} must be a positive number`);
  return {
    method: spec.method,
    info,
    tau,
    categories,
    sampleWidth: info.gumbelSoftmax ? categories : 1,
    noiseWidth: info.gumbelSoftmax ? categories : 1,
  };
}

/** The generative model p(X, Z; W, b). */
export interface GenerativeParams {
  /** N x N, row = receiving neuron, column = sending neuron; visible neurons first. */
  weight: number[][];
  bias: number[];
}

/** The variational model q(Z | X; phi). */
export interface VariationalParams {
  scheme: Scheme;
  /** H x V (F, FB) or H x N (FS). */
  forwardWeight: number[][];
  /** H x V, FB only. */
  backwardWeight?: number[][];
  bias: number[];
}

/** Sizes every kernel of a job shares. */
export interface ModelShape {
  visible: number;
  hidden: number;
  /** psi[0..L-1]: psi[l-1] weighs lag l. */
  basis: number[];
}

/** A spike-count sequence: x[t][neuron]. */
export type Sequence = number[][];

// Analytic operation counts of one fused WGSL training step (mode 'train', exponential method), stage by stage, so
// that a measured step or stage time turns into achieved GFLOP/s, and so that a stage's time can be set against the
// operations that actually cost on a CPU Vulkan driver (divergent memory accesses, transcendentals, Philox).
//
// The counts follow the stage kernels as they are now (the shaders of FLOP_MODEL_COMMIT, whose hash is
// FLOP_MODEL_SHADER_HASH): they count the arithmetic the kernels perform, not an idealised minimum. When a kernel is
// restructured the model must be re-derived; bench/run.ts compares the hash with the shaders it runs and says so in
// its notes when they differ. (Until commit 278e58f the model was frozen to the 8f8f606 kernels, which recomputed
// sum_l psi sum_n delta[t+l][n] W[n][V+h] per hidden unit and lag in the backward pass: L*N*H multiply-adds per bin
// that the present kernels replace by N*H in ln p and L*H in backward. Counting that work inflated GFLOP/s.)
//
// Flop rules (docs/benchmarks.md repeats them):
// - a multiply-add `s += a * b` (or fma) = 2 flops; any other f32 arithmetic op (+, -, *, unary minus, abs, max) = 1;
// - each transcendental or division (exp, log, sqrt, pow, /) = 1;
// - not counted: integer and index arithmetic, comparisons and selects of control flow, loads and stores,
//   u32 -> f32 conversions, bitcasts, and the Philox generator (10 rounds of 32-bit integer multiplies and xors);
//   the uniform-from-bits step after Philox, (f32(bits >> 9) + 0.5) * 2^-23, counts 2;
// - operations are counted as written in the source, both arms of a `select` included (sigmoid = 7: abs, neg, exp,
//   two `1 + e`, two divisions);
// - padding is not work: loops over the 8-slot `Categories` array count the slots the method uses (1 for the
//   exponential), and the masked or clamped lanes of the TILE = 8 register tiles (drive: output columns past N or H;
//   sumInstance: units and columns past a block's edge) are not counted, although the kernels compute them;
// - uniform-only expressions (1 - beta1, ...) are counted where they are written, once per thread;
// - every slot of the minibatch is assumed filled (the benchmark always fills them; an empty slot skips its work).
//
// The companion counts (stepCosts) are estimates read off the same kernels, for the cost model of
// docs/benchmarks.md ("Where the time goes on lavapipe"):
// - divergentAccesses: storage-buffer loads and stores whose address differs between the threads of a workgroup (on
//   llvmpipe each runs as a per-lane scalar loop); accesses at workgroup-uniform addresses (the model's weights in
//   row-dispatched stages, the basis, the control words) are left out; guarded accesses count where they are valid;
// - transcendentals: exp, log, pow, sqrt calls (polynomial expansions on llvmpipe), as written;
// - philoxCalls: philox4x32 calls (about 320 32-bit integer operations each, as WGSL has no 64-bit multiply).
// Only the exponential method is modelled (the benchmark's FB / FS / F exponential cases); other methods throw.
import type { Scheme } from '../src/model/types.js';

/** The shader files the counts were derived from (their content hash is checked against FLOP_MODEL_SHADER_HASH). */
export const FLOP_MODEL_SHADERS = [
  'drive.wgsl',
  'sample_q.wgsl',
  'log_likelihood_p.wgsl',
  'backward.wgsl',
  'reduce.wgsl',
  'adam.wgsl',
  'advance.wgsl',
  'distributions.wgsl',
  'special.wgsl',
  'noise.wgsl',
  'rng.wgsl',
] as const;
/** The commit whose shaders the model was derived from. */
export const FLOP_MODEL_COMMIT = '278e58f';
/** shaderHash(FLOP_MODEL_SHADERS) of that commit (bench/run.ts computes the current one). */
export const FLOP_MODEL_SHADER_HASH = '87578368beee5b9e';

/** The stages of a training step, in dispatch order (ElboPipeline.stageNames maps onto them: stageOfProgram). */
export const STAGES = ['drive', 'sampleQ', 'logLikelihoodP', 'backward', 'sumWeights', 'sumInstance', 'sumGradient', 'adam', 'advance'] as const;
export type Stage = (typeof STAGES)[number];

/** The model's stage of a kernel program name (`drive.FB`, `reduce.sumInstance.FB.pathwise`, `adam.step`, ...). */
export function stageOfProgram(programName: string): Stage {
  const prefixes: [string, Stage][] = [
    ['drive.', 'drive'],
    ['sampleQ.', 'sampleQ'],
    ['logLikelihoodP.', 'logLikelihoodP'],
    ['backward.', 'backward'],
    ['reduce.sumWeights', 'sumWeights'],
    ['reduce.sumInstance', 'sumInstance'],
    ['reduce.sumGradient', 'sumGradient'],
    ['adam.', 'adam'],
    ['advanceStep', 'advance'],
  ];
  const found = prefixes.find(([prefix]) => programName.startsWith(prefix));
  if (!found) throw new Error(`the flop model has no stage for kernel "${programName}"`);
  return found[1];
}

export interface StepShape {
  scheme: Scheme;
  method: string;
  visible: number;
  hidden: number;
  bins: number;
  /** Basis length L. */
  basisLength: number;
  /** Models B in the job. */
  models: number;
  /** Sequences per model per step. */
  slots: number;
  /** Monte Carlo samples M. */
  samples: number;
}

/** Flops of one training step, per stage and in total. */
export type StepFlops = Record<Stage, number> & { total: number };

/** What one stage of a step does, by kind of operation. */
export interface StageCost {
  flops: number;
  divergentAccesses: number;
  transcendentals: number;
  philoxCalls: number;
}
export type StepCosts = Record<Stage, StageCost> & { total: StageCost };

// Building blocks (exponential method), each as written in the WGSL.
/** sigmoid(x): abs, neg, exp, `1 + e` twice, two divisions (both arms of the select). */
const SIGMOID = 7;
/** uniformFromBits: + 0.5, * 2^-23. */
const UNIFORM_FROM_BITS = 2;
/** sampleFromNoise exponential: -mean * log(1 - u): neg, mul, log, sub. */
const EXPONENTIAL_SAMPLE = 4;
/** reparameterisationSlope exponential (dz/dmu, stored for backward): -log(1 - u): sub, log, neg. */
const EXPONENTIAL_SLOPE = 3;
/** logLikelihood exponential: -log(mean + EPS) - z / (mean + EPS): add, log, neg, add, div, sub. */
const EXPONENTIAL_LOG_LIKELIHOOD = 6;
/** logLikelihoodMeanDerivative exponential: s = mean + EPS; -1/s + z/(s*s): add, div, mul, div, add. */
const EXPONENTIAL_MEAN_DERIVATIVE = 5;
/** logLikelihoodSampleGradient exponential: -1 / (mean + EPS): add, div. */
const EXPONENTIAL_SAMPLE_GRADIENT = 2;
/**
 * unitGradient (backward.wgsl), pathwise exponential, per hidden unit and bin: slope mean*(1-mean) (2), the mean
 * derivative (5), p and q sample gradients (2 + 2), upstream = through * countSlope + pGrad - qGrad over the one used
 * slot (3), throughSample = upstream * sampleSlope (1), (throughSample - meanDerivative) * slope (2).
 */
const UNIT_GRADIENT = 2 + EXPONENTIAL_MEAN_DERIVATIVE + 2 * EXPONENTIAL_SAMPLE_GRADIENT + 3 + 1 + 2;
/** Adam per parameter: -g (1), first moment (4), second moment (5), two bias corrections (2 + 2), denominator (4), update (4). */
const ADAM = 1 + 4 + 5 + 2 + 2 + 4 + 4;
/** Register tile width of drive.wgsl and reduce.wgsl. */
const TILE = 8;

/** sum over t of min(L, t): the lags a causal convolution of bin t reads (the same for the anti-causal one). */
export function lagCount(bins: number, basisLength: number): number {
  let total = 0;
  for (let t = 0; t < bins; t++) total += Math.min(basisLength, t);
  return total;
}

/** Parameters per model. */
export function parameterCount(scheme: Scheme, visible: number, hidden: number): number {
  const N = visible + hidden;
  const forwardColumns = scheme === 'FS' ? N : visible;
  return N * N + N + hidden * forwardColumns + (scheme === 'FB' ? hidden * visible : 0) + hidden;
}

const tiles = (extent: number): number => Math.ceil(extent / TILE);
const cost = (flops: number, divergentAccesses: number, transcendentals = 0, philoxCalls = 0): StageCost => ({ flops, divergentAccesses, transcendentals, philoxCalls });

/** Every stage's operation counts of one training step of `shape` (exponential method). */
export function stepCosts(shape: StepShape): StepCosts {
  if (shape.method !== 'exponential') throw new Error(`the flop model covers the exponential method only, not ${shape.method}`);
  const { scheme, visible: V, hidden: H, bins: T, basisLength: L, models: B, slots: S, samples: M } = shape;
  const N = V + H;
  const F = scheme === 'FS' ? N : V;
  const P = parameterCount(scheme, V, H);
  const pairs = B * S;
  const instances = pairs * M;
  const lags = lagCount(T, L);
  const FB = scheme === 'FB' ? 1 : 0;

  // drive.wgsl, per (pair, bin): N generative columns of V multiply-adds, H variational columns of V (+ V for FB).
  // Reads: the bin's V inputs once per tile of outputs (and V backward inputs per tile for FB); writes N + H drives.
  const drive = cost(
    pairs * T * (N * 2 * V + H * 2 * V * (1 + FB)),
    pairs * T * (V * tiles(N) + V * tiles(H) * (1 + FB) + N + H),
  );

  // sample_q.wgsl. Per unit: sigmoid, uniform from bits, the draw, dz/dmu, ln q, logQ += (23 flops; exp and three
  // logs); per bin -logQ. One Philox call per four units of a (bin, instance) stream.
  const unitSample = SIGMOID + UNIFORM_FROM_BITS + EXPONENTIAL_SAMPLE + EXPONENTIAL_SLOPE + EXPONENTIAL_LOG_LIKELIHOOD + 1;
  const philox = instances * T * Math.ceil(H / 4);
  let sampleQ: StageCost;
  if (scheme === 'FS') {
    // sampleSequential, per instance: the hidden history convolution (H x min(L, t) multiply-adds per bin) and the
    // self drive (H multiply-adds per unit). Accesses per bin: H*min(L,t) history loads and H stores; per unit the
    // variational drive, H self weights and H history values (the model differs across threads here), the seed,
    // four stores (sample, dz/dmu, count, mean); the weight term.
    sampleQ = cost(
      instances * (H * 2 * lags + T * (H * (2 * H + unitSample) + 1)),
      instances * (1 + H * lags + T * (H + H * (1 + 2 * H + 1 + 4) + 1)),
      instances * T * H * 4,
      philox,
    );
  } else {
    // sampleParallel, per (instance, bin): per unit the variational drive and four stores; the weight term.
    sampleQ = cost(instances * T * (H * unitSample + 1), instances * T * (5 * H + 1), instances * T * H * 4, philox);
  }

  // log_likelihood_p.wgsl, per (instance, bin): the hidden convolution cz (H x min(L, t) multiply-adds); per neuron the
  // drive (H multiply-adds), sigmoid, slope (2) and d ln p/d cz += delta * W (H multiply-adds); visible: ln p term
  // and += (5), delta (4); hidden: LL_D and += (7), its mean derivative times slope (6); finally weightTerms += (1).
  // Accesses: H*min(L,t) sample counts, H cz stores, N drives, N delta stores, V counts, H samples, H rate stores,
  // H d ln p/d cz stores, the weight term read and written. Transcendentals: N exps (sigmoid), V + H logs.
  const logLikelihoodP = cost(
    instances * (H * 2 * lags + T * (N * (4 * H + SIGMOID + 2) + V * 9 + H * (EXPONENTIAL_LOG_LIKELIHOOD + 1 + EXPONENTIAL_MEAN_DERIVATIVE + 1) + 1)),
    instances * (H * lags + T * (H + 2 * N + V + 3 * H + 2)),
    instances * T * (N + V + H),
  );

  // backward.wgsl (pathwise): per unit, sum_l psi dJ/dcz[t+l] over min(L, T-1-t) later bins, then unitGradient (17).
  // Accesses per unit and bin: the later bins' dJ/dcz, sample, mean, rate, dz/dmu, the gradient store.
  let backward: StageCost;
  if (scheme === 'FS') {
    // backwardSequential, per instance and bin also dJ/dcz[t][k] = driveGradient + sum_h dJ/dg[t][h] A[h][V+k]
    // (H multiply-adds per k; reads driveGradient, H gradients and H self weights, writes one value).
    backward = cost(
      instances * (H * 2 * lags + T * H * (UNIT_GRADIENT + 2 * H)),
      instances * (1 + H * lags + T * H * (5 + 2 + 2 * H)),
    );
  } else {
    backward = cost(instances * (H * 2 * lags + T * H * UNIT_GRADIENT), instances * (H * lags + T * H * 5));
  }

  // reduce.wgsl sumWeights, per instance: -ln x! and T additions; reads the schedule, ln x! and T terms, one store.
  const sumWeights = cost(instances * (T + 1), instances * (T + 3));

  // reduce.wgsl sumInstance, per instance: every parameter block as a sum over bins of an outer product, T
  // multiply-adds per parameter, then * scale (1). A thread forms one TILE x TILE tile; per bin it reads the tile's
  // unit factors and its (non-constant) input columns. Blocks: theta N x (N+1) (bias column constant), phi forward
  // H x (F+1) (bias constant), phi backward H x V (FB).
  const blocks: [units: number, columns: number, constants: number][] = [
    [N, N + 1, 1],
    [H, F + 1, 1],
    ...(FB ? [[H, V, 0] as [number, number, number]] : []),
  ];
  const perBinReads = blocks.reduce((sum, [units, columns, constants]) => sum + units * tiles(columns) + (columns - constants) * tiles(units), 0);
  const tileCount = blocks.reduce((sum, [units, columns]) => sum + tiles(units) * tiles(columns), 0);
  const sumInstance = cost(instances * P * (2 * T + 1), instances * (T * perBinReads + P + tileCount));

  // reduce.wgsl sumGradient, per model and parameter (and the ELBO): S*M additions and one division; S*M reads and
  // one store.
  const sumGradient = cost(B * (P + 1) * (S * M + 1), B * (P + 1) * (S * M + 1));

  // adam.wgsl, per parameter: 22 flops; two pows and two square roots; reads the failure flag, gradient, two moments
  // and the parameter, writes the moments and the parameter.
  const adam = cost(B * P * ADAM, B * P * 8, B * P * 4);

  // advance.wgsl: one thread increments the step counter (integers only).
  const advance = cost(0, 0);

  const stages: Record<Stage, StageCost> = { drive, sampleQ, logLikelihoodP, backward, sumWeights, sumInstance, sumGradient, adam, advance };
  const total = cost(0, 0);
  for (const stage of STAGES) {
    total.flops += stages[stage].flops;
    total.divergentAccesses += stages[stage].divergentAccesses;
    total.transcendentals += stages[stage].transcendentals;
    total.philoxCalls += stages[stage].philoxCalls;
  }
  return { ...stages, total };
}

/** The flop count of one training step of `shape` (exponential method), per stage and in total. */
export function stepFlops(shape: StepShape): StepFlops {
  const costs = stepCosts(shape);
  const flops = Object.fromEntries(STAGES.map((stage) => [stage, costs[stage].flops])) as Record<Stage, number>;
  return { ...flops, total: costs.total.flops };
}

/** Flops of the FMA peak kernel (bench/kernels/fma_peak.wgsl): threads x iterations x chains x 4 lanes x 2. */
export function fmaPeakFlops(threads: number, iterations: number, chains: number): number {
  return threads * iterations * chains * 4 * 2;
}

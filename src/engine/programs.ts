// Every kernel of the library as data: shader file, entry point, workgroup size and override constants. The
// pipeline cache keys on all of it, so two jobs that need the same kernel share one compiled pipeline.
import type { KernelProgram } from '../gpu/kernel.js';
import { rowWorkgroupSize } from '../gpu/grid.js';
import { METHOD_INFO, SCHEME_ID, type ResolvedMethod, type Scheme } from '../model/types.js';

export const DEFAULT_WORKGROUP = 64;

/** Where the base noise of a sampling or backward stage comes from. */
export type NoiseSource = 'philox' | 'buffer' | 'given';
const NOISE_SOURCE_ID: Record<NoiseSource, number> = { philox: 0, buffer: 1, given: 2 };
const NOISE_KIND_ID = { uniform: 0, normal: 1, gumbel: 2 } as const;

export const convolveProgram = (direction: 'causal' | 'antiCausal'): KernelProgram => ({
  name: `convolve.${direction}`,
  shader: 'convolve.wgsl',
  entryPoint: direction === 'causal' ? 'convolveCausal' : 'convolveAntiCausal',
  workgroupSize: DEFAULT_WORKGROUP,
});

export const simulateProgram = (): KernelProgram => ({
  name: 'simulate',
  shader: 'simulate.wgsl',
  entryPoint: 'simulate',
  workgroupSize: DEFAULT_WORKGROUP,
});

/** Drive: a row per (model, sequence), a thread per bin. */
export const driveProgram = (scheme: Scheme, bins: number): KernelProgram => ({
  name: `drive.${scheme}`,
  shader: 'drive.wgsl',
  entryPoint: 'drive',
  workgroupSize: rowWorkgroupSize(bins),
  constants: { scheme: SCHEME_ID[scheme] },
});

/**
 * FS samples in time order (one thread per instance); F and FB in parallel over bins (a row per instance). With
 * `storeSlope` the stage keeps dz/dmu for the backward pass (training with a continuous pathwise method).
 */
export const sampleProgram = (scheme: Scheme, method: ResolvedMethod, noise: NoiseSource, bins: number, storeSlope = false): KernelProgram => ({
  name: `sampleQ.${scheme}.${method.method}.${noise}${storeSlope ? '.slope' : ''}`,
  shader: 'sample_q.wgsl',
  entryPoint: scheme === 'FS' ? 'sampleSequential' : 'sampleParallel',
  workgroupSize: scheme === 'FS' ? DEFAULT_WORKGROUP : rowWorkgroupSize(bins),
  constants: {
    method: METHOD_INFO[method.method].id,
    noiseKind: NOISE_KIND_ID[method.info.noise],
    noiseSource: NOISE_SOURCE_ID[noise],
    storeSlope,
  },
});

/** ln p: a row per instance, a thread per bin. */
export const logJointProgram = (
  method: ResolvedMethod,
  options: { withGradient: boolean; storeRates: boolean; addToWeights: boolean },
  bins: number,
): KernelProgram => ({
  name: `logLikelihoodP.${method.method}.${options.withGradient ? 'grad' : 'value'}${options.storeRates ? '.rates' : ''}${options.addToWeights ? '' : '.fresh'}`,
  shader: 'log_likelihood_p.wgsl',
  entryPoint: 'logJointPerBin',
  workgroupSize: rowWorkgroupSize(bins),
  constants: {
    method: METHOD_INFO[method.method].id,
    withGradient: options.withGradient,
    storeRates: options.storeRates,
    addToWeights: options.addToWeights,
  },
});

/** The FS pathwise backward pass sweeps time in reverse per instance; everything else is a row per instance. */
export const backwardProgram = (scheme: Scheme, method: ResolvedMethod, bins: number): KernelProgram => {
  const pathwise = method.info.estimator === 'pathwise';
  const sequential = scheme === 'FS' && pathwise;
  return {
    name: `backward.${scheme}.${method.method}`,
    shader: 'backward.wgsl',
    entryPoint: sequential ? 'backwardSequential' : 'backwardParallel',
    workgroupSize: sequential ? DEFAULT_WORKGROUP : rowWorkgroupSize(bins),
    constants: { method: METHOD_INFO[method.method].id, pathwise },
  };
};

export const sumWeightsProgram = (): KernelProgram => ({
  name: 'reduce.sumWeights',
  shader: 'reduce.wgsl',
  entryPoint: 'sumWeights',
  workgroupSize: DEFAULT_WORKGROUP,
});

/** A row per model, a thread per parameter and one for the ELBO. */
export const sumGradientProgram = (method: ResolvedMethod, paramCount: number): KernelProgram => ({
  name: `reduce.sumGradient.${method.info.estimator}`,
  shader: 'reduce.wgsl',
  entryPoint: 'sumGradient',
  workgroupSize: rowWorkgroupSize(paramCount + 1),
  constants: { scoreFunction: method.info.estimator === 'score' },
});

export const adamProgram = (): KernelProgram => ({
  name: 'adam.step',
  shader: 'adam.wgsl',
  entryPoint: 'adamStep',
  workgroupSize: DEFAULT_WORKGROUP,
});

export const advanceStepProgram = (): KernelProgram => ({
  name: 'advanceStep',
  shader: 'advance.wgsl',
  entryPoint: 'advanceStep',
  // A single thread; the shader fixes @workgroup_size(1).
  workgroupSize: 1,
});

export const evidenceProgram = (): KernelProgram => ({
  name: 'evaluate.accumulateEvidence',
  shader: 'evaluate.wgsl',
  entryPoint: 'accumulateEvidence',
  workgroupSize: DEFAULT_WORKGROUP,
});

export const rawWordsProgram = (): KernelProgram => ({
  name: 'drawNoise.rawWords',
  shader: 'draw_noise.wgsl',
  entryPoint: 'rawWords',
  workgroupSize: DEFAULT_WORKGROUP,
});

export const baseNoiseProgram = (kind: 'uniform' | 'normal' | 'gumbel'): KernelProgram => ({
  name: `drawNoise.baseNoise.${kind}`,
  shader: 'draw_noise.wgsl',
  entryPoint: 'baseNoise',
  workgroupSize: DEFAULT_WORKGROUP,
  constants: { noiseKind: NOISE_KIND_ID[kind] },
});

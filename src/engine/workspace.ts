// Where everything of a job lives. Stages bind few buffers (WebGPU guarantees only 8 storage buffers per stage,
// and an application's device may have no more), so a job keeps its arrays as named regions of two buffers:
//   control   (u32): the header (step, chunk, the job's shape, region offsets), seeds, basis (f32 bits), schedule
//   workspace (f32): drives, noise, samples, rates, deltas, gradients, Adam moments, ELBOs, evidence
// This is the one place their offsets are computed; stages receive each workspace region as the uniform
// `<region>Offset`, and find the control regions through the header (shaders/control.wgsl).
import type { ParamLayout } from '../model/params.js';
import { chunking, computesGradient, isFused, type JobSpec } from './spec.js';

export interface Region {
  offset: number;
  count: number;
}

/** Elements (f32) of each workspace region for a job; zero for regions the job does not use. */
export function workspaceCounts(spec: JobSpec, bins: number): Record<string, number> {
  const { layout, models: B, samples: M } = spec;
  const { neurons: N, hidden: H } = layout;
  // Per-pair and per-instance arrays hold one chunk of the minibatch.
  const pairs = B * chunking(spec).chunkSlots;
  const instances = pairs * M;
  const training = computesGradient(spec.mode);
  const pathwise = spec.method.info.estimator === 'pathwise';
  const fsPathwise = layout.scheme === 'FS' && pathwise;
  // The fused path keeps an instance's per-bin state in registers (instance_gradient.wgsl), and evaluation each
  // sample's (evaluate.wgsl): only the staged path passes drives, samples, rates and deltas through storage.
  const fused = isFused(spec);
  const staged = spec.mode !== 'evaluate' && !fused;
  const stagedTraining = training && !fused;
  const perUnit = staged ? instances * bins * H : 0;
  // A posterior job runs no ln p stage: it keeps no hidden rates, and the convolved hidden history only for FS, whose
  // sampling stage reads it.
  const posterior = spec.mode === 'posterior';
  return {
    visibleDrive: fused ? 0 : pairs * bins * N,
    variationalDrive: fused ? 0 : pairs * bins * H,
    externalNoise: spec.noise === 'buffer' ? instances * bins * H * spec.method.noiseWidth : 0,
    samples: staged ? instances * bins * H * spec.method.sampleWidth : 0,
    // dz/dmu of each continuous pathwise sample, kept by the sampling stage for the backward pass.
    sampleSlope: stagedTraining && pathwise && !spec.method.info.gumbelSoftmax ? instances * bins * H : 0,
    hiddenCounts: perUnit,
    means: perUnit,
    hiddenConv: posterior && layout.scheme !== 'FS' ? 0 : perUnit,
    hiddenRates: posterior ? 0 : perUnit,
    deltas: stagedTraining ? instances * bins * N : 0,
    // d ln p / d cz through the generative drives, for the backward pass.
    driveGradient: stagedTraining ? instances * bins * H : 0,
    rates: spec.storeRates ? instances * bins * N : 0,
    weightTerms: staged ? instances * bins : 0,
    variationalGradient: stagedTraining ? instances * bins * H : 0,
    hiddenConvGradient: stagedTraining && fsPathwise ? instances * bins * H : 0,
    // The fused path's pathwise backward sweep: alpha, beta, d ln p/d cz (and cz for FS) per (bin, hidden unit).
    sweep: fused && pathwise ? instances * bins * H * (layout.scheme === 'FS' ? 4 : 3) : 0,
    sampleWeights: instances,
    // Staged: each instance's gradient columns that differ per sample (hidden history and biases; reduce.wgsl
    // compactIndex). Fused: each instance's whole gradient.
    instanceGradients: training ? instances * (fused ? layout.total : instanceGradientCount(layout)) : 0,
    // The visible columns of the gradient: the samples' row factors summed per (pair, bin); their products go to the
    // job's gradientSums buffer (src/engine/job.ts).
    rowFactors: stagedTraining ? pairs * bins * factorColumns(layout) : 0,
    gradients: training ? B * layout.total : 0,
    firstMoment: spec.mode === 'train' ? B * layout.total : 0,
    secondMoment: spec.mode === 'train' ? B * layout.total : 0,
    // Adam's proposed parameters, committed only for the models whose every parameter stayed finite (adam.wgsl).
    proposedParams: spec.mode === 'train' ? B * layout.total : 0,
    elboHistory: spec.stepsPerEpoch * B,
    evidence: spec.mode === 'evaluate' ? pairs * 4 : 0,
  };
}

/** Columns of rowFactors per (pair, bin): N and H, each padded to a multiple of 4 (twin of stage.wgsl). */
export function factorColumns(layout: ParamLayout): number {
  return Math.ceil(layout.neurons / 4) * 4 + Math.ceil(layout.hidden / 4) * 4;
}

/** Gradient entries an instance keeps: theta's N x (H + 1) and phi forward's H x (forward columns + 1 - V). */
function instanceGradientCount(layout: ParamLayout): number {
  return layout.neurons * (layout.hidden + 1) + layout.hidden * (layout.forwardColumns + 1 - layout.visible);
}

/** Regions laid end to end, each starting on a 16-byte boundary. */
export function packRegions<Name extends string>(counts: Record<Name, number>): { regions: Record<Name, Region>; total: number } {
  const regions = {} as Record<Name, Region>;
  let offset = 0;
  for (const [name, count] of Object.entries(counts) as [Name, number][]) {
    regions[name] = { offset, count };
    offset += Math.ceil(count / 4) * 4;
  }
  return { regions, total: Math.max(offset, 4) };
}

export function workspaceLayout(spec: JobSpec, bins: number): { regions: Record<string, Region>; total: number } {
  return packRegions(workspaceCounts(spec, bins));
}

/** Words of the control header (twin of shaders/control.wgsl): the advance stage keeps the first three. */
export const CONTROL_HEADER = {
  step: 0,
  stepInEpoch: 1,
  chunk: 2,
  stepsPerEpoch: 3,
  models: 4,
  chunks: 5,
  seeds: 6,
  basis: 7,
  schedule: 8,
} as const;
const CONTROL_HEADER_WORDS = 12;

/** The control buffer: the header, then seeds, basis and the schedule [stepInEpoch][chunk][model][chunk slot]. */
export function controlLayout(spec: JobSpec): { regions: Record<string, Region>; total: number } {
  const { chunkSlots, chunks } = chunking(spec);
  return packRegions({
    header: CONTROL_HEADER_WORDS,
    seeds: spec.models,
    basis: spec.basis.length,
    schedule: spec.stepsPerEpoch * chunks * spec.models * chunkSlots,
  });
}

/** The header's initial words: step 0 of chunk 0, the models, the chunks and where the control regions start. */
export function controlHeader(spec: JobSpec): Uint32Array {
  const { chunks } = chunking(spec);
  const { regions } = controlLayout(spec);
  const header = new Uint32Array(CONTROL_HEADER_WORDS);
  header[CONTROL_HEADER.stepsPerEpoch] = spec.stepsPerEpoch;
  header[CONTROL_HEADER.models] = spec.models;
  header[CONTROL_HEADER.chunks] = chunks;
  header[CONTROL_HEADER.seeds] = regions.seeds.offset;
  header[CONTROL_HEADER.basis] = regions.basis.offset;
  header[CONTROL_HEADER.schedule] = regions.schedule.offset;
  return header;
}

/** The uniform fields `<region>Offset` for every region. */
export function offsetUniforms(regions: Record<string, Region>): Record<string, number> {
  return Object.fromEntries(Object.entries(regions).map(([name, region]) => [`${name}Offset`, region.offset]));
}

/** Bytes of a job's workspace buffer: the binding that grows with models, sequences, samples and bins. */
export function workspaceBytes(spec: JobSpec, bins: number): number {
  return workspaceLayout(spec, bins).total * 4;
}

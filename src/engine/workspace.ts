// Where everything of a job lives. Stages bind few buffers (WebGPU guarantees only 8 storage buffers per stage,
// and an application's device may have no more), so a job keeps its arrays as named regions of two buffers:
//   control   (u32): step counter, seeds, basis (f32 bits), minibatch schedule
//   workspace (f32): drives, noise, samples, rates, deltas, gradients, Adam moments, ELBOs, evidence
// This is the one place their offsets are computed; stages receive each as the uniform `<region>Offset`.
import type { PipelineSpec } from './pipeline.js';

export interface Region {
  offset: number;
  count: number;
}

/** Elements (f32) of each workspace region for a job; zero for regions the job does not use. */
export function workspaceCounts(spec: PipelineSpec, bins: number): Record<string, number> {
  const { layout, models: B, slots, samples: M } = spec;
  const { neurons: N, hidden: H } = layout;
  const pairs = B * slots;
  const instances = pairs * M;
  const training = spec.mode === 'train' || spec.mode === 'gradient';
  const pathwise = spec.method.info.estimator === 'pathwise';
  const fsPathwise = layout.scheme === 'FS' && pathwise;
  // Evaluation keeps each sample's state in registers (evaluate.wgsl): only drives, weights and evidence remain.
  const staged = spec.mode !== 'evaluate';
  const perUnit = staged ? instances * bins * H : 0;
  return {
    visibleDrive: pairs * bins * N,
    variationalDrive: pairs * bins * H,
    externalNoise: spec.noise === 'buffer' ? instances * bins * H * spec.method.noiseWidth : 0,
    samples: staged ? instances * bins * H * spec.method.sampleWidth : 0,
    // dz/dmu of each continuous pathwise sample, kept by the sampling stage for the backward pass.
    sampleSlope: training && pathwise && !spec.method.info.gumbelSoftmax ? instances * bins * H : 0,
    hiddenCounts: perUnit,
    means: perUnit,
    hiddenConv: perUnit,
    hiddenRates: perUnit,
    deltas: training ? instances * bins * N : 0,
    // d ln p / d cz through the generative drives, for the backward pass.
    driveGradient: training ? instances * bins * H : 0,
    rates: spec.storeRates ? instances * bins * N : 0,
    weightTerms: staged ? instances * bins : 0,
    variationalGradient: training ? instances * bins * H : 0,
    hiddenConvGradient: training && fsPathwise ? instances * bins * H : 0,
    sampleWeights: instances,
    instanceGradients: training ? instances * layout.total : 0,
    gradients: training ? B * layout.total : 0,
    firstMoment: spec.mode === 'train' ? B * layout.total : 0,
    secondMoment: spec.mode === 'train' ? B * layout.total : 0,
    elboHistory: spec.stepsPerEpoch * B,
    evidence: spec.mode === 'evaluate' ? pairs * 4 : 0,
  };
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

export function workspaceLayout(spec: PipelineSpec, bins: number): { regions: Record<string, Region>; total: number } {
  return packRegions(workspaceCounts(spec, bins));
}

/** The control buffer: word 0 the step counter, word 1 the step within the epoch, then seeds, basis and schedule. */
export function controlLayout(spec: PipelineSpec): { regions: Record<string, Region>; total: number } {
  return packRegions({
    step: 4,
    seeds: spec.models,
    basis: spec.basis.length,
    schedule: spec.stepsPerEpoch * spec.models * spec.slots,
  });
}

/** The uniform fields `<region>Offset` for every region. */
export function offsetUniforms(regions: Record<string, Region>): Record<string, number> {
  return Object.fromEntries(Object.entries(regions).map(([name, region]) => [`${name}Offset`, region.offset]));
}

/** Bytes of a job's workspace buffer: the binding that grows with models, sequences, samples and bins. */
export function workspaceBytes(spec: PipelineSpec, bins: number): number {
  return workspaceLayout(spec, bins).total * 4;
}

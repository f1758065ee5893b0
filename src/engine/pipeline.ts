// One job of the variational engine on the GPU: B models of one shape, scheme and method, each reading `slots`
// sequences per step and drawing `samples` Monte Carlo samples. The job allocates its buffers and binds every stage
// once; a training step is then a fixed list of 9 dispatches (drive, sample q, ln p, backward, sum weights, sum
// instance, sum gradient, Adam, advance) whatever T, the number of sequences or M, and many steps can go into one
// command buffer.
import type { BoundKernel, KernelProgram } from '../gpu/kernel.js';
import type { Dispatch } from '../gpu/grid.js';
import type { UniformValues } from '../gpu/uniforms.js';
import { PAPER_ADAM, type AdamSettings } from '../model/adam.js';
import type { ParamLayout } from '../model/params.js';
import { NO_SEQUENCE } from '../model/schedule.js';
import type { ResolvedMethod } from '../model/types.js';
import type { DeviceDataset } from './dataset.js';
import {
  adamProgram,
  advanceStepProgram,
  backwardProgram,
  driveProgram,
  evaluateSamplesProgram,
  evidenceProgram,
  gradientTilesPerInstance,
  logJointProgram,
  sampleProgram,
  shapeConstants,
  sumGradientProgram,
  sumInstanceProgram,
  sumWeightsProgram,
  type NoiseSource,
} from './programs.js';
import type { GpuSession } from './session.js';
import { controlLayout, offsetUniforms, workspaceLayout, type Region } from './workspace.js';

export const NO_FAILURE = 0xffffffff;

/**
 * What a job computes, and so which stages it dispatches:
 *   train:    drive, sample q, ln p (+delta), backward, sum weights, sum instance, sum gradient, Adam, advance step
 *   gradient: drive, sample q, ln p (+delta), backward, sum weights, sum instance, sum gradient
 *   evaluate: drive, evaluate samples (Poisson; q and p in one kernel), accumulate evidence
 *   logJoint: drive, given samples (ln q), ln p alone, sum weights        -> sampleWeights = ln p(X, Z)
 *   logQ:     drive, given samples (ln q)                                 -> weightTerms = -ln q per bin
 */
export type PipelineMode = 'train' | 'gradient' | 'evaluate' | 'logJoint' | 'logQ';

export interface PipelineSpec {
  layout: ParamLayout;
  basis: number[];
  method: ResolvedMethod;
  models: number;
  /** Sequences each model reads per step. */
  slots: number;
  samples: number;
  /** Rows of the schedule: one per step of an epoch (1 outside training). */
  stepsPerEpoch: number;
  noise: NoiseSource;
  mode: PipelineMode;
  /** Noise purpose (src/model/philox.ts NoisePurpose). */
  purpose: number;
  adam?: AdamSettings;
  /** Keep every rate lambda[t][n] (firing-rate output). */
  storeRates?: boolean;
}

/** Per-thread arrays in the stages hold at most 64 hidden units and 256 hidden history values (basis x hidden). */
export const MAX_HIDDEN = 64;
export const MAX_HIDDEN_HISTORY = 256;

export function checkShapeLimits(hidden: number, basisLength: number): void {
  if (hidden > MAX_HIDDEN) throw new Error(`hidden is ${hidden}; the kernels hold at most ${MAX_HIDDEN} hidden neurons per model`);
  if (hidden * basisLength > MAX_HIDDEN_HISTORY) {
    throw new Error(
      `hidden x basis length is ${hidden} x ${basisLength} = ${hidden * basisLength}; the kernels keep at most ` +
        `${MAX_HIDDEN_HISTORY} history values per sample: use a shorter basis or fewer hidden neurons`,
    );
  }
}

/** How a stage is dispatched: items of one thread each, rows of items, or a fixed grid. */
type StageShape = { count: number } | { rows: number; perRow: number } | { fixed: Dispatch };
interface Stage {
  kernel: BoundKernel;
  shape: StageShape;
}

export class ElboPipeline {
  /** The buffers stages bind: control, dataset, modelParams, workspace, failureStep. */
  readonly buffers: Record<string, GPUBuffer> = {};
  readonly regions: Record<string, Region>;
  private readonly control: Record<string, Region>;
  private kernels: Stage[] = [];
  private readonly uniforms: UniformValues;
  readonly instances: number;

  private constructor(
    readonly session: GpuSession,
    readonly dataset: DeviceDataset,
    readonly spec: PipelineSpec,
  ) {
    const { layout } = spec;
    this.instances = spec.models * spec.slots * spec.samples;
    const adam = spec.adam ?? PAPER_ADAM;
    this.regions = workspaceLayout(spec, dataset.bins).regions;
    this.control = controlLayout(spec).regions;
    this.uniforms = {
      ...offsetUniforms(this.regions),
      ...offsetUniforms(this.control),
      ...offsetUniforms(dataset.regions),
      models: spec.models,
      slots: spec.slots,
      samples: spec.samples,
      bins: dataset.bins,
      paramCount: layout.total,
      weightOffset: layout.weightOffset,
      biasOffset: layout.biasOffset,
      forwardOffset: layout.forwardOffset,
      forwardColumns: layout.forwardColumns,
      backwardOffset: layout.backwardOffset,
      variationalBiasOffset: layout.variationalBiasOffset,
      generativeCount: layout.generativeCount,
      stepsPerEpoch: spec.stepsPerEpoch,
      noiseWidth: spec.method.noiseWidth,
      tau: spec.method.tau,
      purpose: spec.purpose,
      sampleOffset: 0,
      sequenceOffset: 0,
      validSamples: spec.samples,
      pairs: spec.models * spec.slots,
      ...adam,
    };
  }

  static async create(session: GpuSession, dataset: DeviceDataset, spec: PipelineSpec): Promise<ElboPipeline> {
    if (spec.layout.visible !== dataset.visible) {
      throw new Error(`the model has ${spec.layout.visible} visible neurons but the data has ${dataset.visible}`);
    }
    checkShapeLimits(spec.layout.hidden, spec.basis.length);
    const pipeline = new ElboPipeline(session, dataset, spec);
    try {
      pipeline.allocate();
      await pipeline.bindStages();
    } catch (error) {
      pipeline.destroy();
      throw error;
    }
    return pipeline;
  }

  private allocate(): void {
    const context = this.session.context;
    this.buffers.workspace = context.createStorage('job.workspace', workspaceLayout(this.spec, this.dataset.bins).total * 4);
    this.buffers.control = context.createStorage('job.control', controlLayout(this.spec).total * 4);
    this.buffers.modelParams = context.createStorage('job.modelParams', this.spec.models * this.spec.layout.total * 4);
    this.buffers.failureStep = context.upload('job.failureStep', new Uint32Array(this.spec.models).fill(NO_FAILURE));
    this.buffers.dataset = this.dataset.buffer;
    const basisBits = new Uint32Array(Float32Array.from(this.spec.basis).buffer);
    context.write(this.buffers.control, basisBits, this.control.basis.offset * 4);
  }

  private async bindStages(): Promise<void> {
    const { spec } = this;
    const { scheme } = spec.layout;
    const training = spec.mode === 'train' || spec.mode === 'gradient';
    const instances = this.instances;
    const bins = this.dataset.bins;
    const pairs = spec.models * spec.slots;
    const stages: Promise<Stage>[] = [];
    const add = (program: KernelProgram, shape: StageShape) =>
      stages.push(
        this.session.runtime.bind(program, { buffers: this.buffers, uniforms: this.uniforms, strict: false }).then((kernel) => ({ kernel, shape })),
      );
    const givenSamples = spec.mode === 'logJoint' || spec.mode === 'logQ';
    if (givenSamples && spec.noise !== 'given') throw new Error(`a ${spec.mode} job scores given samples: use noise "given"`);
    const pathwise = spec.method.info.estimator === 'pathwise';
    const storeSlope = training && pathwise && !spec.method.info.gumbelSoftmax;
    const shape = shapeConstants(spec.layout, spec.basis.length, spec.method);
    add(driveProgram(scheme, bins, shape), { rows: pairs, perRow: bins });
    if (spec.mode === 'evaluate') {
      if (spec.method.method !== 'poisson') throw new Error('evaluation scores with both models switched to Poisson');
      add(evaluateSamplesProgram(scheme, spec.samples, shape), { rows: pairs, perRow: spec.samples });
      add(evidenceProgram(), { count: pairs });
      this.kernels = await Promise.all(stages);
      return;
    }
    add(
      sampleProgram(scheme, spec.method, spec.noise, bins, shape, storeSlope),
      scheme === 'FS' ? { count: instances } : { rows: instances, perRow: bins },
    );
    if (spec.mode === 'logQ') {
      this.kernels = await Promise.all(stages);
      return;
    }
    add(
      logJointProgram(spec.method, { withGradient: training, storeRates: spec.storeRates ?? false, addToWeights: !givenSamples }, bins, shape),
      { rows: instances, perRow: bins },
    );
    if (training) {
      const sequential = scheme === 'FS' && pathwise;
      add(backwardProgram(scheme, spec.method, bins, shape), sequential ? { count: instances } : { rows: instances, perRow: bins });
    }
    add(sumWeightsProgram(), { count: instances });
    if (training) {
      add(sumInstanceProgram(spec.layout, spec.method, shape), { count: instances * gradientTilesPerInstance(spec.layout) });
      add(sumGradientProgram(spec.layout.total), { rows: spec.models, perRow: spec.layout.total + 1 });
    }
    if (spec.mode === 'train') {
      add(adamProgram(), { count: spec.models * spec.layout.total });
      add(advanceStepProgram(), { fixed: [1, 1, 1] });
    }
    this.kernels = await Promise.all(stages);
  }

  /** The dispatch of one stage. */
  private dispatchOf({ kernel, shape }: Stage): Dispatch {
    if ('fixed' in shape) return shape.fixed;
    if ('rows' in shape) return kernel.dispatchRows(shape.rows, shape.perRow);
    return kernel.dispatchFor(shape.count);
  }

  /** Names of the kernels one step dispatches, in order. */
  get stageNames(): string[] {
    return this.kernels.map(({ kernel }) => kernel.program.name);
  }

  /** Dispatches per step: fixed by the scheme and method, independent of T, sequences and samples. */
  get dispatchesPerStep(): number {
    return this.kernels.length;
  }

  encodeStep(pass: GPUComputePassEncoder): void {
    for (const stage of this.kernels) stage.kernel.encode(pass, this.dispatchOf(stage));
  }

  /** Encodes one stage alone (profiling). */
  encodeStage(pass: GPUComputePassEncoder, index: number): void {
    const stage = this.kernels[index];
    stage.kernel.encode(pass, this.dispatchOf(stage));
  }

  /** Runs `steps` steps in one submission. */
  async run(steps = 1, label = 'step'): Promise<void> {
    await this.session.runtime.submit(
      label,
      (pass) => {
        for (let step = 0; step < steps; step++) this.encodeStep(pass);
      },
      this.stageNames,
    );
  }

  /** Writes a workspace region (f32) or, for seeds and schedule, a control region (u32). */
  private writeRegion(name: string, data: Float32Array | Uint32Array): void {
    const inControl = name in this.control;
    const region = inControl ? this.control[name] : this.regions[name];
    if (!region) throw new Error(`no region "${name}" in this job`);
    if (data.length !== region.count) throw new Error(`${name}: expected ${region.count} values, got ${data.length}`);
    this.session.context.write(inControl ? this.buffers.control : this.buffers.workspace, data, region.offset * 4);
  }

  writeParams(flat: Float32Array): void {
    const expected = this.spec.models * this.spec.layout.total;
    if (flat.length !== expected) throw new Error(`modelParams: expected ${expected} values, got ${flat.length}`);
    this.session.context.write(this.buffers.modelParams, flat);
  }

  writeSeeds(seeds: Uint32Array): void {
    this.writeRegion('seeds', seeds);
  }

  /** rows[stepInEpoch][model][slot]: dataset row of each slot, or NO_SEQUENCE. */
  writeSchedule(rows: Uint32Array): void {
    rows.forEach((row, index) => {
      if (row !== NO_SEQUENCE && row >= this.dataset.rows) {
        throw new Error(`schedule entry ${index} points at row ${row} but the data has ${this.dataset.rows} rows`);
      }
    });
    this.writeRegion('schedule', rows);
  }

  writeNoise(noise: Float32Array): void {
    if (this.spec.noise !== 'buffer') throw new Error('this job draws its own noise');
    this.writeRegion('externalNoise', noise);
  }

  writeSamples(samples: Float32Array): void {
    if (this.spec.noise !== 'given') throw new Error('this job draws its own samples');
    this.writeRegion('samples', samples);
  }

  setStep(step: number): void {
    this.session.context.write(this.buffers.control, Uint32Array.of(step, step % this.spec.stepsPerEpoch, 0, 0));
  }

  /**
   * Moves the job to the next chunk of samples: the noise counter's sample offset, and how many of the chunk's
   * samples the evidence counts (evaluation draws M samples in chunks; the last may be partial).
   */
  setSampleChunk(offset: number, validSamples = this.spec.samples): void {
    if (validSamples < 1 || validSamples > this.spec.samples) throw new Error(`validSamples ${validSamples} outside 1..${this.spec.samples}`);
    this.uniforms.sampleOffset = offset;
    this.uniforms.validSamples = validSamples;
    for (const { kernel } of this.kernels) if (kernel.hasUniforms) kernel.setUniforms(this.uniforms);
  }

  resetEvidence(): void {
    this.writeRegion('evidence', new Float32Array(this.regions.evidence.count));
  }

  /** Reads a workspace region back. */
  read(name: string): Promise<Float32Array> {
    const region = this.regions[name];
    if (!region) throw new Error(`no region "${name}" in this job`);
    return this.session.context.readF32(this.buffers.workspace, region.offset, region.count);
  }

  readParams(): Promise<Float32Array> {
    return this.session.context.readF32(this.buffers.modelParams);
  }

  async readFailures(): Promise<Uint32Array> {
    return this.session.context.readU32(this.buffers.failureStep);
  }

  async readStep(): Promise<number> {
    return (await this.session.context.readU32(this.buffers.control, 0, 1))[0];
  }

  destroy(): void {
    for (const name of ['workspace', 'control', 'modelParams', 'failureStep']) this.session.context.release(this.buffers[name]);
    for (const { kernel } of this.kernels ?? []) kernel.release();
  }
}

// The fully observed GLM on the GPU (shaders/glm.wgsl): B models of V visible neurons and no hidden ones, each
// reading its own minibatch of one resident dataset. A step is a fixed list of dispatches (ln p and deltas per bin,
// the minibatch mean of the gradient, Adam and its commit, advance) whatever B, S and T; ln p is exact, so there is no
// noise and no sample. The control buffer is that of the variational jobs (src/engine/workspace.ts), so Adam
// (adam.wgsl) and the step counter (advance.wgsl) are the very kernels the POGLM fits run.
import type { BoundKernel, KernelProgram } from '../gpu/kernel.js';
import type { Dispatch } from '../gpu/grid.js';
import type { UniformValues } from '../gpu/uniforms.js';
import { PAPER_ADAM, type AdamSettings } from '../model/adam.js';
import { paramLayout, type ParamLayout } from '../model/params.js';
import { NoisePurpose } from '../model/philox.js';
import { epochSchedule, NO_SEQUENCE, stepsPerEpoch, type ScheduledFit } from '../model/schedule.js';
import { resolveMethod } from '../model/types.js';
import type { DeviceDataset } from './dataset.js';
import { NO_FAILURE } from './job.js';
import {
  adamProgram,
  advanceStepProgram,
  commitParamsProgram,
  glmBinLogLikelihoodProgram,
  glmSequenceLogLikelihoodProgram,
  glmSumGradientProgram,
} from './programs.js';
import type { GpuSession } from './session.js';
import { MAX_EVALUATION_SUBMISSION, trainingStepsPerSubmission } from './sizing.js';
import { chunking, type JobSpec } from './spec.js';
import { CONTROL_HEADER, controlHeader, controlLayout, offsetUniforms, packRegions, type Region } from './workspace.js';

/** train: ln p, gradient, Adam; gradient: ln p and gradient at given parameters; logLikelihood: ln p per sequence. */
export type GlmJobMode = 'train' | 'gradient' | 'logLikelihood';

export interface GlmJobSpec {
  visible: number;
  basis: number[];
  models: number;
  /** Sequences each model reads per step. */
  slots: number;
  /** Sequences per chunk of a step (default all `slots`): the workspace holds one chunk. */
  chunkSlots?: number;
  stepsPerEpoch: number;
  mode: GlmJobMode;
  adam?: AdamSettings;
}

/** A GLM's parameters are the POGLM's theta with H = 0: W (V x V, row = receiving neuron), then b. */
export const glmLayout = (visible: number): ParamLayout => paramLayout(visible, 0, 'F');

/** Elements (f32) of each workspace region; zero for those the mode does not use. */
export function glmWorkspaceCounts(spec: GlmJobSpec, bins: number): Record<string, number> {
  const pairs = spec.models * chunking(spec).chunkSlots;
  const params = spec.models * glmLayout(spec.visible).total;
  const gradient = spec.mode !== 'logLikelihood';
  const train = spec.mode === 'train';
  return {
    deltas: gradient ? pairs * bins * spec.visible : 0,
    binLogLikelihood: pairs * bins,
    sequenceLogLikelihood: spec.mode === 'logLikelihood' ? pairs : 0,
    gradients: gradient ? params : 0,
    firstMoment: train ? params : 0,
    secondMoment: train ? params : 0,
    proposedParams: train ? params : 0,
    elboHistory: spec.stepsPerEpoch * spec.models,
  };
}

/** Bytes of the job's largest binding, its workspace (the parameters are smaller whenever S x T >= 1). */
export function glmWorkspaceBytes(spec: GlmJobSpec, bins: number): number {
  return packRegions(glmWorkspaceCounts(spec, bins)).total * 4;
}

/** The spec in the variational jobs' terms, for their control-buffer layout (one "sample" per slot, H = 0). */
function controlSpec(spec: GlmJobSpec): JobSpec {
  return {
    layout: glmLayout(spec.visible),
    basis: spec.basis,
    method: resolveMethod({ method: 'poisson' }),
    models: spec.models,
    slots: spec.slots,
    chunkSlots: spec.chunkSlots,
    samples: 1,
    stepsPerEpoch: spec.stepsPerEpoch,
    noise: 'philox',
    mode: spec.mode === 'train' ? 'train' : 'gradient',
    purpose: NoisePurpose.train,
  };
}

interface GlmStage {
  kernel: BoundKernel;
  dispatch: (kernel: BoundKernel) => Dispatch;
  /** Runs once per step, after the last chunk (Adam and its commit). */
  lastChunk?: boolean;
}

export class GlmJob {
  readonly layout: ParamLayout;
  readonly chunkSlots: number;
  readonly chunks: number;
  readonly regions: Record<string, Region>;
  private readonly control: Record<string, Region>;
  private readonly buffers: Record<string, GPUBuffer> = {};
  private stages: GlmStage[] = [];

  private constructor(
    readonly session: GpuSession,
    readonly dataset: DeviceDataset,
    readonly spec: GlmJobSpec,
  ) {
    this.layout = glmLayout(spec.visible);
    ({ chunkSlots: this.chunkSlots, chunks: this.chunks } = chunking(spec));
    this.regions = packRegions(glmWorkspaceCounts(spec, dataset.bins)).regions;
    this.control = controlLayout(controlSpec(spec)).regions;
  }

  static async create(session: GpuSession, dataset: DeviceDataset, spec: GlmJobSpec): Promise<GlmJob> {
    if (dataset.visible !== spec.visible) throw new Error(`the dataset has ${dataset.visible} neurons but the GLM ${spec.visible}`);
    if (dataset.onHost || dataset.shards.length !== 1) {
      throw new Error('a GLM job reads its dataset from one device buffer: give fewer or shorter sequences per job (the data did not fit one binding)');
    }
    if (spec.mode === 'logLikelihood' && chunking(spec).chunks > 1) throw new Error('a logLikelihood job scores one chunk: the host chunks the sequences');
    const job = new GlmJob(session, dataset, spec);
    try {
      job.allocate();
      job.stages = await job.bindStages();
    } catch (error) {
      job.destroy();
      throw error;
    }
    return job;
  }

  private allocate(): void {
    const context = this.session.context;
    const { spec } = this;
    this.buffers.workspace = context.createStorage('glm.workspace', packRegions(glmWorkspaceCounts(spec, this.dataset.bins)).total * 4);
    this.buffers.control = context.createStorage('glm.control', controlLayout(controlSpec(spec)).total * 4);
    this.buffers.modelParams = context.createStorage('glm.modelParams', spec.models * this.layout.total * 4);
    this.buffers.failureStep = context.upload('glm.failureStep', new Uint32Array(spec.models).fill(NO_FAILURE));
    this.buffers.dataset = this.dataset.shards[0].buffer!;
    // The counts are read as packed 16-bit words through a second, read-only binding of the same buffer.
    this.buffers.countWords = this.buffers.dataset;
    context.write(this.buffers.control, controlHeader(controlSpec(spec)), 0);
    context.write(this.buffers.control, new Uint32Array(Float32Array.from(spec.basis).buffer), this.control.basis.offset * 4);
  }

  /** Every uniform field of glm.wgsl and adam.wgsl: each kernel is given exactly the fields it declares. */
  private uniformValues(): UniformValues {
    const adam = this.spec.adam ?? PAPER_ADAM;
    const data = this.dataset.shards[0].regions;
    return {
      ...offsetUniforms(this.regions),
      paramCount: this.layout.total,
      weightOffset: this.layout.weightOffset,
      biasOffset: this.layout.biasOffset,
      countsOffset: data.counts.offset,
      convOffset: data.conv.offset,
      logFactorialOffset: data.logFactorial.offset,
      // Every parameter of a GLM is generative: Adam's variational group is empty.
      generativeCount: this.layout.total,
      learningRateGenerative: adam.learningRateGenerative,
      learningRateVariational: adam.learningRateVariational,
      beta1: adam.beta1,
      beta2: adam.beta2,
      epsilon: adam.epsilon,
    };
  }

  private async bindStages(): Promise<GlmStage[]> {
    const { spec, layout } = this;
    const V = spec.visible;
    const job = { chunkSlotCount: this.chunkSlots, binCount: this.dataset.bins };
    const pairs = spec.models * this.chunkSlots;
    const parameters = spec.models * layout.total;
    const rows = (count: number, perRow: number) => (kernel: BoundKernel) => kernel.dispatchRows(count, perRow);
    const items = (count: number) => (kernel: BoundKernel) => kernel.dispatchFor(count);
    const plans: { program: KernelProgram; dispatch: GlmStage['dispatch']; lastChunk?: boolean }[] = [
      { program: glmBinLogLikelihoodProgram(V, spec.mode !== 'logLikelihood', job), dispatch: rows(pairs, this.dataset.bins) },
    ];
    if (spec.mode === 'logLikelihood') {
      plans.push({ program: glmSequenceLogLikelihoodProgram(V, job), dispatch: items(pairs) });
    } else {
      plans.push({ program: glmSumGradientProgram(V, job), dispatch: rows(spec.models, layout.total + 1) });
    }
    const adamJob = { samplesPerSlot: 1, ...job };
    if (spec.mode === 'train') {
      plans.push({ program: adamProgram(adamJob), dispatch: items(parameters), lastChunk: true });
      plans.push({ program: commitParamsProgram(adamJob), dispatch: items(parameters), lastChunk: true });
    }
    // The advance stage moves through the chunks, and after the last to the next step (training).
    if (spec.mode === 'train' || this.chunks > 1) plans.push({ program: advanceStepProgram(), dispatch: () => [1, 1, 1] });
    const values = this.uniformValues();
    const runtime = this.session.runtime;
    return Promise.all(
      plans.map(async ({ program, dispatch, lastChunk }) => {
        const declared = await runtime.interfaceOf(program);
        const buffers = Object.fromEntries(declared.buffers.map((name) => [name, this.buffers[name]]));
        const uniforms = declared.uniforms.length > 0 ? Object.fromEntries(declared.uniforms.map((name) => [name, values[name]])) : undefined;
        return { kernel: await runtime.bind(program, { buffers, uniforms }), dispatch, lastChunk };
      }),
    );
  }

  get stageNames(): string[] {
    return this.stages.map(({ kernel }) => kernel.program.name);
  }

  /** Dispatches per step: fixed by the mode and the chunks, independent of B, S and T. */
  get dispatchesPerStep(): number {
    const perChunk = this.stages.filter((stage) => !stage.lastChunk).length;
    return perChunk * this.chunks + this.stages.length - perChunk;
  }

  /** (model, sequence) pairs of one step, over all its chunks: what a submission's share of work is measured in. */
  get pairsPerStep(): number {
    return this.spec.models * this.chunkSlots * this.chunks;
  }

  private encodeStep(encoder: GPUCommandEncoder): void {
    for (let chunk = 0; chunk < this.chunks; chunk++) {
      const pass = encoder.beginComputePass({ label: `glm step chunk ${chunk}` });
      const last = chunk === this.chunks - 1;
      for (const stage of this.stages) if (last || !stage.lastChunk) stage.kernel.encode(pass, stage.dispatch(stage.kernel));
      pass.end();
    }
  }

  /** Encodes and submits `steps` steps in one command buffer. */
  async run(steps = 1, label = 'glm step'): Promise<void> {
    await this.session.runtime.submitCommands(
      label,
      (encoder) => {
        for (let step = 0; step < steps; step++) this.encodeStep(encoder);
      },
      this.stageNames,
    );
  }

  writeParams(flat: Float32Array): void {
    const expected = this.spec.models * this.layout.total;
    if (flat.length !== expected) throw new Error(`modelParams: expected ${expected} values, got ${flat.length}`);
    this.session.context.write(this.buffers.modelParams, flat);
  }

  /** rows[stepInEpoch][model][slot] (dataset rows or NO_SEQUENCE), laid out by chunk as the control buffer holds it. */
  writeSchedule(rows: Uint32Array): void {
    const { spec, chunkSlots, chunks } = this;
    const expected = spec.stepsPerEpoch * spec.models * spec.slots;
    if (rows.length !== expected) throw new Error(`schedule: expected ${expected} entries, got ${rows.length}`);
    const laidOut = new Uint32Array(this.control.schedule.count).fill(NO_SEQUENCE);
    rows.forEach((row, index) => {
      if (row === NO_SEQUENCE) return;
      if (row >= this.dataset.rows) throw new Error(`schedule entry ${index} points at row ${row} but the data has ${this.dataset.rows} rows`);
      const slot = index % spec.slots;
      const model = Math.floor(index / spec.slots) % spec.models;
      const step = Math.floor(index / (spec.slots * spec.models));
      const chunk = Math.floor(slot / chunkSlots);
      laidOut[((step * chunks + chunk) * spec.models + model) * chunkSlots + (slot % chunkSlots)] = row;
    });
    this.session.context.write(this.buffers.control, laidOut, this.control.schedule.offset * 4);
  }

  /** Sets the step counter (Adam's bias correction) and the step within the epoch, at chunk 0. */
  setStep(step: number): void {
    this.session.context.write(this.buffers.control, Uint32Array.of(step, step % this.spec.stepsPerEpoch, 0), CONTROL_HEADER.step * 4);
  }

  read(name: string): Promise<Float32Array> {
    const region = this.regions[name];
    if (!region) throw new Error(`no region "${name}" in this GLM job`);
    return this.session.context.readF32(this.buffers.workspace, region.offset, region.count);
  }

  readParams(): Promise<Float32Array> {
    return this.session.context.readF32(this.buffers.modelParams);
  }

  readFailures(): Promise<Uint32Array> {
    return this.session.context.readU32(this.buffers.failureStep);
  }

  async readStep(): Promise<number> {
    return (await this.session.context.readU32(this.buffers.control, 0, 1))[0];
  }

  destroy(): void {
    for (const name of ['workspace', 'control', 'modelParams', 'failureStep']) this.session.context.release(this.buffers[name]);
    for (const { kernel } of this.stages) kernel.release();
  }
}

// ---- training ----

export interface GlmMember extends ScheduledFit {
  /** Starting parameters (W then b); default zero, as the POGLM's generative part starts. */
  init?: ArrayLike<number>;
}

export interface GlmTrainingSpec {
  visible: number;
  basis: number[];
  members: GlmMember[];
  batchSize: number;
  epochs: number;
  adam?: AdamSettings;
  chunkSlots?: number;
  /** Most steps per submission; default as many as MAX_TRAINING_SUBMISSION pair-bins allow. */
  stepsPerSubmit?: number;
}

export interface GlmTrainingOptions {
  /** Stops after the current submission, keeping what was learned. */
  signal?: AbortSignal;
  /** After every epoch: the epoch (1-based) and each member's mean ln p over its steps (NaN once failed). */
  onEpoch?: (epoch: number, meanLogLikelihood: Float64Array) => void;
  /** Awaited after onEpoch while some member still trains, with the job (its parameters as they now are). */
  afterEpoch?: (job: GlmJob, epochsCompleted: number, meanLogLikelihood: Float64Array) => Promise<void>;
}

export interface GlmMemberOutcome {
  params: Float64Array;
  /** Mean over each epoch's steps of the minibatch mean of ln p(X). */
  elboHistory: number[];
  failedAtStep?: number;
}

export interface GlmTrainingOutcome {
  members: GlmMemberOutcome[];
  epochsCompleted: number;
  steps: number;
  interrupted: boolean;
  dispatchesPerStep: number;
}

/** The members' starting parameters, one row each. */
function initialRows(spec: GlmTrainingSpec, total: number): Float32Array {
  const params = new Float32Array(spec.members.length * total);
  spec.members.forEach((member, b) => {
    if (!member.init) return;
    if (member.init.length !== total) throw new Error(`members[${b}].init has ${member.init.length} values, expected ${total}`);
    params.set(Array.from(member.init), b * total);
  });
  return params;
}

/** Runs one epoch's steps in submissions of `perSubmit`, stopping early (between submissions) when `signal` aborts. */
async function runEpoch(job: GlmJob, steps: number, perSubmit: number, epoch: number, signal?: AbortSignal): Promise<number> {
  let done = 0;
  while (done < steps && !signal?.aborted) {
    const count = Math.min(perSubmit, steps - done);
    await job.run(count, `glm epoch ${epoch + 1}`);
    await job.session.context.finish(`GLM training epoch ${epoch + 1}`);
    done += count;
  }
  return done;
}

/** Trains every member of one group (same V, basis, S, batch size, epochs and Adam settings) in one job. */
export async function trainGlmGroup(session: GpuSession, dataset: DeviceDataset, spec: GlmTrainingSpec, options: GlmTrainingOptions = {}): Promise<GlmTrainingOutcome> {
  const { members } = spec;
  if (members.length === 0) throw new Error('a GLM training group needs at least one member');
  if (new Set(members.map((member) => member.sequences)).size > 1) throw new Error('a GLM training group needs the same number of sequences for every member');
  const batchSize = Math.min(spec.batchSize, members[0].sequences);
  const steps = stepsPerEpoch(members[0].sequences, batchSize);
  const B = members.length;
  const job = await GlmJob.create(session, dataset, {
    visible: spec.visible,
    basis: spec.basis,
    models: B,
    slots: batchSize,
    chunkSlots: spec.chunkSlots,
    stepsPerEpoch: steps,
    mode: 'train',
    adam: spec.adam,
  });
  try {
    job.writeParams(initialRows(spec, job.layout.total));
    job.setStep(0);
    const perSubmit = Math.max(1, Math.min(spec.stepsPerSubmit ?? trainingStepsPerSubmission(job.pairsPerStep, dataset.bins), steps));
    const histories: number[][] = members.map(() => []);
    const failedAt: (number | undefined)[] = members.map(() => undefined);
    let epochsCompleted = 0;
    let interrupted = false;
    while (epochsCompleted < spec.epochs && failedAt.some((failure) => failure === undefined)) {
      job.writeSchedule(epochSchedule(members, epochsCompleted, batchSize));
      if ((await runEpoch(job, steps, perSubmit, epochsCompleted, options.signal)) < steps) {
        interrupted = true;
        break;
      }
      const [history, failures] = await Promise.all([job.read('elboHistory'), job.readFailures()]);
      const means = new Float64Array(B);
      for (let b = 0; b < B; b++) {
        if (failedAt[b] === undefined && failures[b] !== NO_FAILURE) failedAt[b] = failures[b];
        let total = 0;
        for (let step = 0; step < steps; step++) total += history[step * B + b];
        means[b] = failedAt[b] === undefined ? total / steps : Number.NaN;
        if (failedAt[b] === undefined) histories[b].push(means[b]);
      }
      epochsCompleted++;
      options.onEpoch?.(epochsCompleted, means);
      if (options.afterEpoch && failedAt.some((failure) => failure === undefined)) await options.afterEpoch(job, epochsCompleted, means);
    }
    const [finalParams, failures, stepsRun] = await Promise.all([job.readParams(), job.readFailures(), job.readStep()]);
    const total = job.layout.total;
    return {
      members: members.map((_, b) => {
        const failure = failedAt[b] ?? (failures[b] !== NO_FAILURE ? failures[b] : undefined);
        const outcome: GlmMemberOutcome = { params: Float64Array.from(finalParams.subarray(b * total, (b + 1) * total)), elboHistory: histories[b] };
        if (failure !== undefined) outcome.failedAtStep = failure;
        return outcome;
      }),
      epochsCompleted,
      steps: stepsRun,
      interrupted,
      dispatchesPerStep: job.dispatchesPerStep,
    };
  } finally {
    job.destroy();
  }
}

// ---- ln p and its gradient at given parameters, and ln p per sequence ----

export interface GlmGradientResult {
  /** Mean over the sequences of ln p(X). */
  logLikelihood: number;
  /** Its gradient, W then b (mean over the sequences). */
  gradient: Float64Array;
}

/** ln p and its exact gradient, averaged over rows `firstRow..firstRow+sequences-1`, for one model. */
export async function glmGradientOnDevice(
  session: GpuSession,
  dataset: DeviceDataset,
  request: { params: ArrayLike<number>; basis: number[]; firstRow?: number; sequences?: number; chunkSlots?: number },
): Promise<GlmGradientResult> {
  const firstRow = request.firstRow ?? 0;
  const sequences = request.sequences ?? dataset.rows - firstRow;
  const job = await GlmJob.create(session, dataset, {
    visible: dataset.visible,
    basis: request.basis,
    models: 1,
    slots: sequences,
    chunkSlots: request.chunkSlots,
    stepsPerEpoch: 1,
    mode: 'gradient',
  });
  try {
    job.writeParams(Float32Array.from(request.params));
    job.writeSchedule(Uint32Array.from({ length: sequences }, (_, slot) => firstRow + slot));
    job.setStep(0);
    await job.run(1, 'glm gradient');
    const [gradient, history] = await Promise.all([job.read('gradients'), job.read('elboHistory')]);
    return { logLikelihood: history[0], gradient: Float64Array.from(gradient) };
  } finally {
    job.destroy();
  }
}

export interface GlmScoringMember {
  params: ArrayLike<number>;
  /** First dataset row of this model's sequences. */
  firstRow: number;
}

/**
 * How many models and sequences one scoring job holds: its workspace (ln p per bin, and per sequence) under `bytes`,
 * and at most MAX_EVALUATION_SUBMISSION pair-bins per submission, so that a stop is seen within one.
 */
export function glmScoringPlan(models: number, sequences: number, bins: number, bytes: number): { modelsPerJob: number; slots: number } {
  const perPair = (bins + 1) * 4;
  const pairs = Math.max(1, Math.min(Math.floor((bytes - 64) / perPair), Math.floor(MAX_EVALUATION_SUBMISSION / bins)));
  const modelsPerJob = Math.max(1, Math.min(models, Math.floor(pairs / sequences)));
  return { modelsPerJob, slots: Math.max(1, Math.min(sequences, Math.floor(pairs / modelsPerJob))) };
}

/**
 * ln p(X) of every sequence for every member: out[member][sequence]. Members go through in jobs, and sequences in
 * blocks, of the sizes glmScoringPlan gives (default: the device's binding limit), one submission per block, each
 * raced against `signal`.
 */
export async function glmLogLikelihoodOnDevice(
  session: GpuSession,
  dataset: DeviceDataset,
  request: { members: GlmScoringMember[]; basis: number[]; sequences: number; maxBytes?: number; signal?: AbortSignal },
): Promise<Float64Array[]> {
  const limits = session.context.limits;
  const bytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, request.maxBytes ?? Infinity);
  const plan = glmScoringPlan(request.members.length, request.sequences, dataset.bins, bytes);
  const out: Float64Array[] = [];
  for (let first = 0; first < request.members.length; first += plan.modelsPerJob) {
    out.push(...(await scoreMembers(session, dataset, { ...request, members: request.members.slice(first, first + plan.modelsPerJob) }, plan.slots)));
  }
  return out;
}

/** One scoring job: its members' sequences in blocks of `slots`. */
async function scoreMembers(
  session: GpuSession,
  dataset: DeviceDataset,
  request: { members: GlmScoringMember[]; basis: number[]; sequences: number; signal?: AbortSignal },
  slots: number,
): Promise<Float64Array[]> {
  const { members, sequences } = request;
  const out = members.map(() => new Float64Array(sequences));
  const job = await GlmJob.create(session, dataset, {
    visible: dataset.visible,
    basis: request.basis,
    models: members.length,
    slots,
    stepsPerEpoch: 1,
    mode: 'logLikelihood',
  });
  try {
    const total = job.layout.total;
    const params = new Float32Array(members.length * total);
    members.forEach((member, b) => params.set(Array.from(member.params), b * total));
    job.writeParams(params);
    for (let first = 0; first < sequences; first += slots) {
      request.signal?.throwIfAborted();
      const count = Math.min(slots, sequences - first);
      const rows = new Uint32Array(members.length * slots).fill(NO_SEQUENCE);
      members.forEach((member, b) => {
        for (let slot = 0; slot < count; slot++) rows[b * slots + slot] = member.firstRow + first + slot;
      });
      job.writeSchedule(rows);
      await job.run(1, 'glm log-likelihood');
      await session.context.settle('scoring GLM sequences', request.signal);
      const values = await job.read('sequenceLogLikelihood');
      members.forEach((_, b) => {
        for (let slot = 0; slot < count; slot++) out[b][first + slot] = values[b * slots + slot];
      });
    }
    return out;
  } finally {
    job.destroy();
  }
}

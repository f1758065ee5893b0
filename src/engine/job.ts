// One job of the variational engine on the GPU: B models of one shape, scheme and method (src/engine/spec.ts). The
// job allocates its buffers and binds every stage once; a step is then a fixed list of dispatches (the mode's table
// in src/engine/stages.ts) whatever T, the number of sequences or M, and many steps can go into one command buffer.
// A minibatch whose workspace would not fit one binding runs in chunks of sequences whose gradients are summed
// before the one Adam step; a dataset held in several shards is staged chunk by chunk into a buffer of the job's own.
import type { BoundKernel } from '../gpu/kernel.js';
import type { Dispatch } from '../gpu/grid.js';
import type { UniformValues } from '../gpu/uniforms.js';
import { PAPER_ADAM } from '../model/adam.js';
import { NO_SEQUENCE } from '../model/schedule.js';
import { countWordsPerRow, datasetRegions, type DatasetRegion, type DatasetRegions, type DatasetShard, type DeviceDataset } from './dataset.js';
import type { GpuSession } from './session.js';
import { checkShapeLimits } from './sizing.js';
import { chunking, computesGradient, type JobSpec } from './spec.js';
import { JOB_CHUNKING, planStages, stageContext, type StagePlan } from './stages.js';
import { CONTROL_HEADER, controlHeader, controlLayout, offsetUniforms, workspaceLayout, type Region } from './workspace.js';

export const NO_FAILURE = 0xffffffff;

interface Stage extends StagePlan {
  kernel: BoundKernel;
  /** The uniform fields the kernel declares, filled from the job's values. */
  uniformNames: string[];
}

export class VariationalJob {
  /** The buffers stages bind: control, dataset (and countWords, the same buffer), modelParams, workspace, failureStep, gradientSums. */
  readonly buffers: Record<string, GPUBuffer> = {};
  readonly regions: Record<string, Region>;
  readonly instances: number;
  readonly chunkSlots: number;
  readonly chunks: number;
  private readonly control: Record<string, Region>;
  /** Words (f32 or u32) of the job's own buffers, from the layouts that also give the regions. */
  private readonly totals: { workspace: number; control: number; staging: number };
  private stages: Stage[] = [];
  private readonly values: UniformValues;
  /** Set when the dataset has several shards or lives on the host: each chunk's rows go into `buffers.dataset` first. */
  private readonly staging?: DatasetRegions;
  /** The epoch's schedule as written, [stepInEpoch][model][slot] dataset rows (for staging copies). */
  private schedule?: Uint32Array;
  /** The step within the epoch that the next encoded step is (host side, for staging). */
  private nextStepInEpoch = 0;
  /** The chunk a host-chunked job (evaluation) runs next. */
  private hostChunk = 0;

  private constructor(
    readonly session: GpuSession,
    readonly dataset: DeviceDataset,
    readonly spec: JobSpec,
  ) {
    const { layout } = spec;
    ({ chunkSlots: this.chunkSlots, chunks: this.chunks } = chunking(spec));
    this.instances = spec.models * this.chunkSlots * spec.samples;
    const workspace = workspaceLayout(spec, dataset.bins);
    const control = controlLayout(spec);
    this.regions = workspace.regions;
    this.control = control.regions;
    let stagingTotal = 0;
    if (dataset.shards.length > 1 || dataset.onHost) {
      const staging = datasetRegions(spec.models * this.chunkSlots, dataset.bins, dataset.visible, dataset.antiCausal);
      this.staging = staging.regions;
      stagingTotal = staging.total;
    }
    this.totals = { workspace: workspace.total, control: control.total, staging: stagingTotal };
    const datasetOffsets = offsetUniforms(this.staging ?? dataset.shards[0].regions);
    this.values = {
      ...offsetUniforms(this.regions),
      ...datasetOffsets,
      paramCount: layout.total,
      weightOffset: layout.weightOffset,
      biasOffset: layout.biasOffset,
      forwardOffset: layout.forwardOffset,
      forwardColumns: layout.forwardColumns,
      backwardOffset: layout.backwardOffset,
      variationalBiasOffset: layout.variationalBiasOffset,
      generativeCount: layout.generativeCount,
      noiseWidth: spec.method.noiseWidth,
      tau: spec.method.tau,
      purpose: spec.purpose,
      ...(spec.adam ?? PAPER_ADAM),
      // Evaluation: the chunk of samples (setEvaluationChunk).
      sampleOffset: 0,
      validSamples: spec.samples,
    };
  }

  static async create(session: GpuSession, dataset: DeviceDataset, spec: JobSpec): Promise<VariationalJob> {
    if (spec.layout.visible !== dataset.visible) {
      throw new Error(`the model has ${spec.layout.visible} visible neurons but the data has ${dataset.visible}`);
    }
    checkShapeLimits(spec.layout.hidden, spec.basis.length);
    if (spec.layout.scheme === 'FB' && !dataset.antiCausal) throw new Error('an FB job reads the anti-causal convolution, which this dataset was uploaded without');
    const job = new VariationalJob(session, dataset, spec);
    if (job.chunks > 1 && (spec.mode === 'logJoint' || spec.mode === 'logQ')) {
      throw new Error(`a ${spec.mode} job returns per-sample results and cannot run in chunks: score fewer sequences at a time`);
    }
    if ((spec.mode === 'logJoint' || spec.mode === 'logQ') && spec.noise !== 'given') {
      throw new Error(`a ${spec.mode} job scores given samples: use noise "given"`);
    }
    if (spec.mode === 'evaluate' && spec.method.method !== 'poisson') throw new Error('evaluation scores with both models switched to Poisson');
    if (spec.mode === 'posterior' && spec.noise !== 'philox') throw new Error('a posterior job draws its samples from the Philox streams: use noise "philox"');
    try {
      job.allocate();
      await job.bindStages();
    } catch (error) {
      job.destroy();
      throw error;
    }
    return job;
  }

  private allocate(): void {
    const context = this.session.context;
    const { spec } = this;
    this.buffers.workspace = context.createStorage('job.workspace', this.totals.workspace * 4);
    this.buffers.control = context.createStorage('job.control', this.totals.control * 4);
    this.buffers.modelParams = context.createStorage('job.modelParams', spec.models * spec.layout.total * 4);
    this.buffers.failureStep = context.upload('job.failureStep', new Uint32Array(spec.models).fill(NO_FAILURE));
    // The visible columns' gradient sums of a chunk: their stage reads the workspace as vec4s, read-only.
    this.buffers.gradientSums = context.createStorage('job.gradientSums', (computesGradient(spec.mode) ? spec.models * spec.layout.total : 4) * 4);
    if (this.staging) {
      this.buffers.dataset = context.createStorage('job.stagedRows', this.totals.staging * 4);
    } else {
      this.buffers.dataset = this.dataset.shards[0].buffer!;
    }
    // The counts are read as packed 16-bit words through a second, read-only binding of the same buffer.
    this.buffers.countWords = this.buffers.dataset;
    context.write(this.buffers.control, controlHeader(spec), 0);
    const basisBits = new Uint32Array(Float32Array.from(spec.basis).buffer);
    context.write(this.buffers.control, basisBits, this.control.basis.offset * 4);
  }

  private async bindStages(): Promise<void> {
    const plans = planStages(stageContext(this.spec, this.dataset.bins, this.chunkSlots, this.chunks));
    const runtime = this.session.runtime;
    this.stages = await Promise.all(
      plans.map(async (plan) => {
        const declared = await runtime.interfaceOf(plan.program);
        const buffers = Object.fromEntries(declared.buffers.map((name) => [name, this.buffers[name]]));
        const uniformNames = declared.uniforms;
        const kernel = await runtime.bind(plan.program, { buffers, uniforms: this.uniformsOf(uniformNames, plan.program.name) });
        return { ...plan, kernel, uniformNames };
      }),
    );
  }

  /** Exactly the fields a kernel declares, each of which the job must have. */
  private uniformsOf(names: string[], kernel: string): UniformValues | undefined {
    if (names.length === 0) return undefined;
    const missing = names.filter((name) => !(name in this.values));
    if (missing.length > 0) throw new Error(`${kernel} declares uniform fields the job does not have: ${missing.join(', ')}`);
    return Object.fromEntries(names.map((name) => [name, this.values[name]]));
  }

  /** The dispatch of one stage. */
  private dispatchOf({ kernel, shape }: Stage): Dispatch {
    if ('fixed' in shape) return shape.fixed;
    if ('rows' in shape) return kernel.dispatchRows(shape.rows, shape.perRow);
    return kernel.dispatchFor(shape.count);
  }

  /** Names of the kernels one chunk of a step dispatches, in order. */
  get stageNames(): string[] {
    return this.stages.map(({ kernel }) => kernel.program.name);
  }

  /** Dispatches per step: fixed by the scheme, method and chunks, independent of T, sequences and samples. */
  get dispatchesPerStep(): number {
    const perChunk = this.stages.filter((stage) => !stage.lastChunk).length;
    return perChunk * this.chunks + this.stages.length - perChunk;
  }

  /** The chunks a step runs: all of them, or for a host-chunked job (evaluation) the one the host chose. */
  private chunksOfStep(): number[] {
    if (JOB_CHUNKING[this.spec.mode] === 'host') return [this.hostChunk];
    return Array.from({ length: this.chunks }, (_, chunk) => chunk);
  }

  /**
   * Encodes one step: each chunk's staging copies (where the dataset has device shards) and stages. A job on a
   * host-resident dataset writes each chunk's rows from the host between submissions: use run().
   */
  encodeStep(encoder: GPUCommandEncoder): void {
    if (this.dataset.onHost) throw new Error('a job on a host-resident dataset runs its steps with run(), one submission per chunk');
    const stepInEpoch = this.nextStepInEpoch;
    for (const chunk of this.chunksOfStep()) this.encodeChunk(encoder, stepInEpoch, chunk);
    this.nextStepInEpoch = (stepInEpoch + 1) % this.spec.stepsPerEpoch;
  }

  private encodeChunk(encoder: GPUCommandEncoder, stepInEpoch: number, chunk: number): void {
    if (this.staging && !this.dataset.onHost) {
      this.forEachStagedRow(stepInEpoch, chunk, (shard, from, to, region, words) =>
        encoder.copyBufferToBuffer(shard.buffer!, (shard.regions[region].offset + from * words) * 4, this.buffers.dataset, (this.staging![region].offset + to * words) * 4, words * 4),
      );
    }
    const pass = encoder.beginComputePass({ label: `step chunk ${chunk}` });
    const last = chunk === this.chunks - 1;
    for (const stage of this.stages) if (last || !stage.lastChunk) stage.kernel.encode(pass, this.dispatchOf(stage));
    pass.end();
  }

  /** Encodes one stage alone (profiling); the job must run in one chunk from a resident dataset. */
  encodeStage(pass: GPUComputePassEncoder, index: number): void {
    if (this.chunks > 1 || this.staging) throw new Error('profiling a single stage needs a one-chunk job on a resident dataset');
    const stage = this.stages[index];
    stage.kernel.encode(pass, this.dispatchOf(stage));
  }

  /**
   * Every region of every row that chunk `chunk` of step `stepInEpoch` reads: its shard, its row in the shard, its
   * place in the staging buffer, and the region's 32-bit words per row (packed counts, convolutions, 1 for ln x!).
   */
  private forEachStagedRow(
    stepInEpoch: number,
    chunk: number,
    move: (shard: DatasetShard, from: number, to: number, region: DatasetRegion, words: number) => void,
  ): void {
    const { spec, dataset, chunkSlots } = this;
    if (!this.schedule) throw new Error('write a schedule before running a job on a sharded dataset');
    const cells = dataset.bins * dataset.visible;
    const countWords = countWordsPerRow(dataset.bins, dataset.visible);
    for (let model = 0; model < spec.models; model++) {
      for (let local = 0; local < chunkSlots; local++) {
        const slot = chunk * chunkSlots + local;
        if (slot >= spec.slots) break;
        const row = this.schedule[(stepInEpoch * spec.models + model) * spec.slots + slot];
        if (row === NO_SEQUENCE) continue;
        const shard = dataset.shards.find((candidate) => row >= candidate.firstRow && row < candidate.firstRow + candidate.rows)!;
        const from = row - shard.firstRow;
        const to = model * chunkSlots + local;
        move(shard, from, to, 'counts', countWords);
        move(shard, from, to, 'conv', cells);
        if (dataset.antiCausal) move(shard, from, to, 'backConv', cells);
        move(shard, from, to, 'logFactorial', 1);
      }
    }
  }

  /** Writes the rows of a chunk from host memory into the staging buffer (queue-ordered before the next submit). */
  private writeChunkFromHost(stepInEpoch: number, chunk: number): void {
    this.forEachStagedRow(stepInEpoch, chunk, (shard, from, to, region, words) => {
      const start = shard.regions[region].offset + from * words;
      this.session.context.write(this.buffers.dataset, shard.host!.subarray(start, start + words), (this.staging![region].offset + to * words) * 4);
    });
  }

  /** Runs `steps` steps: in one submission, or from a host-resident dataset one submission per chunk. */
  async run(steps = 1, label = 'step'): Promise<void> {
    if (!this.dataset.onHost) {
      await this.session.runtime.submitCommands(
        label,
        (encoder) => {
          for (let step = 0; step < steps; step++) this.encodeStep(encoder);
        },
        this.stageNames,
      );
      return;
    }
    for (let step = 0; step < steps; step++) {
      const stepInEpoch = this.nextStepInEpoch;
      for (const chunk of this.chunksOfStep()) {
        this.writeChunkFromHost(stepInEpoch, chunk);
        await this.session.runtime.submitCommands(`${label} chunk ${chunk}`, (encoder) => this.encodeChunk(encoder, stepInEpoch, chunk), this.stageNames);
      }
      this.nextStepInEpoch = (stepInEpoch + 1) % this.spec.stepsPerEpoch;
    }
  }

  /** Writes a workspace region (f32) or, for seeds and schedule, a control region (u32). */
  private writeRegion(name: string, data: Float32Array | Uint32Array): void {
    const inControl = name in this.control;
    const region = inControl ? this.control[name] : this.regions[name];
    if (!region) throw new Error(`no region "${name}" in this job`);
    if (data.length !== region.count) throw new Error(`${name}: expected ${region.count} values, got ${data.length}`);
    this.session.context.write(inControl ? this.buffers.control : this.buffers.workspace, data, region.offset * 4);
  }

  /** Writes a workspace region (f32): restoring state a step carries over, such as Adam's moments. */
  writeWorkspace(name: string, data: Float32Array): void {
    if (!(name in this.regions)) throw new Error(`no workspace region "${name}" in this job`);
    this.writeRegion(name, data);
  }

  /** Sets each model's failure step (NO_FAILURE: still running), as a resumed job had them. */
  writeFailures(steps: Uint32Array): void {
    if (steps.length !== this.spec.models) throw new Error(`failureStep: expected ${this.spec.models} values, got ${steps.length}`);
    this.session.context.write(this.buffers.failureStep, steps);
  }

  writeParams(flat: Float32Array): void {
    const expected = this.spec.models * this.spec.layout.total;
    if (flat.length !== expected) throw new Error(`modelParams: expected ${expected} values, got ${flat.length}`);
    this.session.context.write(this.buffers.modelParams, flat);
  }

  writeSeeds(seeds: Uint32Array): void {
    this.writeRegion('seeds', seeds);
  }

  /**
   * rows[stepInEpoch][model][slot]: dataset row of each slot, or NO_SEQUENCE. The job lays it out by chunk; from a
   * sharded dataset each entry names the slot's place in the staging buffer, and the rows are kept for the copies.
   */
  writeSchedule(rows: Uint32Array): void {
    const { spec, chunkSlots, chunks } = this;
    const expected = spec.stepsPerEpoch * spec.models * spec.slots;
    if (rows.length !== expected) throw new Error(`schedule: expected ${expected} entries, got ${rows.length}`);
    rows.forEach((row, index) => {
      if (row !== NO_SEQUENCE && row >= this.dataset.rows) {
        throw new Error(`schedule entry ${index} points at row ${row} but the data has ${this.dataset.rows} rows`);
      }
    });
    const laidOut = new Uint32Array(this.control.schedule.count).fill(NO_SEQUENCE);
    for (let step = 0; step < spec.stepsPerEpoch; step++) {
      for (let model = 0; model < spec.models; model++) {
        for (let slot = 0; slot < spec.slots; slot++) {
          const row = rows[(step * spec.models + model) * spec.slots + slot];
          if (row === NO_SEQUENCE) continue;
          const chunk = Math.floor(slot / chunkSlots);
          const local = slot % chunkSlots;
          laidOut[((step * chunks + chunk) * spec.models + model) * chunkSlots + local] = this.staging ? model * chunkSlots + local : row;
        }
      }
    }
    this.schedule = rows.slice();
    this.writeRegion('schedule', laidOut);
  }

  writeNoise(noise: Float32Array): void {
    if (this.spec.noise !== 'buffer') throw new Error('this job draws its own noise');
    this.writeRegion('externalNoise', noise);
  }

  writeSamples(samples: Float32Array): void {
    if (this.spec.noise !== 'given') throw new Error('this job draws its own samples');
    this.writeRegion('samples', samples);
  }

  /** Sets the step counter (and the step within the epoch it implies), at chunk 0. */
  setStep(step: number): void {
    const stepInEpoch = step % this.spec.stepsPerEpoch;
    this.session.context.write(this.buffers.control, Uint32Array.of(step, stepInEpoch, 0), CONTROL_HEADER.step * 4);
    this.nextStepInEpoch = stepInEpoch;
  }

  /**
   * Evaluation and the posterior: moves the job to a chunk of sequences (its slots `chunk * chunkSlots` onwards) and,
   * there, to a chunk of samples — the noise counter's sample offset, and how many of the chunk's samples the evidence
   * counts (M samples are drawn in chunks; the last may be partial).
   */
  setEvaluationChunk(sequenceChunk: number, sampleOffset: number, validSamples = this.spec.samples): void {
    if (validSamples < 1 || validSamples > this.spec.samples) throw new Error(`validSamples ${validSamples} outside 1..${this.spec.samples}`);
    if (!Number.isInteger(sequenceChunk) || sequenceChunk < 0 || sequenceChunk >= this.chunks) {
      throw new Error(`sequence chunk ${sequenceChunk} outside 0..${this.chunks - 1}`);
    }
    this.values.sampleOffset = sampleOffset;
    this.values.validSamples = validSamples;
    this.hostChunk = sequenceChunk;
    this.session.context.write(this.buffers.control, Uint32Array.of(sequenceChunk), CONTROL_HEADER.chunk * 4);
    for (const stage of this.stages) if (stage.kernel.hasUniforms) stage.kernel.setUniforms(this.uniformsOf(stage.uniformNames, stage.kernel.program.name)!);
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
    const owned = ['workspace', 'control', 'modelParams', 'failureStep', 'gradientSums', ...(this.staging ? ['dataset'] : [])];
    for (const name of owned) this.session.context.release(this.buffers[name]);
    for (const { kernel } of this.stages) kernel.release();
  }
}

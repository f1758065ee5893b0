// The WGSL engine's training step, timed through its public engine classes only: a dataset uploaded with
// uploadDataset, one VariationalJob job in 'train' mode (stepsPerEpoch 1, Philox noise), parameters from
// initialParams, then `pipeline.run(k)` (k steps in one command buffer) and `context.finish()`. Nothing here depends
// on how the stage kernels are written; the FMA peak kernel (bench/kernels/fma_peak.wgsl) runs through the same
// KernelRuntime as an application kernel.
import { readFileSync } from 'node:fs';
import { uploadDataset, type DeviceDataset } from '../src/engine/dataset.js';
import { VariationalJob } from '../src/engine/job.js';
import type { JobSpec } from '../src/engine/spec.js';
import { isStaged, jobLimitBytes, planJobs, type JobPlan } from '../src/engine/sizing.js';
import { initialParams } from '../src/model/schedule.js';
import type { GpuSession } from '../src/engine/session.js';
import { paramLayout } from '../src/model/params.js';
import { resolveMethod, type Scheme } from '../src/model/types.js';
import { exponentialBasis } from '../src/model/basis.js';
import { NoisePurpose } from '../src/model/philox.js';
import { fmaPeakFlops } from './flops.js';
import { median } from './timing.js';

export interface WgslStepJob {
  /** Runs k training steps in one submission and waits until the device has finished them. */
  run(steps: number): Promise<void>;
  dispatchesPerStep: number;
  stageNames: string[];
  dispose(): void;
}

/** A one-job step with the hooks of the per-stage profile. */
export interface ProfiledStepJob extends WgslStepJob {
  /**
   * Encodes `count` copies of stage `stage` (VariationalJob.encodeStage), or of the whole step when `stage` is
   * undefined (encodeStep), into one compute pass of one submission, and waits until the device has finished.
   */
  runEncoded(count: number, stage?: number): Promise<void>;
  /** Writes back the parameters and step counter of creation (a stage run on its own keeps changing the state). */
  resetState(): Promise<void>;
  /** failureStep of every model (0xffffffff: none): a frozen model would skip Adam's work. */
  readFailures(): Promise<Uint32Array>;
}

export interface WgslStepSpec {
  scheme: Scheme;
  method: 'exponential';
  hidden: number;
  /** Training sequences x[s][t][v]; model b reads rows (b * slots + slot) mod rows. */
  data: number[][][];
  models: number;
  slots: number;
  samples: number;
  basis?: number[];
}

function pipelineSpec(spec: WgslStepSpec, models: number): JobSpec {
  const visible = spec.data[0][0].length;
  return {
    layout: paramLayout(visible, spec.hidden, spec.scheme),
    basis: spec.basis ?? exponentialBasis(5),
    method: resolveMethod(spec.method),
    models,
    slots: spec.slots,
    samples: spec.samples,
    stepsPerEpoch: 1,
    noise: 'philox',
    mode: 'train',
    purpose: NoisePurpose.train,
  };
}

/** How fitMany would run `models` models of this step on this device (src/engine/sizing.ts). */
export function jobPlan(session: GpuSession, spec: WgslStepSpec, models = spec.models): JobPlan {
  const bytes = jobLimitBytes(session.context.limits);
  const { models: _models, ...rest } = pipelineSpec(spec, 1);
  const staged = isStaged(spec.data.length, spec.data[0].length, spec.data[0][0].length, bytes);
  return planJobs(rest, spec.data[0].length, models, bytes, staged);
}

/** How many models one job holds under the device's binding limit, as fitMany plans it. */
export function modelsPerJob(session: GpuSession, spec: WgslStepSpec): number {
  return jobPlan(session, spec).modelsPerJob;
}

/**
 * One job of `spec.models` models (which must fit one job: see modelsPerJob); a minibatch that does not fit one
 * binding runs in chunks, as fitMany would run it.
 */
export async function createStepJob(session: GpuSession, spec: WgslStepSpec, shared?: DeviceDataset): Promise<ProfiledStepJob> {
  const plan = jobPlan(session, spec);
  if (plan.modelsPerJob < spec.models) throw new Error(`${spec.models} models do not fit one job (at most ${plan.modelsPerJob})`);
  const pipelineInput = { ...pipelineSpec(spec, spec.models), chunkSlots: plan.chunkSlots };
  const dataset = shared ?? (await uploadDataset(session, [spec.data], pipelineInput.basis, 'bench'));
  let pipeline: VariationalJob;
  try {
    pipeline = await VariationalJob.create(session, dataset, pipelineInput);
  } catch (error) {
    if (!shared) dataset.release();
    throw error;
  }
  const { layout } = pipelineInput;
  const B = spec.models;
  const params = new Float32Array(B * layout.total);
  for (let b = 0; b < B; b++) params.set(Array.from(initialParams(layout, b)), b * layout.total);
  pipeline.writeParams(params);
  pipeline.writeSeeds(Uint32Array.from({ length: B }, (_, b) => b));
  const rows = dataset.rows;
  const schedule = new Uint32Array(B * spec.slots);
  for (let b = 0; b < B; b++) for (let s = 0; s < spec.slots; s++) schedule[b * spec.slots + s] = (b * spec.slots + s) % rows;
  pipeline.writeSchedule(schedule);
  pipeline.setStep(0);
  await session.context.finish('bench setup');
  return {
    async run(steps: number) {
      await pipeline.run(steps, 'bench step');
      await session.context.finish('bench step');
    },
    async runEncoded(count: number, stage?: number) {
      const label = stage === undefined ? 'bench profile step' : `bench profile ${pipeline.stageNames[stage]}`;
      await session.runtime.submitCommands(label, (encoder) => {
        if (stage === undefined) {
          for (let i = 0; i < count; i++) pipeline.encodeStep(encoder);
          return;
        }
        const pass = encoder.beginComputePass({ label });
        for (let i = 0; i < count; i++) pipeline.encodeStage(pass, stage);
        pass.end();
      });
      await session.context.finish(label);
    },
    async resetState() {
      pipeline.writeParams(params);
      pipeline.setStep(0);
      await session.context.finish('bench reset');
    },
    readFailures: () => pipeline.readFailures(),
    dispatchesPerStep: pipeline.dispatchesPerStep,
    stageNames: pipeline.stageNames,
    dispose() {
      pipeline.destroy();
      if (!shared) dataset.release();
    },
  };
}

/**
 * B models that may need several jobs (as fitMany splits them): one step of all of them runs every job's step, each
 * job in its own submission, and waits for all.
 */
export async function createChunkedStepJob(session: GpuSession, spec: WgslStepSpec): Promise<WgslStepJob & { jobs: number; perJob: number }> {
  const perJob = modelsPerJob(session, spec);
  const chunks = Math.ceil(spec.models / perJob);
  const basis = spec.basis ?? exponentialBasis(5);
  const dataset = await uploadDataset(session, [spec.data], basis, 'bench');
  const jobs: WgslStepJob[] = [];
  try {
    for (let chunk = 0; chunk < chunks; chunk++) {
      const models = Math.min(perJob, spec.models - chunk * perJob);
      jobs.push(await createStepJob(session, { ...spec, models }, dataset));
    }
  } catch (error) {
    jobs.forEach((job) => job.dispose());
    dataset.release();
    throw error;
  }
  return {
    jobs: chunks,
    perJob,
    async run(steps: number) {
      // Each job's k steps, then the next job's: the same order fitMany trains chunks in.
      for (const job of jobs) await job.run(steps);
    },
    dispatchesPerStep: jobs[0].dispatchesPerStep,
    stageNames: jobs[0].stageNames,
    dispose() {
      jobs.forEach((job) => job.dispose());
      dataset.release();
    },
  };
}

export interface PeakResult {
  gflops: number;
  /** GFLOP/s of each kernel variant (vec4 chains per thread). */
  byChains: Record<number, number>;
  bestChains: number;
  threads: number;
  workgroups: number;
  iterations: number;
  /** Median time of one dispatch of the best variant (ms). */
  dispatchMs: number;
}

const PEAK_CHAINS = [1, 2, 4, 8, 16];

/**
 * The adapter's FMA peak: each variant of bench/kernels/fma_peak.wgsl dispatched over `workgroups` x 64 threads,
 * iterations grown until one dispatch lasts about `targetMs`, median of `repeats` dispatches.
 */
export async function measurePeak(session: GpuSession, options: { workgroups?: number; targetMs?: number; repeats?: number } = {}): Promise<PeakResult> {
  const workgroupSize = 64;
  const workgroups = options.workgroups ?? 8192;
  const threads = workgroups * workgroupSize;
  const targetMs = options.targetMs ?? 300;
  const repeats = options.repeats ?? 5;
  const source = readFileSync(new URL('./kernels/fma_peak.wgsl', import.meta.url), 'utf8');
  session.runtime.addShaderSource('bench_fma_peak.wgsl', source);
  const sink = session.context.createStorage('bench.fmaSink', threads * 4);
  const byChains: Record<number, number> = {};
  let best = { gflops: 0, chains: 0, iterations: 0, dispatchMs: 0 };
  try {
    for (const chains of PEAK_CHAINS) {
      const program = { name: `bench.fmaChains${chains}`, shader: 'bench_fma_peak.wgsl', entryPoint: `fmaChains${chains}`, workgroupSize };
      const bind = (iterations: number) =>
        session.runtime.bind(program, { buffers: { sink }, uniforms: { iterations, threads, multiplier: 0.999999, addend: 1e-6 } });
      const time = async (iterations: number): Promise<number> => {
        const kernel = await bind(iterations);
        const t0 = performance.now();
        await session.runtime.submit('fma peak', (pass) => kernel.encode(pass, kernel.dispatchFor(threads)));
        await session.context.finish('fma peak');
        return performance.now() - t0;
      };
      // Grow the iteration count until a dispatch is long enough to time (it also warms the pipeline up).
      let iterations = 16;
      let elapsed = await time(iterations);
      while (elapsed < targetMs / 4 && iterations < 1 << 24) {
        iterations *= 4;
        elapsed = await time(iterations);
      }
      iterations = Math.max(1, Math.round((iterations * targetMs) / Math.max(elapsed, 1e-3)));
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) times.push(await time(iterations));
      const dispatchMs = median(times);
      const gflops = fmaPeakFlops(threads, iterations, chains) / (dispatchMs * 1e6);
      byChains[chains] = gflops;
      if (gflops > best.gflops) best = { gflops, chains, iterations, dispatchMs };
    }
    // The sums must be finite, or the compiler might have been allowed to cheat.
    const values = await session.context.readF32(sink, 0, 16);
    if (!values.every(Number.isFinite)) throw new Error('the FMA peak kernel produced non-finite values');
  } finally {
    session.context.release(sink);
  }
  return { gflops: best.gflops, byChains, bestChains: best.chains, threads, workgroups, iterations: best.iterations, dispatchMs: best.dispatchMs };
}

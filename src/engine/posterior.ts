// The posterior of the hidden neurons: for B fitted models on their sequences, q's mean of every hidden neuron in
// every bin and samples of its spikes, with q switched to Poisson as evaluation does (the means are Poisson rates, the
// samples counts). A 'posterior' job runs the drive and the sampling stage (src/engine/stages.ts) and the host reads
// each chunk's means and counts back: F and FB give the same mean for every sample, FS a mean that follows each
// sample's own history, averaged here over the samples. Sample m of sequence s draws the Philox stream (seed,
// evaluate, step 0, sample m, sequence s), the one evaluation draws, whatever the chunking.
import { NoisePurpose } from '../model/philox.js';
import { paramLayout, type ParamLayout } from '../model/params.js';
import type { DeviceDataset } from './dataset.js';
import { POISSON } from './evaluation.js';
import { VariationalJob } from './job.js';
import type { GpuSession } from './session.js';
import { jobLimitBytes, planEvaluation, type EvaluationPlan } from './sizing.js';
import type { JobSpec } from './spec.js';

export interface PosteriorMember {
  params: ArrayLike<number>;
  seed: number;
  /** First dataset row of this model's sequences. */
  firstRow: number;
}

export interface PosteriorSpec {
  layout: ParamLayout;
  basis: number[];
  members: PosteriorMember[];
  /** Sequences per member. */
  sequences: number;
  /** Monte Carlo samples the means average over (FS); F and FB means do not depend on them. */
  samples: number;
  /** How many of the samples (the first ones) to return; 0 for none. */
  keepSamples: number;
  /** Bytes the largest buffer may take (default: the device's binding limit). */
  maxChunkBytes?: number;
  /** Raced against every submission: when aborted, the promise rejects with the signal's reason at once. */
  signal?: AbortSignal;
}

export interface PosteriorOutcome {
  /** Per member, [sequence][bin][hidden] row-major: q's mean averaged over the samples. */
  means: Float64Array[];
  /** Per member, [sequence][kept sample][bin][hidden] row-major hidden counts (empty when none are kept). */
  samples: Float32Array[];
  /** Samples drawn per sequence: `samples` for FS, only the kept ones (at least one) for F and FB. */
  samplesDrawn: number;
  /** Submissions: chunks of samples times chunks of sequences. */
  submissions: number;
  samplesPerChunk: number;
  sequencesPerChunk: number;
}

/** The posterior job of models of `layout` on `sequences` sequences, all but its models, chunks and samples. */
export function posteriorSpec(layout: ParamLayout, basis: number[], sequences: number): Omit<JobSpec, 'models' | 'chunkSlots' | 'samples'> {
  return {
    layout: paramLayout(layout.visible, layout.hidden, layout.scheme),
    basis,
    method: POISSON,
    slots: sequences,
    stepsPerEpoch: 1,
    noise: 'philox',
    mode: 'posterior',
    purpose: NoisePurpose.evaluate,
  };
}

/**
 * Samples to draw per sequence. F and FB means depend on the data alone, so only the kept samples are drawn (at least
 * one, for the means); since a sample's noise depends on its index alone, they are the ones a full draw would keep.
 */
export function posteriorSamplesDrawn(scheme: ParamLayout['scheme'], samples: number, keepSamples: number): number {
  return scheme === 'FS' ? samples : Math.max(1, keepSamples);
}

/**
 * How the posterior of `models` models runs on this device: the evaluation plan (src/engine/sizing.ts), sized by the
 * posterior job's own workspace and bounded to MAX_EVALUATION_SUBMISSION instance-bins per submission.
 */
export function planPosterior(
  session: GpuSession,
  layout: ParamLayout,
  basis: number[],
  shape: { models: number; sequences: number; bins: number; samples: number; staged: boolean },
  maxBytes?: number,
): EvaluationPlan {
  const bytes = jobLimitBytes(session.context.limits, maxBytes);
  return planEvaluation(posteriorSpec(layout, basis, shape.sequences), shape.bins, shape.models, shape.samples, bytes, shape.staged);
}

function checkSpec(spec: PosteriorSpec): void {
  if (!Number.isInteger(spec.samples) || spec.samples < 1) throw new Error(`samples must be a positive integer, got ${spec.samples}`);
  if (!Number.isInteger(spec.keepSamples) || spec.keepSamples < 0 || spec.keepSamples > spec.samples) {
    throw new Error(`keepSamples must be an integer in 0..${spec.samples} (the samples drawn), got ${spec.keepSamples}`);
  }
  spec.members.forEach((member, b) => {
    if (member.params.length !== spec.layout.total) throw new Error(`members[${b}].params has ${member.params.length} values, expected ${spec.layout.total}`);
  });
}

/** Where one chunk's results go: its place in the members' arrays. */
interface ChunkPlace {
  firstSequence: number;
  /** Sequences of this chunk that exist (the last chunk may be partial). */
  sequences: number;
  firstSample: number;
  /** Samples of this chunk that count (the last chunk of samples may be partial). */
  samples: number;
}

/** The posterior of every member on its sequences, in chunks of sequences and of samples. */
export async function inferPosteriorGroup(session: GpuSession, dataset: DeviceDataset, spec: PosteriorSpec): Promise<PosteriorOutcome> {
  checkSpec(spec);
  const { layout, members } = spec;
  const B = members.length;
  const S = spec.sequences;
  const drawn = posteriorSamplesDrawn(layout.scheme, spec.samples, spec.keepSamples);
  const staged = dataset.shards.length > 1 || dataset.onHost;
  const plan = planPosterior(session, layout, spec.basis, { models: B, sequences: S, bins: dataset.bins, samples: drawn, staged }, spec.maxChunkBytes);
  if (plan.modelsPerJob < B) throw new Error(`${B} models do not fit one posterior job (at most ${plan.modelsPerJob}): infer them in groups`);
  const chunk = plan.samplesPerChunk;
  const job = await VariationalJob.create(session, dataset, { ...posteriorSpec(layout, spec.basis, S), models: B, chunkSlots: plan.chunkSlots, samples: chunk });
  try {
    writeJobInputs(job, spec);
    const cells = S * dataset.bins * layout.hidden;
    const sums = members.map(() => new Float64Array(cells));
    const kept = members.map(() => new Float32Array(spec.keepSamples * cells));
    const shape = shapeOf(job, dataset.bins);
    let submissions = 0;
    for (let sequenceChunk = 0; sequenceChunk < plan.chunks; sequenceChunk++) {
      const firstSequence = sequenceChunk * plan.chunkSlots;
      for (let offset = 0; offset < drawn; offset += chunk) {
        spec.signal?.throwIfAborted();
        const place: ChunkPlace = { firstSequence, sequences: Math.min(plan.chunkSlots, S - firstSequence), firstSample: offset, samples: Math.min(chunk, drawn - offset) };
        job.setEvaluationChunk(sequenceChunk, offset, place.samples);
        await job.run(1, `posterior samples from ${offset}`);
        // One chunk in flight at a time, as in evaluation: a stop or a lost device is seen within a chunk.
        await session.context.settle(`inferring the hidden spikes of samples from ${offset}`, spec.signal);
        submissions++;
        addMeans(sums, await job.read('means'), place, shape);
        if (offset < spec.keepSamples) copyKeptSamples(kept, await job.read('hiddenCounts'), place, shape, spec.keepSamples);
      }
    }
    for (const sum of sums) for (let i = 0; i < sum.length; i++) sum[i] /= drawn;
    return { means: sums, samples: kept, samplesDrawn: drawn, submissions, samplesPerChunk: chunk, sequencesPerChunk: plan.chunkSlots };
  } finally {
    job.destroy();
  }
}

function writeJobInputs(job: VariationalJob, spec: PosteriorSpec): void {
  const { layout, members } = spec;
  const params = new Float32Array(members.length * layout.total);
  members.forEach((member, b) => params.set(Array.from(member.params), b * layout.total));
  job.writeParams(params);
  job.writeSeeds(Uint32Array.from(members, (member) => member.seed));
  const rows = new Uint32Array(members.length * spec.sequences);
  members.forEach((member, b) => {
    for (let s = 0; s < spec.sequences; s++) rows[b * spec.sequences + s] = member.firstRow + s;
  });
  job.writeSchedule(rows);
  job.setStep(0);
}

/** The job's per-instance layout: [pair][sample][bin][hidden], pair = model * chunkSlots + chunk slot. */
interface InstanceShape {
  chunkSlots: number;
  /** Samples per chunk (the job's M). */
  chunkSamples: number;
  bins: number;
  hidden: number;
}

function shapeOf(job: VariationalJob, bins: number): InstanceShape {
  return { chunkSlots: job.chunkSlots, chunkSamples: job.spec.samples, bins, hidden: job.spec.layout.hidden };
}

/** Start of (model, chunk slot, sample) in a per-instance region. */
function instanceStart(shape: InstanceShape, model: number, local: number, sample: number): number {
  return ((model * shape.chunkSlots + local) * shape.chunkSamples + sample) * shape.bins * shape.hidden;
}

/** Adds each counted sample's means of the chunk into the members' sums [sequence][bin][hidden]. */
function addMeans(sums: Float64Array[], means: Float32Array, place: ChunkPlace, shape: InstanceShape): void {
  const unit = shape.bins * shape.hidden;
  sums.forEach((sum, model) => {
    for (let local = 0; local < place.sequences; local++) {
      const out = (place.firstSequence + local) * unit;
      for (let m = 0; m < place.samples; m++) {
        const from = instanceStart(shape, model, local, m);
        for (let i = 0; i < unit; i++) sum[out + i] += means[from + i];
      }
    }
  });
}

/** Copies the chunk's samples among the first `keep` into [sequence][kept sample][bin][hidden]. */
function copyKeptSamples(kept: Float32Array[], counts: Float32Array, place: ChunkPlace, shape: InstanceShape, keep: number): void {
  const unit = shape.bins * shape.hidden;
  const samples = Math.min(place.samples, keep - place.firstSample);
  kept.forEach((out, model) => {
    for (let local = 0; local < place.sequences; local++) {
      for (let m = 0; m < samples; m++) {
        const from = instanceStart(shape, model, local, m);
        const to = ((place.firstSequence + local) * keep + place.firstSample + m) * unit;
        out.set(counts.subarray(from, from + unit), to);
      }
    }
  });
}

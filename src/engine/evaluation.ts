// Evaluation of B fitted models on their test sequences: the marginal log-likelihood logsumexp_m(w_m) - ln M and
// the ELBO mean_m(w_m), per sequence, with both models switched to Poisson. M (2,000 in the paper) is drawn in chunks
// of samples small enough for the device, over chunks of sequences where all of them do not fit at once; each
// chunk's weights fold into a running log-sum-exp on the GPU.
import { NoisePurpose } from '../model/philox.js';
import { paramLayout, type ParamLayout } from '../model/params.js';
import { resolveMethod } from '../model/types.js';
import type { DeviceDataset } from './dataset.js';
import { VariationalJob } from './job.js';
import type { GpuSession } from './session.js';
import { jobLimitBytes, planEvaluation, type EvaluationPlan } from './sizing.js';
import type { JobSpec } from './spec.js';

export interface EvaluationMember {
  params: ArrayLike<number>;
  seed: number;
  /** First dataset row of this model's test sequences. */
  firstRow: number;
}

export interface EvaluationSpec {
  layout: ParamLayout;
  basis: number[];
  members: EvaluationMember[];
  /** Test sequences per member. */
  sequences: number;
  samples: number;
  /** Bytes the largest per-chunk buffer may take (default: the device's binding limit). */
  maxChunkBytes?: number;
  /** Raced against every chunk of samples: when aborted, the evaluation rejects with the signal's reason at once. */
  signal?: AbortSignal;
  /** Called after each chunk of samples: how many of the job's chunks are done. */
  onChunk?: (done: number, total: number) => void;
}

export interface EvaluationOutcome {
  /** [member][sequence] */
  marginalLogLikelihood: number[][];
  elbo: number[][];
  /** Submissions: chunks of samples times chunks of sequences. */
  chunks: number;
  samplesPerChunk: number;
  sequencesPerChunk: number;
}

export const POISSON = resolveMethod('poisson');

/** The evaluation job of models of `layout` on `sequences` test sequences, all but its models, chunks and samples. */
export function evaluationSpec(layout: ParamLayout, basis: number[], sequences: number): Omit<JobSpec, 'models' | 'chunkSlots' | 'samples'> {
  return {
    layout: paramLayout(layout.visible, layout.hidden, layout.scheme),
    basis,
    method: POISSON,
    slots: sequences,
    stepsPerEpoch: 1,
    noise: 'philox',
    mode: 'evaluate',
    purpose: NoisePurpose.evaluate,
  };
}

/** How `models` models evaluate on this device: models per job, sequences and samples per chunk. */
export function planModelEvaluation(
  session: GpuSession,
  layout: ParamLayout,
  basis: number[],
  shape: { models: number; sequences: number; bins: number; samples: number; staged: boolean },
  maxBytes?: number,
): EvaluationPlan {
  const bytes = jobLimitBytes(session.context.limits, maxBytes);
  return planEvaluation(evaluationSpec(layout, basis, shape.sequences), shape.bins, shape.models, shape.samples, bytes, shape.staged);
}

export async function evaluateGroup(session: GpuSession, dataset: DeviceDataset, spec: EvaluationSpec): Promise<EvaluationOutcome> {
  const evaluation = await ModelEvaluation.create(session, dataset, { ...spec, models: spec.members.length });
  try {
    return await evaluation.run(spec.members, spec.signal, spec.onChunk);
  } finally {
    evaluation.destroy();
  }
}

/**
 * One evaluation job kept for many runs over the same data with new parameters each time (training to convergence
 * scores its held-out sequences after every epoch): the job and its pipelines are made once.
 */
export class ModelEvaluation {
  private constructor(
    private readonly session: GpuSession,
    private readonly job: VariationalJob,
    private readonly plan: EvaluationPlan,
    private readonly spec: Omit<EvaluationSpec, 'members'> & { models: number },
  ) {}

  static async create(session: GpuSession, dataset: DeviceDataset, spec: Omit<EvaluationSpec, 'members'> & { models: number }): Promise<ModelEvaluation> {
    const { layout } = spec;
    if (!Number.isInteger(spec.samples) || spec.samples < 1) throw new Error(`samples must be a positive integer, got ${spec.samples}`);
    const B = spec.models;
    const plan = planModelEvaluation(session, layout, spec.basis, { models: B, sequences: spec.sequences, bins: dataset.bins, samples: spec.samples, staged: dataset.shards.length > 1 || dataset.onHost }, spec.maxChunkBytes);
    if (plan.modelsPerJob < B) throw new Error(`${B} models do not fit one evaluation job (at most ${plan.modelsPerJob}): evaluate them in groups`);
    const job = await VariationalJob.create(session, dataset, {
      ...evaluationSpec(layout, spec.basis, spec.sequences),
      models: B,
      chunkSlots: plan.chunkSlots,
      samples: plan.samplesPerChunk,
    });
    return new ModelEvaluation(session, job, plan, spec);
  }

  /** Scores `members` (as many as the job was made for); rejects with the signal's reason when it aborts. */
  async run(members: EvaluationMember[], signal?: AbortSignal, onChunk?: (done: number, total: number) => void): Promise<EvaluationOutcome> {
    const { job, plan, session } = this;
    const { layout, samples } = this.spec;
    const B = members.length;
    const S = this.spec.sequences;
    if (B !== this.spec.models) throw new Error(`this evaluation scores ${this.spec.models} models, got ${B}`);
    const chunk = plan.samplesPerChunk;
    const params = new Float32Array(B * layout.total);
    members.forEach((member, b) => {
      if (member.params.length !== layout.total) throw new Error(`members[${b}].params has ${member.params.length} values, expected ${layout.total}`);
      params.set(Array.from(member.params), b * layout.total);
    });
    job.writeParams(params);
    job.writeSeeds(Uint32Array.from(members, (member) => member.seed));
    const rows = new Uint32Array(B * S);
    members.forEach((member, b) => {
      for (let s = 0; s < S; s++) rows[b * S + s] = member.firstRow + s;
    });
    job.writeSchedule(rows);
    job.setStep(0);
    const marginal: number[][] = members.map(() => []);
    const elbo: number[][] = members.map(() => []);
    const total = plan.chunks * Math.ceil(samples / chunk);
    let submissions = 0;
    for (let sequenceChunk = 0; sequenceChunk < plan.chunks; sequenceChunk++) {
      job.resetEvidence();
      for (let offset = 0; offset < samples; offset += chunk) {
        signal?.throwIfAborted();
        job.setEvaluationChunk(sequenceChunk, offset, Math.min(chunk, samples - offset));
        await job.run(1, `evaluate samples from ${offset}`);
        // One chunk in flight at a time: a stop or a lost device is then seen within a chunk, not after the queue of
        // all of them drains (a chunk is milliseconds to seconds of work, so the wait between chunks costs little).
        await session.context.settle(`evaluating samples from ${offset}`, signal);
        submissions++;
        onChunk?.(submissions, total);
      }
      const evidence = await job.read('evidence');
      const first = sequenceChunk * plan.chunkSlots;
      for (let b = 0; b < B; b++) {
        for (let local = 0; local < plan.chunkSlots && first + local < S; local++) {
          const at = (b * plan.chunkSlots + local) * 4;
          const [max, sumExp, sumWeights, count] = evidence.subarray(at, at + 4);
          if (count !== samples) throw new Error(`evaluation accumulated ${count} samples for a sequence, expected ${samples}`);
          marginal[b].push(max + Math.log(sumExp) - Math.log(samples));
          elbo[b].push(sumWeights / samples);
        }
      }
    }
    return { marginalLogLikelihood: marginal, elbo, chunks: submissions, samplesPerChunk: chunk, sequencesPerChunk: plan.chunkSlots };
  }

  destroy(): void {
    this.job.destroy();
  }
}

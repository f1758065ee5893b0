// Evaluation of B fitted models on their test sequences: the marginal log-likelihood logsumexp_m(w_m) - ln M and
// the ELBO mean_m(w_m), per sequence, with both models switched to Poisson. M (2,000 in the paper) is drawn in chunks
// small enough for the device; each chunk's weights fold into a running log-sum-exp on the GPU.
import { paramLayout, type ParamLayout } from '../model/params.js';
import { resolveMethod } from '../model/types.js';
import { NoisePurpose } from '../model/philox.js';
import type { DeviceDataset } from './dataset.js';
import { ElboPipeline, type PipelineSpec } from './pipeline.js';
import { workspaceBytes } from './workspace.js';
import type { GpuSession } from './session.js';

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
  /** Bytes the largest per-chunk buffer may take (default: 128 MiB, or the device's binding limit if smaller). */
  maxChunkBytes?: number;
  /** Checked before every chunk of samples: when aborted, the evaluation rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface EvaluationOutcome {
  /** [member][sequence] */
  marginalLogLikelihood: number[][];
  elbo: number[][];
  chunks: number;
  samplesPerChunk: number;
}

export const POISSON = resolveMethod('poisson');

/** The most samples per chunk whose workspace stays within `bytes` (its size is affine in the samples). */
export function samplesPerChunk(spec: Omit<PipelineSpec, 'samples'>, bins: number, bytes: number, samples: number): number {
  const one = workspaceBytes({ ...spec, samples: 1 }, bins);
  const perSample = workspaceBytes({ ...spec, samples: 2 }, bins) - one;
  if (one > bytes) {
    throw new Error(
      `evaluating ${spec.models} models on ${spec.slots} sequences needs ${one} bytes for a single sample, over the limit of ${bytes}: ` +
        'evaluate fewer models or sequences at a time',
    );
  }
  return Math.max(1, Math.min(samples, 1 + Math.floor((bytes - one) / Math.max(perSample, 1))));
}

/** The evaluation pipeline of `models` models on `sequences` test sequences, all but its samples per chunk. */
function evaluationPipeline(layout: ParamLayout, basis: number[], models: number, sequences: number): Omit<PipelineSpec, 'samples'> {
  return {
    layout: paramLayout(layout.visible, layout.hidden, layout.scheme),
    basis,
    method: POISSON,
    models,
    slots: sequences,
    stepsPerEpoch: 1,
    noise: 'philox',
    mode: 'evaluate',
    purpose: NoisePurpose.evaluate,
  };
}

/** Bytes one evaluation buffer may take on this device: 128 MiB (what lavapipe binds), or less if the device says so. */
export function evaluationLimitBytes(session: GpuSession, maxChunkBytes?: number): number {
  return Math.min(session.context.limits.maxStorageBufferBindingSize, maxChunkBytes ?? 128 * 2 ** 20);
}

/** Samples a chunk should hold at least, where the models allow: fewer means more passes over the same data. */
const PREFERRED_CHUNK = 64;

/**
 * The most models one evaluation job may hold so that a chunk of min(samples, 64) samples still fits in `bytes`
 * (the workspace is affine in the models); at least 1, for which samplesPerChunk then finds what fits or says why not.
 */
export function modelsPerEvaluationJob(layout: ParamLayout, basis: number[], sequences: number, bins: number, samples: number, bytes: number): number {
  const chunk = Math.min(samples, PREFERRED_CHUNK);
  const one = workspaceBytes({ ...evaluationPipeline(layout, basis, 1, sequences), samples: chunk }, bins);
  const perModel = workspaceBytes({ ...evaluationPipeline(layout, basis, 2, sequences), samples: chunk }, bins) - one;
  if (one > bytes) return 1;
  return 1 + Math.floor((bytes - one) / Math.max(perModel, 1));
}

export async function evaluateGroup(session: GpuSession, dataset: DeviceDataset, spec: EvaluationSpec): Promise<EvaluationOutcome> {
  const { layout, members } = spec;
  if (!Number.isInteger(spec.samples) || spec.samples < 1) throw new Error(`samples must be a positive integer, got ${spec.samples}`);
  const B = members.length;
  const S = spec.sequences;
  const base = evaluationPipeline(layout, spec.basis, B, S);
  const chunk = samplesPerChunk(base, dataset.bins, evaluationLimitBytes(session, spec.maxChunkBytes), spec.samples);
  const pipeline = await ElboPipeline.create(session, dataset, { ...base, samples: chunk });
  try {
    const params = new Float32Array(B * layout.total);
    members.forEach((member, b) => {
      if (member.params.length !== layout.total) throw new Error(`members[${b}].params has ${member.params.length} values, expected ${layout.total}`);
      params.set(Array.from(member.params), b * layout.total);
    });
    pipeline.writeParams(params);
    pipeline.writeSeeds(Uint32Array.from(members, (member) => member.seed));
    const rows = new Uint32Array(B * S);
    members.forEach((member, b) => {
      for (let s = 0; s < S; s++) rows[b * S + s] = member.firstRow + s;
    });
    pipeline.writeSchedule(rows);
    pipeline.setStep(0);
    pipeline.resetEvidence();
    let chunks = 0;
    for (let offset = 0; offset < spec.samples; offset += chunk) {
      spec.signal?.throwIfAborted();
      pipeline.setSampleChunk(offset, Math.min(chunk, spec.samples - offset));
      await pipeline.run(1, `evaluate samples from ${offset}`);
      chunks++;
    }
    const evidence = await pipeline.read('evidence');
    const marginal: number[][] = [];
    const elbo: number[][] = [];
    for (let b = 0; b < B; b++) {
      marginal.push([]);
      elbo.push([]);
      for (let s = 0; s < S; s++) {
        const [max, sumExp, sumWeights, count] = evidence.subarray((b * S + s) * 4, (b * S + s) * 4 + 4);
        if (count !== spec.samples) throw new Error(`evaluation accumulated ${count} samples for a sequence, expected ${spec.samples}`);
        marginal[b].push(max + Math.log(sumExp) - Math.log(spec.samples));
        elbo[b].push(sumWeights / spec.samples);
      }
    }
    return { marginalLogLikelihood: marginal, elbo, chunks, samplesPerChunk: chunk };
  } finally {
    pipeline.destroy();
  }
}

// Scoring given hidden spikes on the GPU: ln p(X, Z) (with the firing rates lambda[t][n] if asked), and
// ln q(Z | X) — what evaluation needs for ground-truth metrics, and the generative model's log-likelihood for every
// distribution D of the spec.
import { describeValue } from '../model/data.js';
import type { ResolvedMethod } from '../model/types.js';
import type { ParamLayout } from '../model/params.js';
import type { DeviceDataset } from './dataset.js';
import { VariationalJob } from './job.js';
import type { JobMode } from './spec.js';
import { runSingleModelJob } from './single.js';
import type { GpuSession } from './session.js';
import { NoisePurpose } from '../model/philox.js';


export interface GivenSamplesRequest {
  layout: ParamLayout;
  basis: number[];
  method: ResolvedMethod;
  /** Flat parameters (src/model/params.ts); only theta matters for ln p, only phi for ln q. */
  params: ArrayLike<number>;
  /** Visible counts x[s][t][v]. */
  sequences: number[][][];
  /** Hidden values z[s][t][h]: counts or non-negative reals, or for Gumbel-Softmax points y[K] on the simplex. */
  hidden: (number | number[])[][][];
  /** Also return every rate lambda[s][t][n] (ln p only). */
  rates?: boolean;
}

/** Checks the hidden values against the method and lays them out as the samples buffer ([s][t][h][width]). */
export function flattenHiddenSamples(
  method: ResolvedMethod,
  hidden: (number | number[])[][][],
  shape: { sequences: number; bins: number; hidden: number },
  name = 'hidden',
): Float32Array {
  if (!Array.isArray(hidden) || hidden.length !== shape.sequences) {
    throw new Error(`${name} must have one entry per sequence (${shape.sequences})`);
  }
  const width = method.sampleWidth;
  const out = new Float32Array(shape.sequences * shape.bins * shape.hidden * width);
  const integer = method.method === 'poisson' || method.method === 'categorical';
  hidden.forEach((sequence, s) => {
    if (!Array.isArray(sequence) || sequence.length !== shape.bins) throw new Error(`${name}[${s}] must have ${shape.bins} time bins`);
    sequence.forEach((bin, t) => {
      if (!Array.isArray(bin) || bin.length !== shape.hidden) throw new Error(`${name}[${s}][${t}] must have ${shape.hidden} hidden units`);
      bin.forEach((value, h) => {
        const where = `${name}[${s}][${t}][${h}]`;
        const at = ((s * shape.bins + t) * shape.hidden + h) * width;
        if (method.info.gumbelSoftmax) {
          if (!Array.isArray(value) || value.length !== width) throw new Error(`${where} must be a point on the ${width}-simplex (an array of ${width} probabilities)`);
          const total = value.reduce((sum, p) => sum + p, 0);
          if (value.some((p) => !(p > 0) || !Number.isFinite(p)) || Math.abs(total - 1) > 1e-5) {
            throw new Error(`${where} must hold ${width} positive probabilities summing to 1`);
          }
          value.forEach((p, k) => (out[at + k] = Math.log(p / total)));
          return;
        }
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
          throw new Error(`${where} is ${describeValue(value)}: ${method.method} hidden spikes must be ${integer ? 'non-negative integers' : 'non-negative numbers'}`);
        }
        out[at] = value;
      });
    });
  });
  return out;
}

function runGiven<T>(
  session: GpuSession,
  request: GivenSamplesRequest,
  mode: JobMode,
  read: (job: VariationalJob, sequences: number, bins: number) => Promise<T>,
): Promise<T> {
  const sequences = request.sequences.length;
  const bins = Array.isArray(request.sequences[0]) ? request.sequences[0].length : 0;
  const samples = flattenHiddenSamples(request.method, request.hidden, { sequences, bins, hidden: request.layout.hidden });
  return runSingleModelJob(
    session,
    request,
    { samples: 1, noise: 'given', mode, purpose: NoisePurpose.evaluate, storeRates: request.rates ?? false },
    (job) => job.writeSamples(samples),
    (job) => read(job, sequences, bins),
  );
}

/** ln p(X, Z) per sequence for given hidden values, with lambda[s][t][n] when `rates` is set. */
export async function computeLogJoint(
  session: GpuSession,
  request: GivenSamplesRequest,
): Promise<{ logJoint: number[]; rates?: number[][][] }> {
  return runGiven(session, request, 'logJoint', async (job, sequences, bins) => {
    const weights = await job.read('sampleWeights');
    const result: { logJoint: number[]; rates?: number[][][] } = { logJoint: Array.from(weights.subarray(0, sequences)) };
    if (request.rates) {
      const N = request.layout.neurons;
      const rates = await job.read('rates');
      result.rates = Array.from({ length: sequences }, (_, s) =>
        Array.from({ length: bins }, (_, t) => Array.from(rates.subarray((s * bins + t) * N, (s * bins + t + 1) * N))),
      );
    }
    return result;
  });
}

/** ln q(Z | X) per sequence for given hidden values (FS reads their own history). */
export async function computeLogQ(session: GpuSession, request: GivenSamplesRequest): Promise<number[]> {
  return runGiven(session, request, 'logQ', async (job, sequences, bins) => {
    const terms = await job.read('weightTerms');
    return Array.from({ length: sequences }, (_, s) => {
      let total = 0;
      for (let t = 0; t < bins; t++) total -= terms[s * bins + t];
      return total;
    });
  });
}


/** Given hidden spikes of many models on one dataset: per member, its parameters, rows and hidden[s][t][h]. */
export interface GivenSamplesMember {
  params: ArrayLike<number>;
  firstRow: number;
  hidden: number[][][];
}

/**
 * ln p(X, Z) and ln q(Z | X) per sequence for many models of one shape at once (one job each), as evaluation needs
 * for its ground-truth metrics. Returns [member][sequence].
 */
export async function scoreGivenSamplesMany(
  session: GpuSession,
  dataset: DeviceDataset,
  spec: { layout: ParamLayout; basis: number[]; method: ResolvedMethod; sequences: number; members: GivenSamplesMember[] },
): Promise<{ logJoint: number[][]; logQ: number[][] }> {
  const { layout, method, members } = spec;
  const S = spec.sequences;
  const bins = dataset.bins;
  const width = method.sampleWidth;
  const perMember = S * bins * layout.hidden * width;
  const samples = new Float32Array(members.length * perMember);
  members.forEach((member, b) => {
    samples.set(flattenHiddenSamples(method, member.hidden, { sequences: S, bins, hidden: layout.hidden }, `members[${b}].hidden`), b * perMember);
  });
  const params = new Float32Array(members.length * layout.total);
  members.forEach((member, b) => {
    if (member.params.length !== layout.total) throw new Error(`members[${b}].params has ${member.params.length} values, expected ${layout.total}`);
    params.set(Array.from(member.params), b * layout.total);
  });
  const rows = Uint32Array.from({ length: members.length * S }, (_, i) => members[Math.floor(i / S)].firstRow + (i % S));
  const run = async (mode: 'logJoint' | 'logQ'): Promise<Float32Array> => {
    const job = await VariationalJob.create(session, dataset, {
      layout,
      basis: spec.basis,
      method,
      models: members.length,
      slots: S,
      samples: 1,
      stepsPerEpoch: 1,
      noise: 'given',
      mode,
      purpose: NoisePurpose.evaluate,
    });
    try {
      job.writeParams(params);
      job.writeSeeds(new Uint32Array(members.length));
      job.writeSchedule(rows);
      job.writeSamples(samples);
      job.setStep(0);
      await job.run(1, mode);
      return await job.read(mode === 'logJoint' ? 'sampleWeights' : 'weightTerms');
    } finally {
      job.destroy();
    }
  };
  const joint = await run('logJoint');
  const terms = await run('logQ');
  return {
    logJoint: members.map((_, b) => Array.from(joint.subarray(b * S, (b + 1) * S))),
    logQ: members.map((_, b) =>
      Array.from({ length: S }, (_, s) => {
        let total = 0;
        for (let t = 0; t < bins; t++) total -= terms[(b * S + s) * bins + t];
        return total;
      }),
    ),
  };
}

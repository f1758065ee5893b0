// One model run over a list of sequences in a single job (every sequence a slot, one step): the shape shared by
// computeElboGradient, computeLogJoint and computeLogQ. Uploads the data, runs, reads, and releases everything.
import type { ParamLayout } from '../model/params.js';
import type { ResolvedMethod } from '../model/types.js';
import { uploadDataset } from './dataset.js';
import { VariationalJob } from './job.js';
import type { JobSpec } from './spec.js';
import type { GpuSession } from './session.js';

export interface SingleModelRequest {
  layout: ParamLayout;
  basis: number[];
  method: ResolvedMethod;
  /** Flat parameters (src/model/params.ts). */
  params: ArrayLike<number>;
  /** Visible counts x[s][t][v]. */
  sequences: number[][][];
}

export async function runSingleModelJob<T>(
  session: GpuSession,
  request: SingleModelRequest,
  spec: Pick<JobSpec, 'samples' | 'noise' | 'mode' | 'purpose' | 'storeRates' | 'path'> & { seed?: number; step?: number },
  prepare: (job: VariationalJob) => void,
  read: (job: VariationalJob) => Promise<T>,
): Promise<T> {
  const { layout } = request;
  if (request.params.length !== layout.total) {
    throw new Error(`params has ${request.params.length} entries but the layout needs ${layout.total}`);
  }
  const dataset = await uploadDataset(session, [request.sequences], request.basis, 'sequences', { visible: layout.visible });
  const sequences = request.sequences.length;
  let job: VariationalJob | undefined;
  try {
    job = await VariationalJob.create(session, dataset, {
      layout,
      basis: request.basis,
      method: request.method,
      models: 1,
      slots: sequences,
      stepsPerEpoch: 1,
      samples: spec.samples,
      noise: spec.noise,
      mode: spec.mode,
      purpose: spec.purpose,
      storeRates: spec.storeRates,
      path: spec.path,
    });
    job.writeParams(Float32Array.from(request.params));
    job.writeSeeds(Uint32Array.of(spec.seed ?? 0));
    job.writeSchedule(Uint32Array.from({ length: sequences }, (_, s) => s));
    job.setStep(spec.step ?? 0);
    prepare(job);
    await job.run(1, spec.mode);
    return await read(job);
  } finally {
    job?.destroy();
    dataset.release();
  }
}

// Training B models of one group (same shape, scheme, method, samples, batch size and number of sequences) in one
// job: every step is the same fixed list of dispatches for all of them, each model with its own seed (noise, init,
// minibatch order), its own Adam moments and its own failure flag. The host writes each epoch's minibatch schedule
// and reads back only the per-step ELBOs and failure flags that progress reporting needs.
import type { ParamLayout } from '../model/params.js';
import type { ResolvedMethod } from '../model/types.js';
import { NoisePurpose } from '../model/philox.js';
import type { DeviceDataset } from './dataset.js';
import { NO_FAILURE, VariationalJob } from './job.js';
import { PAPER_ADAM, type AdamSettings } from '../model/adam.js';
import { epochSchedule, initialParams, stepsPerEpoch, type ScheduledFit } from '../model/schedule.js';
import type { GpuSession } from './session.js';

export interface GroupMember extends ScheduledFit {
  /** Starting parameters; default: the paper's initialisation from the seed. */
  init?: ArrayLike<number>;
}

export interface TrainingGroupSpec {
  layout: ParamLayout;
  basis: number[];
  method: ResolvedMethod;
  members: GroupMember[];
  batchSize: number;
  samples: number;
  epochs: number;
  adam?: AdamSettings;
  /** Most steps per submission (smaller: a more responsive interrupt and progress). */
  stepsPerSubmit?: number;
  /** Sequences per chunk of a minibatch (src/engine/sizing.ts planJobs); default the whole minibatch. */
  chunkSlots?: number;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  steps: number;
  /** Mean ELBO over the epoch's steps, per member (NaN once a member has failed). */
  elbo: Float64Array;
  /** Members that have stopped on a non-finite ELBO or gradient so far. */
  failed: number;
}

export interface MemberOutcome {
  params: Float64Array;
  elboHistory: number[];
  /** The first step whose ELBO or gradient was non-finite; the parameters are those before it. */
  failedAtStep?: number;
}

export interface TrainingOutcome {
  members: MemberOutcome[];
  epochsCompleted: number;
  steps: number;
  interrupted: boolean;
  dispatchesPerStep: number;
  stageNames: string[];
}

export function checkTrainingSpec(spec: TrainingGroupSpec): void {
  const sequences = new Set(spec.members.map((member) => member.sequences));
  if (sequences.size > 1) {
    const counts = spec.members.map((member, b) => `members[${b}]: ${member.sequences}`).join(', ');
    throw new Error(`a training group needs the same number of sequences for every member (${counts}): group fits by dataset shape`);
  }
  for (const [name, value] of Object.entries({ batchSize: spec.batchSize, samples: spec.samples, epochs: spec.epochs })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  if (spec.layout.hidden < 1) throw new Error('hidden must be at least 1: with no hidden neurons there is nothing to infer');
  if (spec.members.length === 0) throw new Error('a training group needs at least one member');
}

/** Trains every member; `signal` stops after the current submission, keeping what was learned. */
export async function trainGroup(
  session: GpuSession,
  dataset: DeviceDataset,
  spec: TrainingGroupSpec,
  options: { onEpoch?: (report: EpochReport) => void; signal?: AbortSignal; onStart?: (job: VariationalJob) => void } = {},
): Promise<TrainingOutcome> {
  checkTrainingSpec(spec);
  const { layout, members } = spec;
  const B = members.length;
  const sequences = members[0].sequences;
  const batchSize = Math.min(spec.batchSize, sequences);
  const steps = stepsPerEpoch(sequences, batchSize);
  const job = await VariationalJob.create(session, dataset, {
    layout,
    basis: spec.basis,
    method: spec.method,
    models: B,
    slots: batchSize,
    chunkSlots: spec.chunkSlots,
    samples: spec.samples,
    stepsPerEpoch: steps,
    noise: 'philox',
    mode: 'train',
    purpose: NoisePurpose.train,
    adam: spec.adam ?? PAPER_ADAM,
  });
  try {
    options.onStart?.(job);
    const params = new Float32Array(B * layout.total);
    members.forEach((member, b) => {
      const init = member.init ?? initialParams(layout, member.seed);
      if (init.length !== layout.total) throw new Error(`members[${b}].init has ${init.length} values, expected ${layout.total}`);
      params.set(Array.from(init), b * layout.total);
    });
    job.writeParams(params);
    job.writeSeeds(Uint32Array.from(members, (member) => member.seed));
    job.setStep(0);
    const histories: number[][] = members.map(() => []);
    const failedAt: (number | undefined)[] = members.map(() => undefined);
    const perSubmit = Math.max(1, Math.min(spec.stepsPerSubmit ?? steps, steps));
    let epochsCompleted = 0;
    let interrupted = false;
    for (let epoch = 0; epoch < spec.epochs && !interrupted; epoch++) {
      job.writeSchedule(epochSchedule(members, epoch, batchSize));
      let done = 0;
      while (done < steps) {
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        const count = Math.min(perSubmit, steps - done);
        await job.run(count, `epoch ${epoch + 1}`);
        done += count;
      }
      if (interrupted) break;
      const [history, failures] = await Promise.all([job.read('elboHistory'), job.readFailures()]);
      const elbo = new Float64Array(B);
      members.forEach((_, b) => {
        if (failures[b] !== NO_FAILURE && failedAt[b] === undefined) failedAt[b] = failures[b];
        let total = 0;
        for (let step = 0; step < steps; step++) total += history[step * B + b];
        elbo[b] = failedAt[b] === undefined ? total / steps : Number.NaN;
        if (failedAt[b] === undefined) histories[b].push(elbo[b]);
      });
      epochsCompleted = epoch + 1;
      options.onEpoch?.({ epoch: epoch + 1, epochs: spec.epochs, steps: epochsCompleted * steps, elbo, failed: failedAt.filter((f) => f !== undefined).length });
      if (failedAt.every((failure) => failure !== undefined)) break;
    }
    if (interrupted) {
      // Steps of an unfinished epoch may have gone non-finite too: the fit must say so, not only that it stopped.
      const failures = await job.readFailures();
      members.forEach((_, b) => {
        if (failures[b] !== NO_FAILURE && failedAt[b] === undefined) failedAt[b] = failures[b];
      });
    }
    const finalParams = await job.readParams();
    // The step counter says how many steps really ran (an interrupt can fall inside an epoch).
    const stepsRun = await job.readStep();
    return {
      members: members.map((_, b) => {
        const outcome: MemberOutcome = {
          params: Float64Array.from(finalParams.subarray(b * layout.total, (b + 1) * layout.total)),
          elboHistory: histories[b],
        };
        if (failedAt[b] !== undefined) outcome.failedAtStep = failedAt[b];
        return outcome;
      }),
      epochsCompleted,
      steps: stepsRun,
      interrupted,
      dispatchesPerStep: job.dispatchesPerStep,
      stageNames: job.stageNames,
    };
  } finally {
    job.destroy();
  }
}

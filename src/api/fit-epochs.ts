// Per-epoch models for `onEpoch` (FitEpoch): the parameters of a job's fits read back after an epoch and turned into
// one model each. Shared by the POGLM's and the GLM's training, whose jobs both hold their fits' parameters in rows.
import { buildModel } from '../model/json.js';
import type { ParamLayout } from '../model/params.js';
import type { ResolvedMethod } from '../model/types.js';
import type { FitEpoch } from './fit-jobs.js';

/** One fit of a job, as onEpoch names it. */
export interface EpochMember {
  index: number;
  label?: string;
  basis: number[];
}

export type EpochListener = (event: FitEpoch) => void | Promise<void>;

/**
 * Gives `listener` one event per member, in member order, from the job's parameter rows (`params`, member b at
 * b * layout.total) and the members' epoch means (NaN once failed: reported as null). Each event is awaited.
 */
export async function publishEpoch(
  listener: EpochListener,
  members: EpochMember[],
  shape: { layout: ParamLayout; method: ResolvedMethod; epochs: number },
  epoch: number,
  params: Float32Array,
  elbo: ArrayLike<number>,
): Promise<void> {
  const { layout, method, epochs } = shape;
  for (let b = 0; b < members.length; b++) {
    const member = members[b];
    const rows = Float64Array.from(params.subarray(b * layout.total, (b + 1) * layout.total));
    const event: FitEpoch = {
      index: member.index,
      epoch,
      epochs,
      elbo: Number.isFinite(elbo[b]) ? elbo[b] : null,
      model: buildModel({ layout, params: rows, method, basis: member.basis }),
    };
    if (member.label !== undefined) event.label = member.label;
    await listener(event);
  }
}

// Ground-truth metrics of the spec: mean absolute error of W and b after matching learned hidden neurons to true
// ones — the permutation of hidden indices that minimises the mean absolute W error (visible indices stay fixed).
import type { GenerativeParams } from './types.js';

/** All permutations of 0..n-1 (n! of them; the caller bounds n). */
export function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((rest) =>
    Array.from({ length: n }, (_, position) => [...rest.slice(0, position), n - 1, ...rest.slice(position)]),
  );
}

/** Learned parameters reindexed so that true hidden neuron k is learned hidden neuron `order[k]`. */
export function permuteHidden(params: GenerativeParams, visible: number, order: number[]): GenerativeParams {
  const index = (i: number): number => (i < visible ? i : visible + order[i - visible]);
  const N = params.bias.length;
  return {
    weight: Array.from({ length: N }, (_, i) => Array.from({ length: N }, (_, j) => params.weight[index(i)][index(j)])),
    bias: Array.from({ length: N }, (_, i) => params.bias[index(i)]),
  };
}

function meanAbsolute(a: number[], b: number[]): number {
  return a.reduce((sum, value, i) => sum + Math.abs(value - b[i]), 0) / a.length;
}

export interface ParameterErrors {
  weightError: number;
  biasError: number;
  /** order[k] = the learned hidden neuron matched to true hidden neuron k. */
  hiddenOrder: number[];
  /** Whether every permutation was searched (H <= 8) or a greedy match was used. */
  exhaustive: boolean;
}

/**
 * Matches hidden neurons by the permutation with the smallest mean |W - W_true| and reports the errors of W and b.
 * Up to 8 hidden neurons every permutation is tried (40,320); beyond, a greedy assignment by pairwise cost.
 */
export function parameterErrors(learned: GenerativeParams, truth: GenerativeParams, visible: number): ParameterErrors {
  const N = truth.bias.length;
  if (learned.bias.length !== N) {
    throw new Error(`the model has ${learned.bias.length} neurons but the ground truth has ${N}: compare models with the same visible and hidden counts`);
  }
  const hidden = N - visible;
  const trueWeights = truth.weight.flat();
  const cost = (order: number[]): number => meanAbsolute(permuteHidden(learned, visible, order).weight.flat(), trueWeights);
  let best: number[];
  let exhaustive = true;
  if (hidden <= 8) {
    best = permutations(hidden).reduce((a, b) => (cost(b) < cost(a) ? b : a));
  } else {
    exhaustive = false;
    best = [];
    const free = new Set(Array.from({ length: hidden }, (_, h) => h));
    for (let k = 0; k < hidden; k++) {
      let choice = -1;
      let choiceCost = Infinity;
      for (const candidate of free) {
        const trial = [...best, candidate, ...[...free].filter((h) => h !== candidate)];
        const value = cost(trial);
        if (value < choiceCost) {
          choiceCost = value;
          choice = candidate;
        }
      }
      best.push(choice);
      free.delete(choice);
    }
  }
  const matched = permuteHidden(learned, visible, best);
  return {
    weightError: meanAbsolute(matched.weight.flat(), trueWeights),
    biasError: meanAbsolute(matched.bias, truth.bias),
    hiddenOrder: best,
    exhaustive,
  };
}

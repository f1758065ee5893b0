// The paper's ground-truth metrics: mean absolute error of W and b after matching learned hidden neurons to true
// ones — the permutation of hidden indices that minimises the mean absolute W error (visible indices stay fixed).
import { DataError, describeValue } from './data.js';
import { logFactorialInteger } from './math.js';
import { EPS, type GenerativeParams } from './types.js';

/** All permutations of 0..n-1 (n! of them; the caller bounds n). */
function permutations(n: number): number[][] {
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

/** Checks that `truth` is {weight: N x N, bias: N} of finite numbers; `name` is the field or flag the user gave. */
export function checkTruth(truth: GenerativeParams, neurons: number, name: string): void {
  const fix = `give the true parameters of all ${neurons} neurons (visible first), as \`poglm synth\` writes them`;
  if (!truth || !Array.isArray(truth.bias) || !Array.isArray(truth.weight)) throw new DataError(`${name} must be {"weight": [[...]], "bias": [...]}: ${fix}`);
  if (truth.bias.length !== neurons) throw new DataError(`${name}.bias has ${truth.bias.length} entries but the model has ${neurons} neurons: ${fix}`);
  truth.bias.forEach((value, i) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new DataError(`${name}.bias[${i}] is ${describeValue(value)}: ${fix}`);
  });
  if (truth.weight.length !== neurons) throw new DataError(`${name}.weight has ${truth.weight.length} rows but the model has ${neurons} neurons: ${fix}`);
  truth.weight.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== neurons) throw new DataError(`${name}.weight[${i}] must be a row of ${neurons} numbers: ${fix}`);
    row.forEach((value, j) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new DataError(`${name}.weight[${i}][${j}] is ${describeValue(value)}: ${fix}`);
    });
  });
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
    let bestCost = Infinity;
    best = [];
    for (const order of permutations(hidden)) {
      const value = cost(order);
      if (value < bestCost) [best, bestCost] = [order, value];
    }
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

// ---- bits per spike against the homogeneous baseline ----
// Counts are Poisson with mean lambda = sigma(drive) (docs/gradients.md), so the homogeneous baseline is the same
// family with a constant rate per neuron: the bias-only GLM. Its maximum-likelihood rate has a closed form. For
// neuron v with mean training count xbar, ln p = sum_{s,t} [x ln(lambda+EPS) - lambda - ln x!] has derivative
// sum x/(lambda+EPS) - n, zero at lambda = xbar - EPS; sigma keeps lambda in (0, 1), so the supremum over the
// bias is at lambda = clamp(xbar - EPS, 0, 1) (a neuron that fired at least once per bin on average sits at the cap
// of one spike per bin; one that never fired at rate 0, where its silent bins cost nothing).

/** (LL - LL_baseline) / (spikes ln 2): the information per spike the model adds over the baseline, in bits. */
export function bitsPerSpike(logLikelihood: number, baseline: number, spikes: number): number {
  if (!(spikes > 0)) throw new DataError(`bits per spike needs a positive number of spikes, got ${describeValue(spikes)}`);
  return (logLikelihood - baseline) / (spikes * Math.LN2);
}

/** Total spikes of counts x[s][t][v]. */
export function countSpikes(data: number[][][]): number {
  let total = 0;
  for (const sequence of data) for (const row of sequence) for (const count of row) total += count;
  return total;
}

/** The homogeneous baseline's rate per neuron: the bias-only GLM's maximum-likelihood rate on `train` (above). */
export function homogeneousRates(train: number[][][]): number[] {
  if (train.length === 0 || train[0].length === 0) throw new DataError('the homogeneous baseline needs at least one training bin');
  const visible = train[0][0].length;
  const sums = new Array<number>(visible).fill(0);
  let bins = 0;
  for (const sequence of train) {
    for (const row of sequence) {
      row.forEach((count, v) => (sums[v] += count));
      bins++;
    }
  }
  return sums.map((sum) => Math.min(1, Math.max(0, sum / bins - EPS)));
}

/** ln p(X) of each sequence of `data` under independent Poisson counts with constant rates, ln x! included. */
export function homogeneousLogLikelihood(rates: number[], data: number[][][]): number[] {
  const logRates = rates.map((rate) => Math.log(rate + EPS));
  return data.map((sequence) => {
    let total = 0;
    for (const row of sequence) {
      row.forEach((count, v) => {
        if (v >= rates.length) throw new DataError(`the data has more neurons than the ${rates.length} rates of the baseline`);
        total += count * logRates[v] - rates[v] - logFactorialInteger(count);
      });
    }
    return total;
  });
}

export interface HomogeneousBaseline {
  /** Rate per neuron, from the training counts. */
  rates: number[];
  /** ln p of each test sequence under the baseline. */
  logLikelihood: number[];
  /** Spikes in the test data. */
  spikes: number;
}

/** The homogeneous baseline fitted on `train` and scored on `test`: what bits per spike is measured against. */
export function homogeneousBaseline(train: number[][][], test: number[][][]): HomogeneousBaseline {
  const rates = homogeneousRates(train);
  return { rates, logLikelihood: homogeneousLogLikelihood(rates, test), spikes: countSpikes(test) };
}

/** Bits per spike of per-sequence test log-likelihoods over a baseline of the same test sequences. */
export function bitsPerSpikeOver(logLikelihoods: number[], baseline: HomogeneousBaseline): number {
  if (logLikelihoods.length !== baseline.logLikelihood.length) {
    throw new DataError(`${logLikelihoods.length} log-likelihoods for ${baseline.logLikelihood.length} baseline sequences: score the same test sequences`);
  }
  const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
  return bitsPerSpike(sum(logLikelihoods), sum(baseline.logLikelihood), baseline.spikes);
}

// Evaluation with the spec's metrics: test marginal log-likelihood and test ELBO (both models switched to Poisson,
// M = 2,000 samples by default), and with ground truth the predicted complete log-likelihood ln p(X, Z_true), the
// hidden log-likelihood sum PoissonLL(z_true; mu), and the errors of W and b after matching hidden neurons.
import { uploadDataset } from '../engine/dataset.js';
import { evaluateGroup, planModelEvaluation, POISSON } from '../engine/evaluation.js';
import { isStaged, jobLimitBytes } from '../engine/sizing.js';
import { scoreGivenSamplesMany } from '../engine/likelihood.js';
import { withSession, type GpuSession } from '../engine/session.js';
import { DataError, describeValue, validateCounts } from '../model/data.js';
import { flattenModel, type FlatModel, type PoglmModelJson } from '../model/json.js';
import { checkTruth, parameterErrors } from '../model/metrics.js';
import type { GenerativeParams } from '../model/types.js';
import { mean, sampleVariance } from '../model/math.js';
import { evaluateGlm } from './glm.js';
import { readItemCounts, type SpikeCounts } from './counts.js';

export interface EvaluateOptions {
  /** Monte Carlo samples per test sequence; default 2,000. */
  samples?: number;
  seed?: number;
  session?: GpuSession;
  /** Checked between jobs and chunks of samples: when aborted, the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Bytes the largest buffer of one job may take; default the device's binding limit. */
  maxJobBytes?: number;
  /** Progress of the evaluation job running now: chunks of samples done of its total. */
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluateManyOptions extends EvaluateOptions {
  /**
   * Receives each batched job's metrics (complete, ground-truth scores included) as soon as they are known, so that
   * a caller keeps them past an interrupt; awaited before the next job.
   */
  onMetrics?: (done: { index: number; metrics: Metrics }[]) => void | Promise<void>;
  /**
   * Metrics an earlier, interrupted call on the same items computed, by item index: a job whose items all have them
   * is skipped and they are returned as given. Jobs are planned over all the items whatever is known, so the others
   * get exactly the metrics of a call that never stopped.
   */
  known?: ReadonlyMap<number, Metrics>;
}

export interface GroundTruth {
  /** True hidden spikes z[s][t][h] of the test sequences. */
  testHidden?: number[][][];
  /** True generative parameters over all N neurons. */
  truth?: GenerativeParams;
}

/** How many hidden neurons ground truth describes: its hidden spikes say, or else its parameters over V + H neurons. */
export function groundTruthHiddenCount(truth: GroundTruth, visible: number): number | undefined {
  if (truth.testHidden) return truth.testHidden[0]?.[0]?.length;
  return truth.truth ? truth.truth.bias.length - visible : undefined;
}

export interface Metrics {
  /** Mean over the test sequences of each one's marginal log-likelihood estimate. */
  testMarginalLogLikelihood: number;
  /**
   * Sample variance over the test sequences of their marginal log-likelihoods: with the mean, what standard errors
   * over seeds and sequences are made of (src/api/choice.ts).
   */
  testMarginalLogLikelihoodVariance?: number;
  /** Each test sequence's marginal log-likelihood: for paired comparisons of models on the same sequences. */
  testMarginalLogLikelihoodPerSequence?: number[];
  testElbo: number;
  predictedCompleteLogLikelihood?: number;
  hiddenLogLikelihood?: number;
  weightError?: number;
  biasError?: number;
  /** Bits per test spike over the homogeneous Poisson baseline (where the training data is known: grid, fit). */
  bitsPerSpikeOverHomogeneous?: number;
  /** Bits per test spike over the fully observed GLM fitted on the same data (grid with H = 0, fit --test). */
  bitsPerSpikeOverGlm?: number;
  sequences: number;
  samples: number;
}



export interface EvaluationItem extends GroundTruth {
  model: PoglmModelJson;
  /** Test sequences: nested arrays, a typed array with its shape, or a GPUBuffer of the session's device. */
  test: SpikeCounts;
}

/** An item whose test counts have been read into nested rows. */
type HostEvaluationItem = Omit<EvaluationItem, 'test'> & { test: number[][][] };

/**
 * Evaluates many models; those of one shape and scheme share batched jobs (as many models per job as the device's
 * buffers hold), each drawing its samples in chunks. Every input is checked before any GPU work starts.
 */
export async function evaluateMany(given: EvaluationItem[], options: EvaluateManyOptions = {}): Promise<Metrics[]> {
  if (!Array.isArray(given)) throw new Error(`evaluateMany takes an array of items, got ${describeValue(given)}`);
  const items: HostEvaluationItem[] = await readItemCounts(given, ['test'], options.session, (index) => (given.length > 1 ? `items[${index}].test` : 'test'));
  const glm = items.flatMap((item, index) => (item.model?.hidden === 0 ? [index] : []));
  if (glm.length === 0) return evaluatePoglmMany(items, options);
  // Fully observed GLMs (hidden 0) are scored exactly, one by one; the POGLMs go on in batched jobs.
  const rest = items.flatMap((item, index) => (item.model?.hidden === 0 ? [] : [index]));
  const metrics: Metrics[] = new Array(items.length);
  const known = options.known ?? new Map<number, Metrics>();
  if (rest.length > 0) {
    const restKnown = new Map(rest.flatMap((index, i) => (known.has(index) ? [[i, known.get(index)!] as const] : [])));
    const onMetrics = options.onMetrics && ((done: { index: number; metrics: Metrics }[]) => options.onMetrics!(done.map(({ index, metrics }) => ({ index: rest[index], metrics }))));
    const scored = await evaluatePoglmMany(
      rest.map((index) => items[index]),
      { ...options, known: restKnown, ...(onMetrics ? { onMetrics } : {}) },
    );
    scored.forEach((value, i) => (metrics[rest[i]] = value));
  }
  await withSession(options.session, async (session) => {
    for (const index of glm) {
      options.signal?.throwIfAborted();
      if (known.has(index)) {
        metrics[index] = known.get(index)!;
        continue;
      }
      const { model, test, truth } = items[index];
      metrics[index] = await evaluateGlm(model, test, { session, signal: options.signal, maxJobBytes: options.maxJobBytes, ...(truth ? { truth } : {}) });
      await options.onMetrics?.([{ index, metrics: metrics[index] }]);
    }
  });
  return metrics;
}

async function evaluatePoglmMany(items: HostEvaluationItem[], options: EvaluateManyOptions = {}): Promise<Metrics[]> {
  const samples = options.samples ?? 2000;
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`samples must be a positive integer, got ${samples}`);
  const groups = new Map<string, number[]>();
  const flats = items.map((item) => flattenModel(item.model));
  items.forEach((item, index) => {
    const name = (field: string): string => (items.length > 1 ? `items[${index}].${field}` : field);
    const flat = flats[index];
    if (flat.layout.hidden < 1) throw new DataError(`${name('model')} has no hidden neurons: there is no q to evaluate`);
    if (!item.model.variational) {
      throw new DataError(`${name('model')} has no variational part: evaluate a fitted model (as fit writes it), not a bare generative one`);
    }
    const shape = validateCounts(name('test'), item.test, { neurons: item.model.visible });
    if (item.testHidden) {
      validateCounts(name('testHidden'), item.testHidden, { neurons: flat.layout.hidden, bins: shape.bins, role: 'hidden' });
      if (item.testHidden.length !== shape.sequences) {
        throw new DataError(`${name('testHidden')} has ${item.testHidden.length} sequences but ${name('test')} has ${shape.sequences}: give the hidden spikes of the same test sequences`);
      }
    }
    if (item.truth) checkTruth(item.truth, flat.layout.neurons, name('truth'));
    const key = JSON.stringify([flat.layout.visible, flat.layout.hidden, flat.layout.scheme, shape.sequences, shape.bins, flat.basis]);
    groups.set(key, [...(groups.get(key) ?? []), index]);
  });
  const known = options.known ?? new Map<number, Metrics>();
  return withSession(options.session, async (session) => {
    const metrics: Metrics[] = new Array(items.length);
    for (const group of groups.values()) {
      const first = flats[group[0]];
      const sequences = items[group[0]].test.length;
      const bins = items[group[0]].test[0].length;
      // The rows a job uploads: each distinct test array once; over one buffer's worth they are staged per chunk.
      const rows = new Set(group.map((index) => items[index].test)).size * sequences;
      const staged = isStaged(rows, bins, first.layout.visible, jobLimitBytes(session.context.limits, options.maxJobBytes), first.layout.scheme === 'FB');
      const plan = planModelEvaluation(session, first.layout, first.basis, { models: group.length, sequences, bins, samples, staged }, options.maxJobBytes);
      const perJob = plan.modelsPerJob;
      for (let start = 0; start < group.length; start += perJob) {
        const indices = group.slice(start, start + perJob);
        for (const index of indices) if (known.has(index)) metrics[index] = known.get(index)!;
        if (indices.every((index) => known.has(index))) continue;
        options.signal?.throwIfAborted();
        const computed = await evaluateJob(session, items, flats, indices, samples, options);
        const fresh = indices.filter((index) => !known.has(index));
        for (const index of fresh) metrics[index] = withParameterErrors(computed.get(index)!, items[index]);
        await options.onMetrics?.(fresh.map((index) => ({ index, metrics: metrics[index] })));
      }
    }
    return metrics;
  });
}

/** With ground-truth parameters, the errors of W and b after matching hidden neurons. */
function withParameterErrors(metrics: Metrics, item: EvaluationItem): Metrics {
  if (!item.truth) return metrics;
  const errors = parameterErrors(item.model.generative, item.truth, item.model.visible);
  return { ...metrics, weightError: errors.weightError, biasError: errors.biasError };
}

/** One batched evaluation job: models of one shape on their test sequences, and their ground-truth scores. */
async function evaluateJob(
  session: GpuSession,
  items: HostEvaluationItem[],
  allFlats: FlatModel[],
  indices: number[],
  samples: number,
  options: EvaluateOptions,
): Promise<Map<number, Metrics>> {
  const metrics = new Map<number, Metrics>();
  const flats = indices.map((index) => allFlats[index]);
  const arrays: number[][][][] = [];
  const firstRow = indices.map((index) => {
    let position = arrays.indexOf(items[index].test);
    if (position < 0) position = arrays.push(items[index].test) - 1;
    return position * items[index].test.length;
  });
  const dataset = await uploadDataset(session, arrays, flats[0].basis, 'test', {}, { maxShardBytes: options.maxJobBytes, antiCausal: flats[0].layout.scheme === 'FB' });
  const sequences = items[indices[0]].test.length;
  try {
    const outcome = await evaluateGroup(session, dataset, {
      layout: flats[0].layout,
      basis: flats[0].basis,
      members: flats.map((flat, i) => ({ params: flat.params, seed: options.seed ?? 0, firstRow: firstRow[i] })),
      sequences,
      samples,
      signal: options.signal,
      maxChunkBytes: options.maxJobBytes,
      onChunk: options.onProgress,
    });
    indices.forEach((index, i) => {
      metrics.set(index, {
        testMarginalLogLikelihood: mean(outcome.marginalLogLikelihood[i]),
        testMarginalLogLikelihoodVariance: sampleVariance(outcome.marginalLogLikelihood[i]),
        testMarginalLogLikelihoodPerSequence: outcome.marginalLogLikelihood[i],
        testElbo: mean(outcome.elbo[i]),
        sequences,
        samples,
      });
    });
    // Ground truth: ln p(X, Z_true) and ln q(Z_true | X) with Poisson, all models of the job at once.
    const known = indices.map((index, i) => ({ index, i })).filter(({ index }) => items[index].testHidden);
    if (known.length > 0) {
      const scores = await scoreGivenSamplesMany(session, dataset, {
        layout: flats[0].layout,
        basis: flats[0].basis,
        method: POISSON,
        sequences,
        members: known.map(({ index, i }) => ({ params: flats[i].params, firstRow: firstRow[i], hidden: items[index].testHidden! })),
      });
      known.forEach(({ index }, k) => {
        metrics.get(index)!.predictedCompleteLogLikelihood = mean(scores.logJoint[k]);
        metrics.get(index)!.hiddenLogLikelihood = mean(scores.logQ[k]);
      });
    }
    return metrics;
  } finally {
    dataset.release();
  }
}

export async function evaluate(model: PoglmModelJson, test: SpikeCounts, options: EvaluateOptions & GroundTruth = {}): Promise<Metrics> {
  const [metrics] = await evaluateMany([{ model, test, testHidden: options.testHidden, truth: options.truth }], options);
  return metrics;
}

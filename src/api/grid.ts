// A grid of fits in one job: every (dataset, seed, scheme, method, hidden count) combination fitted with fitMany and
// evaluated with evaluateMany, then summarised as mean and standard deviation of each metric per combination.
import { evaluateMany, groundTruthHiddenCount, type EvaluationItem, type Metrics } from './evaluate.js';
import { fitMany, type CheckpointOptions, type FitCheckpoint, type FitJob, type FitManyOptions, type FitResult } from './fit.js';
import { checkFingerprint, checkFormat, decodeNumber, encodeNumber, hashCounts, hashJson, type EncodedNumber } from '../model/checkpoint.js';
import { validateCounts } from '../model/data.js';
import type { GenerativeParams, Method, Scheme } from '../model/types.js';
import { pooledPoint } from './choice.js';
import { baselineLogLikelihood, totalLogLikelihood } from './baselines.js';
import { mean, sampleVariance } from '../model/math.js';
import { bitsPerSpike, homogeneousBaseline } from '../model/metrics.js';

export interface GridDataset {
  /** "trial 3", or a file name. */
  name: string;
  train: number[][][];
  test: number[][][];
  testHidden?: number[][][];
  truth?: GenerativeParams;
}

export interface GridSpec {
  datasets: GridDataset[];
  seeds: number[];
  schemes: Scheme[];
  methods: Method[];
  hidden: number[];
  epochs?: number;
  batchSize?: number;
  samples?: number;
  /** Monte Carlo samples per test sequence in evaluation (default 2,000). */
  evalSamples?: number;
  /** History basis of every fit (default: exponential decay 0.25 over 5 bins). */
  basis?: number[];
  /** Adam's learning rates (default the paper's, 0.05 and 0.1). */
  learningRateGenerative?: number;
  learningRateVariational?: number;
}

export interface GridRow {
  dataset: string;
  seed: number;
  scheme: Scheme;
  method: Method;
  hidden: number;
  metrics?: Metrics;
  fit?: FitResult;
  /** Why the row has no metrics: a non-finite fit, or an interrupt before its fit or its evaluation ended. */
  problem?: string;
}

export const METRIC_NAMES = [
  'testMarginalLogLikelihood',
  'testElbo',
  'predictedCompleteLogLikelihood',
  'hiddenLogLikelihood',
  'weightError',
  'biasError',
  'bitsPerSpikeOverHomogeneous',
  'bitsPerSpikeOverGlm',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface SummaryRow {
  scheme: Scheme;
  method: Method;
  hidden: number;
  /** Fits with metrics. */
  fits: number;
  /** Fits without metrics: non-finite, or interrupted before fitting or evaluation ended (fits.csv says which). */
  failed: number;
  mean: Partial<Record<MetricName, number>>;
  sd: Partial<Record<MetricName, number>>;
  /** Standard error of the mean test marginal log-likelihood over seeds and test sequences (src/api/choice.ts). */
  marginalStandardError?: number;
}

export interface GridOptions extends Omit<FitManyOptions, 'checkpoint'> {
  /** Called once fitting is over, before evaluation starts: the rows with their fits (save the models here). */
  onFitted?: (rows: GridRow[]) => void;
  /** Called as each batched evaluation job's metrics arrive: rows evaluated so far, of those to evaluate. */
  onEvaluate?: (done: number, total: number) => void;
  /** Save the grid's progress as it goes (fits, then each evaluation job's metrics), and resume from a saved state. */
  checkpoint?: CheckpointOptions<GridCheckpoint>;
}

export const GRID_CHECKPOINT_FORMAT = 'poglm-gpu.grid-checkpoint';

/** A grid's progress: its fits' checkpoint and the metrics of the rows evaluated so far. Plain JSON data. */
export interface GridCheckpoint {
  format: typeof GRID_CHECKPOINT_FORMAT;
  version: 1;
  /** The grid's settings and hashes of every dataset: a resume of another grid is refused, naming what differs. */
  grid: GridFingerprint;
  /** fitMany's checkpoint of the grid's fits, one job per row in row order. */
  fit: FitCheckpoint;
  /** Metrics of the rows evaluated so far, by row index; each value as encodeNumber writes it (JSON has no NaN). */
  metrics: { row: number; metrics: Record<string, EncodedNumber | EncodedNumber[]> }[];
}

export interface GridFingerprint {
  seeds: number[];
  schemes: Scheme[];
  methods: Method[];
  hidden: number[];
  epochs: number | null;
  batchSize: number | null;
  samples: number | null;
  evalSamples: number;
  /** Each dataset's name and hashes of its data and ground truth (null where it has none). */
  datasets: { name: string; train: string; test: string; testHidden: string | null; truth: string | null }[];
}

/** Evaluation's Monte Carlo samples per test sequence by default (evaluateMany's). */
const DEFAULT_EVAL_SAMPLES = 2000;

function gridFingerprint(spec: GridSpec): GridFingerprint {
  return {
    seeds: spec.seeds,
    schemes: spec.schemes,
    methods: spec.methods,
    hidden: spec.hidden,
    epochs: spec.epochs ?? null,
    batchSize: spec.batchSize ?? null,
    samples: spec.samples ?? null,
    evalSamples: spec.evalSamples ?? DEFAULT_EVAL_SAMPLES,
    datasets: spec.datasets.map((dataset) => ({
      name: dataset.name,
      train: hashCounts(dataset.train),
      test: hashCounts(dataset.test),
      testHidden: dataset.testHidden ? hashCounts(dataset.testHidden) : null,
      truth: dataset.truth ? hashJson(dataset.truth) : null,
    })),
  };
}

const PER_SEQUENCE = 'testMarginalLogLikelihoodPerSequence';

function encodeMetrics(metrics: Metrics): Record<string, EncodedNumber | EncodedNumber[]> {
  return Object.fromEntries(Object.entries(metrics).map(([name, value]) => [name, Array.isArray(value) ? value.map(encodeNumber) : encodeNumber(value as number)]));
}

function decodeMetrics(encoded: Record<string, unknown>, where: string): Metrics {
  const known = new Set<string>([...METRIC_NAMES, 'sequences', 'samples', 'testMarginalLogLikelihoodVariance']);
  const entries = Object.entries(encoded).map(([name, value]) => {
    if (name === PER_SEQUENCE) {
      if (!Array.isArray(value)) throw new Error(`${where}.${name} must be an array`);
      return [name, value.map((item, i) => decodeNumber(item, `${where}.${name}[${i}]`))];
    }
    if (!known.has(name)) throw new Error(`${where}.${name} is not a metric`);
    return [name, decodeNumber(value, `${where}.${name}`)];
  });
  return Object.fromEntries(entries) as unknown as Metrics;
}

/** A grid's checkpoint as it grows: the fits' state from fitMany, then each evaluation job's metrics. */
class GridLedger {
  readonly metrics = new Map<number, Metrics>();
  private fit?: FitCheckpoint;

  private constructor(private readonly checkpoint?: { grid: GridFingerprint; options: CheckpointOptions<GridCheckpoint> }) {}

  static open(spec: GridSpec, rows: number, options?: CheckpointOptions<GridCheckpoint>): GridLedger {
    if (!options) return new GridLedger();
    if (typeof options.save !== 'function') throw new Error('checkpoint.save must be a function that keeps each state');
    const grid = gridFingerprint(spec);
    const ledger = new GridLedger({ grid, options });
    const state = options.resume;
    if (state === undefined) return ledger;
    checkFormat(state, GRID_CHECKPOINT_FORMAT, 'checkpoint.resume');
    checkFingerprint('the grid', state.grid, grid, 'grid');
    ledger.fit = state.fit;
    state.metrics.forEach(({ row, metrics }, i) => {
      if (!Number.isInteger(row) || row < 0 || row >= rows) throw new Error(`checkpoint.resume.metrics[${i}].row is ${JSON.stringify(row)}, not a row of this grid`);
      ledger.metrics.set(row, decodeMetrics(metrics, `checkpoint.resume.metrics[${i}].metrics`));
    });
    return ledger;
  }

  /** fitMany's checkpoint options: its every save becomes a save of the grid. */
  fitCheckpoint(): CheckpointOptions<FitCheckpoint> | undefined {
    if (!this.checkpoint) return undefined;
    return {
      every: this.checkpoint.options.every,
      resume: this.fit,
      save: async (state) => {
        this.fit = state;
        await this.save();
      },
    };
  }

  /** Saves the grid: nothing before fitMany's first save, which every later state builds on. */
  async save(): Promise<void> {
    if (!this.checkpoint || !this.fit) return;
    const metrics = [...this.metrics.entries()].sort(([a], [b]) => a - b).map(([row, values]) => ({ row, metrics: encodeMetrics(values) }));
    await this.checkpoint.options.save({ format: GRID_CHECKPOINT_FORMAT, version: 1, grid: this.checkpoint.grid, fit: this.fit, metrics });
  }
}

/** One row and one fit job per (dataset, hidden count, scheme, method, seed), in that nesting. */
function gridJobs(spec: GridSpec): { rows: GridRow[]; jobs: FitJob[] } {
  const rows: GridRow[] = [];
  const jobs: FitJob[] = [];
  for (const dataset of spec.datasets) {
    for (const hidden of spec.hidden) {
      for (const scheme of spec.schemes) {
        for (const method of spec.methods) {
          for (const seed of spec.seeds) {
            rows.push({ dataset: dataset.name, seed, scheme, method, hidden });
            jobs.push({
              train: dataset.train,
              hidden,
              scheme,
              method,
              seed,
              epochs: spec.epochs,
              batchSize: spec.batchSize,
              samples: spec.samples,
              basis: spec.basis,
              learningRateGenerative: spec.learningRateGenerative,
              learningRateVariational: spec.learningRateVariational,
              label: `${dataset.name} seed ${seed} ${scheme}/${method} H=${hidden}`,
            });
          }
        }
      }
    }
  }
  return { rows, jobs };
}

/** What evaluates a row's fit: its test data, and ground truth where it describes a model of the row's shape. */
function evaluationItem(dataset: GridDataset, row: GridRow): EvaluationItem {
  // Ground truth applies to a fit with the dataset's true number of hidden neurons.
  const matches = groundTruthHiddenCount(dataset, dataset.train[0][0].length) === row.hidden;
  return {
    model: row.fit!.model,
    test: dataset.test,
    ...(matches && dataset.testHidden ? { testHidden: dataset.testHidden } : {}),
    ...(matches && dataset.truth ? { truth: dataset.truth } : {}),
  };
}

/**
 * Fits every combination in one fitMany job, then evaluates the fits that finished. The test data is checked before
 * any fitting; an interrupt (options.signal) during evaluation keeps the fits and the metrics of the evaluation jobs
 * that finished, and marks the rows without metrics. With `options.checkpoint`, a grid resumed from its last save
 * skips the fits and evaluations already done and ends with exactly the rows of a grid that never stopped.
 */
export async function runGrid(spec: GridSpec, options: GridOptions = {}): Promise<GridRow[]> {
  const rows = await fitAndEvaluate(spec, options);
  withBaselines(rows, spec.datasets);
  return rows;
}

/**
 * Each evaluated row's test log-likelihood in bits per test spike over the homogeneous Poisson baseline (a constant
 * rate per neuron from its training data) and, where the grid has the hidden-0 fit of the same dataset and seed, over
 * that fully observed GLM: what the hidden neurons add.
 */
export function withBaselines(rows: GridRow[], datasets: GridDataset[]): void {
  for (const dataset of datasets) {
    const baseline = homogeneousBaseline(dataset.train, dataset.test);
    if (!(baseline.spikes > 0)) continue;
    const glm = new Map(rows.flatMap((row) => (row.dataset === dataset.name && row.hidden === 0 && row.metrics ? [[row.seed, totalLogLikelihood(row.metrics)] as const] : [])));
    const homogeneous = baselineLogLikelihood(baseline);
    for (const row of rows) {
      if (row.dataset !== dataset.name || !row.metrics) continue;
      const total = totalLogLikelihood(row.metrics);
      const metrics: Metrics = { ...row.metrics, bitsPerSpikeOverHomogeneous: bitsPerSpike(total, homogeneous, baseline.spikes) };
      const reference = glm.get(row.seed);
      if (reference !== undefined) metrics.bitsPerSpikeOverGlm = bitsPerSpike(total, reference, baseline.spikes);
      row.metrics = metrics;
    }
  }
}

async function fitAndEvaluate(spec: GridSpec, options: GridOptions): Promise<GridRow[]> {
  spec.datasets.forEach((dataset) => {
    const train = validateCounts(`${dataset.name}: train`, dataset.train);
    validateCounts(`${dataset.name}: test`, dataset.test, { neurons: train.neurons });
  });
  const { rows, jobs } = gridJobs(spec);
  const ledger = GridLedger.open(spec, rows.length, options.checkpoint);
  const fits = await fitMany(jobs, { ...options, checkpoint: ledger.fitCheckpoint() });
  const evaluable: number[] = [];
  rows.forEach((row, index) => {
    const result = fits[index];
    if (!result) row.problem = 'not fitted (interrupted)';
    else {
      row.fit = result;
      if (result.failure) row.problem = result.failure.message;
      else if (!result.interrupted) evaluable.push(index);
      else row.problem = 'interrupted during fitting';
    }
  });
  options.onFitted?.(rows);
  for (const index of evaluable) if (ledger.metrics.has(index)) rows[index].metrics = ledger.metrics.get(index);
  const notEvaluated = (): void => {
    for (const index of evaluable) if (!rows[index].metrics) rows[index].problem = 'fitted, not evaluated (interrupted)';
  };
  if (evaluable.length === 0) return rows;
  if (options.signal?.aborted) {
    notEvaluated();
    return rows;
  }
  // evaluateMany's items are the evaluable rows in order: item i is row evaluable[i].
  const known = new Map(evaluable.flatMap((row, item) => (rows[row].metrics ? [[item, rows[row].metrics!] as const] : [])));
  const byName = new Map(spec.datasets.map((dataset) => [dataset.name, dataset]));
  let done = known.size;
  try {
    await evaluateMany(
      evaluable.map((index) => evaluationItem(byName.get(rows[index].dataset)!, rows[index])),
      {
        session: options.session,
        samples: spec.evalSamples ?? DEFAULT_EVAL_SAMPLES,
        seed: 0,
        signal: options.signal,
        // The limit is on every job of the grid, evaluation's too.
        maxJobBytes: options.maxJobBytes,
        known,
        onMetrics: async (batch) => {
          for (const { index, metrics } of batch) {
            rows[evaluable[index]].metrics = metrics;
            ledger.metrics.set(evaluable[index], metrics);
          }
          await ledger.save();
          done += batch.length;
          options.onEvaluate?.(done, evaluable.length);
        },
      },
    );
  } catch (error) {
    if (!options.signal?.aborted) throw error;
    notEvaluated();
    return rows;
  }
  // A resumed grid whose every row was evaluated already reports that once.
  if (known.size === evaluable.length) options.onEvaluate?.(evaluable.length, evaluable.length);
  return rows;
}

const sd = (values: number[]): number => Math.sqrt(sampleVariance(values));

/** Mean and sample standard deviation of every metric per (scheme, method, hidden). */
export function summarise(rows: GridRow[]): SummaryRow[] {
  const groups = new Map<string, GridRow[]>();
  for (const row of rows) {
    const key = `${row.scheme}|${row.method}|${row.hidden}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((group) => {
    const summary: SummaryRow = {
      scheme: group[0].scheme,
      method: group[0].method,
      hidden: group[0].hidden,
      fits: group.filter((row) => row.metrics).length,
      failed: group.filter((row) => !row.metrics).length,
      mean: {},
      sd: {},
    };
    for (const name of METRIC_NAMES) {
      const values = group.map((row) => row.metrics?.[name]).filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
      if (values.length > 0) {
        summary.mean[name] = mean(values);
        summary.sd[name] = sd(values);
      }
    }
    const evaluated = group.flatMap((row) => (row.metrics && Number.isFinite(row.metrics.testMarginalLogLikelihood) ? [row.metrics] : []));
    if (evaluated.length > 0) summary.marginalStandardError = pooledPoint(group[0].hidden, evaluated).standardError;
    return summary;
  });
}

const CSV_HEADER = ['dataset', 'seed', 'scheme', 'method', 'hidden', ...METRIC_NAMES, 'epochs', 'problem'];

export function rowsToCsv(rows: GridRow[]): string {
  const escape = (value: unknown): string => {
    const text = value === undefined ? '' : String(value);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [
    CSV_HEADER.join(','),
    ...rows.map((row) =>
      [row.dataset, row.seed, row.scheme, row.method, row.hidden, ...METRIC_NAMES.map((name) => row.metrics?.[name]), row.fit?.epochsCompleted, row.problem]
        .map(escape)
        .join(','),
    ),
  ].join('\n');
}

export function summaryToCsv(summary: SummaryRow[]): string {
  const header = ['scheme', 'method', 'hidden', 'fits', 'failed', ...METRIC_NAMES.flatMap((name) => [`${name}_mean`, `${name}_sd`]), 'testMarginalLogLikelihood_se'];
  return [
    header.join(','),
    ...summary.map((row) =>
      [
        row.scheme,
        row.method,
        row.hidden,
        row.fits,
        row.failed,
        ...METRIC_NAMES.flatMap((name) => [row.mean[name] ?? '', row.sd[name] ?? '']),
        row.marginalStandardError ?? '',
      ].join(','),
    ),
  ].join('\n');
}

const LABELS: Record<MetricName, string> = {
  testMarginalLogLikelihood: 'test marginal LL',
  testElbo: 'test ELBO',
  predictedCompleteLogLikelihood: 'pred. complete LL',
  hiddenLogLikelihood: 'hidden LL',
  weightError: 'W error',
  biasError: 'b error',
  bitsPerSpikeOverHomogeneous: 'bits/spike vs homog.',
  bitsPerSpikeOverGlm: 'bits/spike vs GLM',
};

/** Decimals a metric is shown with: bits per spike are small numbers, errors mid-sized, log-likelihoods large. */
const digits = (name: MetricName): number => (name.startsWith('bits') ? 4 : name.endsWith('Error') ? 3 : 2);

export function summaryToMarkdown(summary: SummaryRow[]): string {
  const present = METRIC_NAMES.filter((name) => summary.some((row) => row.mean[name] !== undefined));
  const cell = (row: SummaryRow, name: MetricName): string =>
    row.mean[name] === undefined ? '' : `${row.mean[name]!.toFixed(digits(name))} ± ${row.sd[name]!.toFixed(digits(name))}`;
  return [
    `| scheme | method | H | fits | ${present.map((name) => LABELS[name]).join(' | ')} |`,
    `|---|---|---|---|${present.map(() => '---').join('|')}|`,
    ...summary.map((row) => `| ${row.scheme} | ${row.method} | ${row.hidden} | ${row.fits}${row.failed ? ` (${row.failed} without metrics)` : ''} | ${present.map((name) => cell(row, name)).join(' | ')} |`),
  ].join('\n');
}

// A grid of fits in one job: every (dataset, seed, scheme, method, hidden count) combination fitted with fitMany and
// evaluated with evaluateMany, then summarised as mean and standard deviation of each metric per combination.
import { evaluateMany, groundTruthHiddenCount, type Metrics } from './evaluate.js';
import { fitMany, type FitJob, type FitManyOptions, type FitResult } from './fit.js';
import { validateCounts } from '../model/data.js';
import type { GenerativeParams, Method, Scheme } from '../model/types.js';

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
}

export interface GridOptions extends FitManyOptions {
  /** Called once fitting is over, before evaluation starts: the rows with their fits (save the models here). */
  onFitted?: (rows: GridRow[]) => void;
  onEvaluate?: (done: number, total: number) => void;
}

/**
 * Fits every combination in one fitMany job, then evaluates the fits that finished. The test data is checked before
 * any fitting; an interrupt (options.signal) during evaluation keeps the fits and marks the rows without metrics.
 */
export async function runGrid(spec: GridSpec, options: GridOptions = {}): Promise<GridRow[]> {
  spec.datasets.forEach((dataset) => {
    const train = validateCounts(`${dataset.name}: train`, dataset.train);
    validateCounts(`${dataset.name}: test`, dataset.test, { neurons: train.neurons });
  });
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
              label: `${dataset.name} seed ${seed} ${scheme}/${method} H=${hidden}`,
            });
          }
        }
      }
    }
  }
  const fits = await fitMany(jobs, options);
  const byName = new Map(spec.datasets.map((dataset) => [dataset.name, dataset]));
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
  const notEvaluated = (): void => evaluable.forEach((index) => (rows[index].problem = 'fitted, not evaluated (interrupted)'));
  if (evaluable.length === 0) return rows;
  if (options.signal?.aborted) {
    notEvaluated();
    return rows;
  }
  let metrics: Metrics[];
  try {
    metrics = await evaluateMany(
      evaluable.map((index) => {
        const dataset = byName.get(rows[index].dataset)!;
        // Ground truth applies to a fit with the dataset's true number of hidden neurons.
        const matches = groundTruthHiddenCount(dataset, dataset.train[0][0].length) === rows[index].hidden;
        return {
          model: fits[index].model,
          test: dataset.test,
          ...(matches && dataset.testHidden ? { testHidden: dataset.testHidden } : {}),
          ...(matches && dataset.truth ? { truth: dataset.truth } : {}),
        };
      }),
      { session: options.session, samples: spec.evalSamples, seed: 0, signal: options.signal },
    );
  } catch (error) {
    if (!options.signal?.aborted) throw error;
    notEvaluated();
    return rows;
  }
  evaluable.forEach((index, i) => (rows[index].metrics = metrics[i]));
  options.onEvaluate?.(evaluable.length, evaluable.length);
  return rows;
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const sd = (values: number[]): number => {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
};

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
  const header = ['scheme', 'method', 'hidden', 'fits', 'failed', ...METRIC_NAMES.flatMap((name) => [`${name}_mean`, `${name}_sd`])];
  return [
    header.join(','),
    ...summary.map((row) =>
      [row.scheme, row.method, row.hidden, row.fits, row.failed, ...METRIC_NAMES.flatMap((name) => [row.mean[name] ?? '', row.sd[name] ?? ''])].join(','),
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
};

export function summaryToMarkdown(summary: SummaryRow[]): string {
  const present = METRIC_NAMES.filter((name) => summary.some((row) => row.mean[name] !== undefined));
  const cell = (row: SummaryRow, name: MetricName): string =>
    row.mean[name] === undefined ? '' : `${row.mean[name]!.toFixed(name.endsWith('Error') ? 3 : 2)} ± ${row.sd[name]!.toFixed(name.endsWith('Error') ? 3 : 2)}`;
  return [
    `| scheme | method | H | fits | ${present.map((name) => LABELS[name]).join(' | ')} |`,
    `|---|---|---|---|${present.map(() => '---').join('|')}|`,
    ...summary.map((row) => `| ${row.scheme} | ${row.method} | ${row.hidden} | ${row.fits}${row.failed ? ` (${row.failed} without metrics)` : ''} | ${present.map((name) => cell(row, name)).join(' | ')} |`),
  ].join('\n');
}

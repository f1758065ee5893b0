// The points of an H-sweep plot from a grid's tables: summary.csv (mean and sd of each metric per scheme, method and
// hidden count) or fits.csv (one row per fit), as `poglm grid` writes them. Each point is a mean with its standard
// error, sd / sqrt(n) over fits (for the marginal likelihood, the grid's own standard error over seeds and test
// sequences): the sd says how fits spread, the standard error how well the mean is known, and that is what a
// comparison of H values needs.
import { DataError } from '../model/data.js';
import { parseCsv, type CsvTable } from './csv.js';

export interface SweepPoint {
  /** "scheme/method": one line per series. */
  series: string;
  hidden: number;
  mean: number;
  standardError: number;
  /** The fits the mean is over. */
  fits: number;
}

export interface SweepTable {
  kind: 'summary' | 'fits';
  /** The metrics the table has a column for. */
  metrics: string[];
  table: CsvTable;
  source: string;
}

const MEAN = '_mean';
const KEYS = ['scheme', 'method', 'hidden'];
/** Columns of fits.csv that are not metrics. */
const FIT_COLUMNS = new Set(['dataset', 'seed', 'scheme', 'method', 'hidden', 'epochs', 'problem']);

/** Reads a grid table, telling summary.csv from fits.csv by its header; `source` names the file in errors. */
export function parseSweepCsv(text: string, source: string): SweepTable {
  const table = parseCsv(text, source);
  const missing = KEYS.filter((key) => !table.header.includes(key));
  const summaryMetrics = table.header.filter((name) => name.endsWith(MEAN) && table.header.includes(`${name.slice(0, -MEAN.length)}_sd`)).map((name) => name.slice(0, -MEAN.length));
  if (missing.length === 0 && summaryMetrics.length > 0 && table.header.includes('fits')) return { kind: 'summary', metrics: summaryMetrics, table, source };
  if (missing.length === 0 && table.header.includes('seed')) return { kind: 'fits', metrics: table.header.filter((name) => !FIT_COLUMNS.has(name)), table, source };
  throw new DataError(
    `${source} is neither a grid's summary.csv (columns scheme, method, hidden, fits, <metric>_mean, <metric>_sd) nor its fits.csv (dataset, seed, scheme, method, hidden, <metrics>); its header is ${table.header.slice(0, 8).join(',')}${table.header.length > 8 ? ',...' : ''}`,
  );
}

/** A number of the table; an empty cell (no finite value, as the grid writes it) and NaN are undefined. */
function numberAt(table: SweepTable, line: number, column: string, value: string): number | undefined {
  if (value === '' || value === 'NaN') return undefined;
  const number = Number(value);
  if (Number.isNaN(number)) throw new DataError(`${table.source}:${line}: ${column} is "${value.slice(0, 40)}", not a number`);
  return Number.isFinite(number) ? number : undefined;
}

function hiddenAt(table: SweepTable, line: number, value: string): number {
  const hidden = Number(value);
  if (value === '' || !Number.isInteger(hidden) || hidden < 0) throw new DataError(`${table.source}:${line}: hidden is "${value.slice(0, 40)}", not a count of hidden neurons`);
  return hidden;
}

function summaryPoints(table: SweepTable, metric: string): SweepPoint[] {
  return table.table.records.flatMap(({ line, values }) => {
    const mean = numberAt(table, line, `${metric}_mean`, values[`${metric}_mean`]);
    const sd = numberAt(table, line, `${metric}_sd`, values[`${metric}_sd`]);
    const fits = numberAt(table, line, 'fits', values.fits);
    // A row whose fits all failed has no mean: nothing to draw.
    if (mean === undefined || fits === undefined || fits < 1) return [];
    // The marginal likelihood's own column is the standard error over seeds and test sequences, which the grid
    // pools from every fit's per-sequence values: it is what the grid's choice of H uses.
    const pooled = metric === 'testMarginalLogLikelihood' && values[`${metric}_se`] ? numberAt(table, line, `${metric}_se`, values[`${metric}_se`]) : undefined;
    // Otherwise the summary's count is of fits with metrics; a metric that was non-finite in some of them had fewer
    // values, so this standard error can be slightly small. fits.csv gives the exact one.
    const standardError = pooled ?? (sd ?? 0) / Math.sqrt(fits);
    return [{ series: `${values.scheme}/${values.method}`, hidden: hiddenAt(table, line, values.hidden), mean, standardError, fits }];
  });
}

function fitsPoints(table: SweepTable, metric: string): SweepPoint[] {
  const groups = new Map<string, { series: string; hidden: number; values: number[] }>();
  for (const { line, values } of table.table.records) {
    const series = `${values.scheme}/${values.method}`;
    const hidden = hiddenAt(table, line, values.hidden);
    const key = `${series}|${hidden}`;
    const group = groups.get(key) ?? { series, hidden, values: [] };
    groups.set(key, group);
    const value = numberAt(table, line, metric, values[metric]);
    if (value !== undefined) group.values.push(value);
  }
  return [...groups.values()]
    .filter((group) => group.values.length > 0)
    .map(({ series, hidden, values }) => {
      const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
      const sd = values.length < 2 ? 0 : Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
      return { series, hidden, mean, standardError: sd / Math.sqrt(values.length), fits: values.length };
    });
}

/** Mean ± standard error of `metric` per series and hidden count, ordered by series, then H. */
export function sweepPoints(table: SweepTable, metric: string): SweepPoint[] {
  if (!table.metrics.includes(metric)) throw new DataError(`${table.source} has no metric ${metric}; it has ${table.metrics.join(', ')}`);
  const points = table.kind === 'summary' ? summaryPoints(table, metric) : fitsPoints(table, metric);
  return points.sort((a, b) => (a.series < b.series ? -1 : a.series > b.series ? 1 : a.hidden - b.hidden));
}

// The H-sweep: a metric against the number of hidden neurons, mean ± standard error over fits, one line per
// scheme/method. Series are drawn a few pixels apart at each H, so that error bars of equal H do not hide each other.
import type { Spec } from 'vega';
import type { SweepPoint } from './sweep-table.js';
import { PLOT_CONFIG, SERIES_SCHEME } from './style.js';

/** How the metrics `poglm grid` writes read on an axis; another metric is shown by its column name. */
const METRIC_TITLES: Record<string, string> = {
  testMarginalLogLikelihood: 'test marginal log-likelihood',
  testElbo: 'test ELBO',
  predictedCompleteLogLikelihood: 'predicted complete log-likelihood',
  hiddenLogLikelihood: 'hidden log-likelihood',
  weightError: 'weight error (mean |W - W_true|)',
  biasError: 'bias error (mean |b - b_true|)',
};

export const metricTitle = (metric: string): string => METRIC_TITLES[metric] ?? metric;

/** Pixels between neighbouring series at one H. */
const DODGE = 6;

export function sweepSpec(points: SweepPoint[], metric: string): Spec {
  const series = [...new Set(points.map((point) => point.series))];
  const dodged = points.map((point) => ({
    ...point,
    low: point.mean - point.standardError,
    high: point.mean + point.standardError,
    dodge: (series.indexOf(point.series) - (series.length - 1) / 2) * DODGE,
  }));
  const hidden = points.map((point) => point.hidden);
  const [first, last] = [Math.min(...hidden), Math.max(...hidden)];
  return {
    config: PLOT_CONFIG,
    width: 480,
    height: 300,
    title: { text: `${metricTitle(metric)} against hidden neurons H`, subtitle: 'mean ± standard error over fits' },
    data: [{ name: 'sweep', values: dodged }],
    scales: [
      // Half a step of room at each end, so that the outer error bars are not on the frame.
      { name: 'x', type: 'linear', domain: [first - 0.5, last + 0.5], range: 'width', zero: false, nice: false },
      { name: 'y', type: 'linear', domain: { data: 'sweep', fields: ['low', 'high'] }, range: 'height', zero: false, nice: true },
      { name: 'color', type: 'ordinal', domain: series, range: { scheme: SERIES_SCHEME } },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'hidden neurons H', tickMinStep: 1, format: 'd', grid: true, gridOpacity: 0.3 },
      { orient: 'left', scale: 'y', title: metricTitle(metric), grid: true, gridOpacity: 0.3 },
    ],
    legends: [{ stroke: 'color', title: 'scheme/method', symbolType: 'stroke' }],
    marks: [
      {
        type: 'group',
        name: 'series',
        from: { facet: { name: 'series-points', data: 'sweep', groupby: 'series' } },
        marks: [
          {
            type: 'line',
            name: 'sweep-lines',
            from: { data: 'series-points' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'hidden', offset: { field: 'dodge' } },
                y: { scale: 'y', field: 'mean' },
                stroke: { scale: 'color', field: 'series' },
                strokeWidth: { value: 1.5 },
              },
            },
          },
        ],
      },
      {
        type: 'rule',
        name: 'error-bars',
        from: { data: 'sweep' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'hidden', offset: { field: 'dodge' } },
            y: { scale: 'y', field: 'low' },
            y2: { scale: 'y', field: 'high' },
            stroke: { scale: 'color', field: 'series' },
            strokeWidth: { value: 1.5 },
          },
        },
      },
      {
        type: 'symbol',
        name: 'sweep-points',
        from: { data: 'sweep' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'hidden', offset: { field: 'dodge' } },
            y: { scale: 'y', field: 'mean' },
            fill: { scale: 'color', field: 'series' },
            size: { value: 30 },
            tooltip: { signal: "{'series': datum.series, 'H': datum.hidden, 'mean': format(datum.mean, '.4f'), 'standard error': format(datum.standardError, '.4f'), 'fits': datum.fits}" },
          },
        },
      },
    ],
  };
}

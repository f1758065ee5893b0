// Training ELBO per epoch, one line per model (the legend names each by its file). An epoch whose mean went
// non-finite is written as null in the model JSON: the line breaks there instead of joining across it, and the
// epoch gets no point, so that a gap is seen as what it is.
import type { Spec } from 'vega';
import { PLOT_CONFIG, SERIES_SCHEME } from './style.js';

export interface ElboCurve {
  /** The legend's name of the curve: the model's file name. */
  name: string;
  /** Mean training ELBO of each epoch, epoch 1 first (TrainingRecord.elboHistory). */
  elbo: (number | null)[];
}

interface EpochPoint {
  curve: string;
  epoch: number;
  elbo: number | null;
}

function epochPoints(curves: ElboCurve[]): EpochPoint[] {
  return curves.flatMap((curve) =>
    curve.elbo.map((value, i) => ({ curve: curve.name, epoch: i + 1, elbo: typeof value === 'number' && Number.isFinite(value) ? value : null })),
  );
}

/** The number of points an ELBO plot draws: the finite epochs of every curve. */
export const finiteEpochs = (curves: ElboCurve[]): number => epochPoints(curves).filter((point) => point.elbo !== null).length;

export function elboSpec(curves: ElboCurve[], title = 'training ELBO per epoch'): Spec {
  const points = epochPoints(curves);
  const epochs = Math.max(1, ...curves.map((curve) => curve.elbo.length));
  return {
    config: PLOT_CONFIG,
    width: 480,
    height: 280,
    title: { text: title, subtitle: 'mean ELBO over the epoch\'s minibatches (higher is better)' },
    data: [
      { name: 'epochs', values: points },
      { name: 'finite-epochs', values: points.filter((point) => point.elbo !== null) },
    ],
    scales: [
      // An epoch's range of its own when there is one epoch, so that its point sits in the middle.
      { name: 'x', type: 'linear', domain: [epochs > 1 ? 1 : 0, epochs > 1 ? epochs : 2], range: 'width', zero: false, nice: false },
      { name: 'y', type: 'linear', domain: { data: 'finite-epochs', field: 'elbo' }, range: 'height', zero: false, nice: true },
      { name: 'color', type: 'ordinal', domain: curves.map((curve) => curve.name), range: { scheme: SERIES_SCHEME } },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'epoch', tickMinStep: 1, format: 'd', grid: true, gridOpacity: 0.3 },
      { orient: 'left', scale: 'y', title: 'training ELBO', grid: true, gridOpacity: 0.3 },
    ],
    legends: [{ stroke: 'color', title: 'model', symbolType: 'stroke' }],
    marks: [
      {
        type: 'group',
        name: 'curves',
        from: { facet: { name: 'curve-epochs', data: 'epochs', groupby: 'curve' } },
        marks: [
          {
            type: 'line',
            name: 'elbo-lines',
            from: { data: 'curve-epochs' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'epoch' },
                y: { scale: 'y', field: 'elbo' },
                defined: { signal: 'datum.elbo !== null' },
                stroke: { scale: 'color', field: 'curve' },
                strokeWidth: { value: 1.5 },
              },
            },
          },
        ],
      },
      {
        type: 'symbol',
        name: 'elbo-points',
        from: { data: 'finite-epochs' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'epoch' },
            y: { scale: 'y', field: 'elbo' },
            fill: { scale: 'color', field: 'curve' },
            size: { value: 24 },
            tooltip: { signal: "{'model': datum.curve, 'epoch': datum.epoch, 'ELBO': format(datum.elbo, '.4f')}" },
          },
        },
      },
    ],
  };
}

// The coupling weights W as heatmaps: row n is the neuron receiving input, column m the one sending it, neurons
// visible first, then hidden. With ground truth the learned W is drawn beside the true W after matching learned
// hidden neurons to true ones (the matching evaluate's weight error uses), because a fit recovers hidden neurons
// only up to their order. Both panels share one colour scale, diverging and symmetric about 0, so that equal colours
// are equal weights and white is no coupling.
import type { Spec, Mark, Scale } from 'vega';
import { parameterErrors, permuteHidden } from '../model/metrics.js';
import type { GenerativeParams } from '../model/types.js';
import { hiddenLabel, neuronLabels } from './labels.js';
import { clamp, PLOT_CONFIG } from './style.js';

export interface WeightsPlotModel {
  visible: number;
  hidden: number;
  generative: GenerativeParams;
}

export interface HiddenMatch {
  /** The learned parameters reindexed so that learned hidden neuron order[k] sits at true hidden neuron k. */
  matched: GenerativeParams;
  order: number[];
  /** Mean |W - W_true| after matching. */
  weightError: number;
  /** Whether every permutation was searched (H <= 8) or a greedy match was used. */
  exhaustive: boolean;
}

/** The learned hidden neurons put in the places of the true ones they match best. */
export function matchHiddenToTruth(learned: GenerativeParams, truth: GenerativeParams, visible: number): HiddenMatch {
  const errors = parameterErrors(learned, truth, visible);
  return { matched: permuteHidden(learned, visible, errors.hiddenOrder), order: errors.hiddenOrder, weightError: errors.weightError, exhaustive: errors.exhaustive };
}

interface Cell {
  row: string;
  column: string;
  value: number;
}

function cells(weight: number[][], labels: string[]): Cell[] {
  return weight.flatMap((row, n) => row.map((value, m) => ({ row: labels[n], column: labels[m], value })));
}

const maxAbs = (matrices: number[][][]): number => Math.max(...matrices.flatMap((matrix) => matrix.flat().map(Math.abs)));

/** One heatmap: a group with its own title and axes, its cells named "<panel>-cells" (Vega wants mark names unique). */
function panel(name: string, title: string, data: string, x: number, size: number, visible: number, hidden: number): Mark {
  const marks: Mark[] = [
    {
      type: 'rect',
      name: `${name}-cells`,
      from: { data },
      encode: {
        enter: {
          x: { scale: 'column', field: 'column' },
          width: { scale: 'column', band: 1 },
          y: { scale: 'row', field: 'row' },
          height: { scale: 'row', band: 1 },
          fill: { scale: 'color', field: 'value' },
          tooltip: { signal: "{'to': datum.row, 'from': datum.column, 'weight': format(datum.value, '.4f')}" },
        },
      },
    },
  ];
  // Lines between the visible and the hidden block: what the fit saw and what it inferred.
  if (visible > 0 && hidden > 0) {
    const at = { scale: 'column', value: hiddenLabel(0) };
    const rule = (vertical: boolean): Mark => ({
      type: 'rule',
      name: `${name}-block-edge-${vertical ? 'x' : 'y'}`,
      encode: {
        enter: vertical
          ? { x: at, x2: at, y: { value: 0 }, y2: { value: size }, stroke: { value: '#333' }, strokeWidth: { value: 1 } }
          : { y: { scale: 'row', value: hiddenLabel(0) }, y2: { scale: 'row', value: hiddenLabel(0) }, x: { value: 0 }, x2: { value: size }, stroke: { value: '#333' }, strokeWidth: { value: 1 } },
      },
    });
    marks.push(rule(true), rule(false));
  }
  return {
    type: 'group',
    name,
    title: { text: title, anchor: 'middle', fontSize: 12, fontWeight: 'normal', offset: 4 },
    encode: { enter: { x: { value: x }, y: { value: 0 }, width: { value: size }, height: { value: size }, stroke: { value: '#999' } } },
    axes: [
      { orient: 'left', scale: 'row', title: 'to (receiving)', labelOverlap: 'parity', domain: false, ticks: false },
      { orient: 'bottom', scale: 'column', title: 'from (sending)', labelOverlap: 'parity', labelAngle: 0, domain: false, ticks: false },
    ],
    marks,
  };
}

/** The subtitle: how far apart the matrices are, and which learned hidden neuron stands in for which true one. */
function matchNote(match: HiddenMatch): string[] {
  const how = match.exhaustive ? 'the best of all orders' : 'a greedy match';
  const lines = [`mean |W - W_true| = ${match.weightError.toFixed(4)} after matching hidden neurons (${how})`];
  if (match.order.length > 0) lines.push(match.order.map((learned, k) => `true ${hiddenLabel(k)} = learned ${hiddenLabel(learned)}`).join(', '));
  return lines;
}

/**
 * The heatmap spec: the learned W alone, or beside the true W after matching hidden neurons. `truth` must have the
 * model's N neurons (checked by the caller; parameterErrors throws otherwise).
 */
export function weightsSpec(model: WeightsPlotModel, truth?: GenerativeParams, title = 'coupling weights W'): Spec {
  const { visible, hidden } = model;
  const labels = neuronLabels(visible, hidden);
  const match = truth ? matchHiddenToTruth(model.generative, truth, visible) : undefined;
  const learned = match ? match.matched.weight : model.generative.weight;
  const size = clamp(labels.length * 28, 120, 480);
  const gap = 70;
  const extent = Math.max(maxAbs(truth ? [learned, truth.weight] : [learned]), 1e-9);
  const scales: Scale[] = [
    { name: 'row', type: 'band', domain: labels, range: [0, size] },
    { name: 'column', type: 'band', domain: labels, range: [0, size] },
    // Symmetric about 0 so that white is no coupling; reversed so that excitation is red and inhibition blue.
    { name: 'color', type: 'linear', domain: [-extent, extent], range: { scheme: 'redblue' }, reverse: true, zero: true },
  ];
  const marks = [panel('learned', match ? 'learned (hidden matched to truth)' : 'learned', 'learned-weights', 0, size, visible, hidden)];
  if (truth) marks.push(panel('truth', 'true', 'true-weights', size + gap, size, visible, hidden));
  return {
    config: PLOT_CONFIG,
    width: truth ? 2 * size + gap : size,
    height: size,
    title: match ? { text: title, subtitle: matchNote(match) } : { text: title, subtitle: `${visible} visible, ${hidden} hidden neurons (no ground truth given)` },
    data: [
      { name: 'learned-weights', values: cells(learned, labels) },
      ...(truth ? [{ name: 'true-weights', values: cells(truth.weight, labels) }] : []),
    ],
    scales,
    legends: [{ fill: 'color', type: 'gradient', title: 'weight', gradientLength: size, direction: 'vertical' }],
    marks,
  };
}

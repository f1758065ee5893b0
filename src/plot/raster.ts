// One sequence: the visible spikes as a raster (a dot per spike; spikes in one bin stacked in the neuron's row),
// and under it, on the same time axis, the posterior mean of each hidden neuron per bin as a heatmap row. Where the
// true hidden spikes are known (a `poglm synth` file) they are dotted over their rows, so that inference can be
// read against truth.
import type { Mark, Spec } from 'vega';
import { hiddenLabel, visibleLabel } from './labels.js';
import { clamp, PLOT_CONFIG } from './style.js';

export interface RasterInput {
  /** The sequence's index, for the title. */
  sequence: number;
  /** Visible counts of the sequence, [bin][neuron]. */
  visible: number[][];
  /** Posterior means of the hidden spikes, [bin][hidden]. */
  means: number[][];
  /** True hidden counts, [bin][hidden], when known. */
  trueHidden?: number[][];
}

const ROW = 18;
const GAP = 14;

interface Dot {
  neuron: string;
  bin: number;
  /** Pixels below the top of the neuron's row. */
  offset: number;
}

/** A dot per spike: c spikes in a bin spread evenly down the neuron's row. */
function spikeDots(counts: number[][], label: (index: number) => string): Dot[] {
  return counts.flatMap((bin, t) =>
    bin.flatMap((count, n) => Array.from({ length: count }, (_, k) => ({ neuron: label(n), bin: t + 0.5, offset: (ROW * (k + 1)) / (count + 1) }))),
  );
}

/** The spikes the raster draws: every count of the sequence. */
export const spikeCount = (counts: number[][]): number => counts.reduce((sum, bin) => bin.reduce((total, count) => total + count, sum), 0);

function dotMark(name: string, data: string, scale: string, fill: string): Mark {
  return {
    type: 'symbol',
    name,
    from: { data },
    encode: {
      enter: {
        x: { scale: 'x', field: 'bin' },
        y: { scale, field: 'neuron', offset: { field: 'offset' } },
        size: { value: 10 },
        fill: { value: fill },
      },
    },
  };
}

function band(name: string, labels: string[], height: number) {
  return { name, type: 'band' as const, domain: labels, range: [0, height], paddingInner: 0, paddingOuter: 0 };
}

export function rasterSpec(input: RasterInput): Spec {
  const bins = input.visible.length;
  const visible = input.visible[0]?.length ?? 0;
  const hidden = input.means[0]?.length ?? 0;
  const width = clamp(bins * 5, 360, 960);
  const [visibleHeight, hiddenHeight] = [visible * ROW, hidden * ROW];
  const cells = input.means.flatMap((bin, t) => bin.map((mean, h) => ({ neuron: hiddenLabel(h), bin: t, bin1: t + 1, mean })));
  const means = input.means.flat();
  const colorDomain = [Math.min(0, ...means), Math.max(1e-9, ...means)];
  const hiddenMarks: Mark[] = [
    {
      type: 'rect',
      name: 'posterior-cells',
      from: { data: 'posterior' },
      encode: {
        enter: {
          x: { scale: 'x', field: 'bin' },
          x2: { scale: 'x', field: 'bin1' },
          y: { scale: 'hidden-row', field: 'neuron' },
          height: { scale: 'hidden-row', band: 1 },
          fill: { scale: 'posterior-color', field: 'mean' },
          tooltip: { signal: "{'neuron': datum.neuron, 'bin': datum.bin, 'posterior mean': format(datum.mean, '.3f')}" },
        },
      },
    },
  ];
  if (input.trueHidden) hiddenMarks.push(dotMark('true-hidden-spikes', 'true-hidden', 'hidden-row', '#e8590c'));
  return {
    config: PLOT_CONFIG,
    width,
    height: visibleHeight + GAP + hiddenHeight,
    title: {
      text: `sequence ${input.sequence}: visible spikes and hidden posterior means`,
      subtitle: input.trueHidden ? 'dots: spikes (one per spike); shade: posterior mean; orange dots: true hidden spikes' : 'dots: spikes (one per spike); shade: posterior mean of the hidden spikes',
    },
    data: [
      { name: 'spikes', values: spikeDots(input.visible, visibleLabel) },
      { name: 'posterior', values: cells },
      ...(input.trueHidden ? [{ name: 'true-hidden', values: spikeDots(input.trueHidden, hiddenLabel) }] : []),
    ],
    scales: [
      { name: 'x', type: 'linear', domain: [0, bins], range: 'width', zero: true, nice: false },
      { name: 'posterior-color', type: 'linear', domain: colorDomain, range: { scheme: 'purples' } },
    ],
    legends: [{ fill: 'posterior-color', type: 'gradient', title: 'posterior mean', direction: 'vertical', gradientLength: Math.max(hiddenHeight, 60) }],
    marks: [
      {
        type: 'group',
        name: 'visible-panel',
        encode: { enter: { x: { value: 0 }, y: { value: 0 }, width: { signal: 'width' }, height: { value: visibleHeight }, stroke: { value: '#ccc' } } },
        scales: [band('visible-row', Array.from({ length: visible }, (_, v) => visibleLabel(v)), visibleHeight)],
        axes: [{ orient: 'left', scale: 'visible-row', title: 'visible', labelOverlap: 'parity', ticks: false, domain: false }],
        marks: [dotMark('spike-dots', 'spikes', 'visible-row', '#222')],
      },
      {
        type: 'group',
        name: 'hidden-panel',
        encode: { enter: { x: { value: 0 }, y: { value: visibleHeight + GAP }, width: { signal: 'width' }, height: { value: hiddenHeight }, stroke: { value: '#ccc' } } },
        scales: [band('hidden-row', Array.from({ length: hidden }, (_, h) => hiddenLabel(h)), hiddenHeight)],
        axes: [
          { orient: 'left', scale: 'hidden-row', title: 'hidden', labelOverlap: 'parity', ticks: false, domain: false },
          { orient: 'bottom', scale: 'x', title: 'time (bins)', format: 'd', tickMinStep: 1 },
        ],
        marks: hiddenMarks,
      },
    ],
  };
}

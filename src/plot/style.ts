// What every plot shares: a white background (so that a PNG, or an SVG in a dark viewer, reads the same) and one
// set of font sizes. Fonts are left to the renderer's "sans-serif": a browser picks its own, and the CLI's PNG path
// maps it to the DejaVu Sans it loads, so no plot depends on which fonts a machine has.
import type { Config } from 'vega';

export const PLOT_CONFIG: Config = {
  background: 'white',
  padding: 8,
  title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start', offset: 10 },
  axis: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: 'normal' },
  legend: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: 'normal' },
};

/** Series colours: Vega's "tableau10", distinct in print and for most colour-vision deficiencies. */
export const SERIES_SCHEME = 'tableau10';

/** `value` limited to [low, high]: plot sizes follow the data but stay readable. */
export const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));

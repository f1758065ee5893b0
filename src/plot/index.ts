// The plots, as pure functions from data to Vega specs, and the renderer from a spec to SVG. Nothing here uses
// Node's APIs, so a page can draw the same plots (PNG output is the CLI's: src/cli/plot.ts).
export { renderSvg } from './render.js';
export { weightsSpec, matchHiddenToTruth, type WeightsPlotModel, type HiddenMatch } from './weights.js';
export { elboSpec, finiteEpochs, type ElboCurve } from './elbo.js';
export { sweepSpec, metricTitle } from './sweep.js';
export { parseSweepCsv, sweepPoints, type SweepPoint, type SweepTable } from './sweep-table.js';
export { parseCsv, type CsvTable } from './csv.js';
export { rasterSpec, spikeCount, type RasterInput } from './raster.js';
export { checkPosterior, checkPosteriorMatchesCounts, posteriorHidden, type Posterior } from './posterior.js';
export { neuronLabels } from './labels.js';

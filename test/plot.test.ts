// poglm plot and src/plot/: each plot renders to well-formed SVG with one mark per datum (cells, epochs, error
// bars, spikes), the weights heatmap matches hidden neurons to truth, PNG output has text and pixels where the plot
// is, and the CLI refuses bad inputs with exit 2 before drawing. No GPU: plots never open a session. The CLI is run
// through a small commander program that registers the command as main.ts will.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import { Command } from 'commander';
import { decode } from 'fast-png';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { permuteHidden } from '../src/model/metrics.js';
import type { PoglmModelJson } from '../src/model/json.js';
import type { GenerativeParams } from '../src/model/types.js';
import { elboSpec } from '../src/plot/elbo.js';
import { rasterSpec, spikeCount } from '../src/plot/raster.js';
import { renderSvg } from '../src/plot/render.js';
import { sweepSpec } from '../src/plot/sweep.js';
import { parseSweepCsv, sweepPoints } from '../src/plot/sweep-table.js';
import { matchHiddenToTruth, weightsSpec } from '../src/plot/weights.js';
import { plotFormat, registerPlotCommand, svgToPng, writeStandardPlots } from '../src/cli/plot.js';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

const VISIBLE = 3;
const HIDDEN = 3;
const N = VISIBLE + HIDDEN;

/** A deterministic stream of numbers in [0, 1), so that fixtures are the same every run. */
function stream(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 16807) % 2147483647) / 2147483647;
}

function trueParams(): GenerativeParams {
  const random = stream(7);
  return {
    weight: Array.from({ length: N }, (_, n) => Array.from({ length: N }, (_, m) => (n === m ? -1.5 : 2 * random() - 1))),
    bias: Array.from({ length: N }, () => random() - 0.5),
  };
}

/** learned hidden neuron order[k] is true hidden neuron k: the learned model's hidden rows and columns permuted. */
const LEARNED_ORDER = [2, 0, 1];

function learnedFromTruth(truth: GenerativeParams): GenerativeParams {
  // permuteHidden(learned, V, order) reads learned[V + order[k]] into place k; build learned so that this gives truth.
  const inverse = LEARNED_ORDER.map((_, j) => LEARNED_ORDER.indexOf(j));
  return permuteHidden(truth, VISIBLE, inverse);
}

function model(generative: GenerativeParams, elboHistory: (number | null)[] = [-60, -45, -40, -38, -37]): PoglmModelJson {
  return {
    format: 'poglm-gpu.model',
    version: 1,
    visible: VISIBLE,
    hidden: HIDDEN,
    method: 'poisson',
    basis: [1, 0.5, 0.25],
    generative,
    training: { epochs: elboHistory.length, epochsCompleted: elboHistory.length, steps: 10, batchSize: 10, samples: 5, learningRateGenerative: 0.05, learningRateVariational: 0.1, seed: 0, elboHistory: elboHistory as number[] },
  };
}

const BINS = 40;
const SEQUENCES = 3;

function counts(neurons: number, rate: number, seed: number): number[][][] {
  const random = stream(seed);
  return Array.from({ length: SEQUENCES }, () => Array.from({ length: BINS }, () => Array.from({ length: neurons }, () => (random() < rate ? (random() < 0.3 ? 2 : 1) : 0))));
}

const posteriorOf = (hidden: number[][][]): { means: number[][][] } => ({ means: hidden.map((sequence) => sequence.map((bin) => bin.map((z) => 0.2 + 0.6 * Math.min(z, 1)))) });

// ---------------------------------------------------------------------------------------------------------------
// SVG inspection

/** The SVG as a strict XML parser reads it: any well-formedness error throws. */
function parseSvg(svg: string): Document {
  const document = new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') throw new Error(`not well-formed XML: ${message}`);
    },
  }).parseFromString(svg, 'image/svg+xml');
  expect(document.documentElement?.tagName).toBe('svg');
  return document;
}

/** The items Vega drew for the mark named `name`: the element children of its container(s). */
function markItems(document: Document, name: string): Element[] {
  const groups = Array.from(document.getElementsByTagName('g')).filter((g) => {
    const classes = (g.getAttribute('class') ?? '').split(' ');
    return classes[0].startsWith('mark-') && classes.includes(name);
  });
  return groups.flatMap((g) => Array.from(g.childNodes).filter((node): node is Element => node.nodeType === 1));
}

const count = (document: Document, name: string): number => markItems(document, name).length;

// ---------------------------------------------------------------------------------------------------------------

describe('the weights heatmap', () => {
  const truth = trueParams();
  const learned = learnedFromTruth(truth);

  it('matches a permuted learned model back onto the truth', () => {
    // The learned model is the truth with its hidden neurons reordered: not equal as it stands...
    expect(learned.weight).not.toEqual(truth.weight);
    const match = matchHiddenToTruth(learned, truth, VISIBLE);
    // ...and equal once the matching puts each hidden neuron back in place.
    expect(match.order).toEqual(LEARNED_ORDER);
    expect(match.matched.weight).toEqual(truth.weight);
    expect(match.weightError).toBe(0);
  });

  it('draws 2 x N x N cells with truth, the learned one coloured as the true one after matching', async () => {
    const spec = weightsSpec(model(learned), truth);
    const plotted = spec.data!.find((data) => data.name === 'learned-weights') as { values: { value: number }[] };
    expect(plotted.values.map((cell) => cell.value)).toEqual(truth.weight.flat());
    const document = parseSvg(await renderSvg(spec));
    const learnedCells = markItems(document, 'learned-cells');
    const trueCells = markItems(document, 'truth-cells');
    expect(learnedCells.length + trueCells.length).toBe(2 * N * N);
    // One colour scale for both panels: equal matrices draw the same colours cell by cell.
    expect(learnedCells.map((cell) => cell.getAttribute('fill'))).toEqual(trueCells.map((cell) => cell.getAttribute('fill')));
    expect(new Set(learnedCells.map((cell) => cell.getAttribute('fill'))).size).toBeGreaterThan(N);
    // The labels say which neurons are visible and which hidden.
    const texts = Array.from(document.getElementsByTagName('text')).map((text) => text.textContent);
    for (const label of ['v1', 'v3', 'h1', 'h3']) expect(texts).toContain(label);
  });

  it('draws N x N cells without truth, on a scale symmetric about 0', async () => {
    const spec = weightsSpec(model(learned));
    const color = spec.scales!.find((scale) => scale.name === 'color') as { domain: number[] };
    expect(color.domain[0]).toBe(-color.domain[1]);
    const document = parseSvg(await renderSvg(spec));
    expect(count(document, 'learned-cells')).toBe(N * N);
    expect(count(document, 'truth-cells')).toBe(0);
  });
});

describe('the ELBO curves', () => {
  it('draws a point per finite epoch and a line per model, breaking at a non-finite epoch', async () => {
    const spec = elboSpec([
      { name: 'a.json', elbo: [-60, -45, -40, -38, -37] },
      { name: 'b.json', elbo: [-70, null, -50] },
    ]);
    const document = parseSvg(await renderSvg(spec));
    expect(count(document, 'elbo-points')).toBe(5 + 2);
    expect(count(document, 'elbo-lines')).toBe(2);
    const texts = Array.from(document.getElementsByTagName('text')).map((text) => text.textContent);
    expect(texts).toEqual(expect.arrayContaining(['a.json', 'b.json', 'epoch']));
  });
});

describe('the H sweep', () => {
  const SUMMARY = [
    'scheme,method,hidden,fits,failed,testMarginalLogLikelihood_mean,testMarginalLogLikelihood_sd,weightError_mean,weightError_sd',
    'FB,exponential,1,4,0,-120,2,0.5,0.1',
    'FB,exponential,2,4,0,-110,4,0.4,0.1',
    'FB,exponential,3,4,0,-108,6,,',
    'F,poisson,1,9,1,-125,3,0.6,0.2',
  ].join('\n');

  it('reads summary.csv: mean ± sd / sqrt(fits) per series and H', () => {
    const points = sweepPoints(parseSweepCsv(SUMMARY, 'summary.csv'), 'testMarginalLogLikelihood');
    expect(points).toEqual([
      { series: 'F/poisson', hidden: 1, mean: -125, standardError: 1, fits: 9 },
      { series: 'FB/exponential', hidden: 1, mean: -120, standardError: 1, fits: 4 },
      { series: 'FB/exponential', hidden: 2, mean: -110, standardError: 2, fits: 4 },
      { series: 'FB/exponential', hidden: 3, mean: -108, standardError: 3, fits: 4 },
    ]);
    // A metric without values in a row (the grid leaves the cell empty) has no point there.
    expect(sweepPoints(parseSweepCsv(SUMMARY, 'summary.csv'), 'weightError')).toHaveLength(3);
  });

  it('reads fits.csv, quoted problems included, and computes the standard error itself', () => {
    const fits = [
      'dataset,seed,scheme,method,hidden,testMarginalLogLikelihood,testElbo,epochs,problem',
      'a.json,0,FB,poisson,1,-10,-11,20,',
      'a.json,1,FB,poisson,1,-14,-15,20,',
      'a.json,2,FB,poisson,1,,,3,"non-finite at step 3, ""W"" overflowed"',
      'a.json,0,FB,poisson,2,-8,-9,20,',
    ].join('\r\n');
    const table = parseSweepCsv(fits, 'fits.csv');
    expect(table.kind).toBe('fits');
    expect(sweepPoints(table, 'testMarginalLogLikelihood')).toEqual([
      { series: 'FB/poisson', hidden: 1, mean: -12, standardError: Math.sqrt(8) / Math.sqrt(2), fits: 2 },
      { series: 'FB/poisson', hidden: 2, mean: -8, standardError: 0, fits: 1 },
    ]);
  });

  it('draws an error bar per H and series', async () => {
    const table = parseSweepCsv(SUMMARY, 'summary.csv');
    const one = sweepPoints(table, 'testMarginalLogLikelihood').filter((point) => point.series === 'FB/exponential');
    const document = parseSvg(await renderSvg(sweepSpec(one, 'testMarginalLogLikelihood')));
    expect(count(document, 'error-bars')).toBe(3);
    expect(count(document, 'sweep-points')).toBe(3);
    const both = parseSvg(await renderSvg(sweepSpec(sweepPoints(table, 'testMarginalLogLikelihood'), 'testMarginalLogLikelihood')));
    expect(count(both, 'error-bars')).toBe(4);
    expect(count(both, 'sweep-lines')).toBe(2);
  });

  it('refuses a table that is neither, naming the file and line', () => {
    expect(() => parseSweepCsv('a,b\n1,2', 'x.csv')).toThrow(/x\.csv is neither a grid's summary\.csv/);
    expect(() => parseSweepCsv('scheme,method,hidden,seed,m\nF,poisson,1,0', 'x.csv')).toThrow(/x\.csv:2 has 4 fields but the header has 5/);
    expect(() => sweepPoints(parseSweepCsv('scheme,method,hidden,seed,m\nF,poisson,x,0,1', 'x.csv'), 'm')).toThrow(/x\.csv:2: hidden is "x"/);
  });
});

describe('the raster', () => {
  it('draws a dot per visible spike and a posterior cell per bin and hidden neuron', async () => {
    const visible = counts(VISIBLE, 0.25, 3)[1];
    const hidden = counts(HIDDEN, 0.2, 4)[1];
    const spikes = spikeCount(visible);
    // The fixture has bins with two spikes, so that dots per spike differ from dots per bin.
    expect(visible.flat().some((c) => c === 2)).toBe(true);
    const document = parseSvg(await renderSvg(rasterSpec({ sequence: 1, visible, means: posteriorOf([hidden]).means[0], trueHidden: hidden })));
    expect(count(document, 'spike-dots')).toBe(spikes);
    expect(count(document, 'posterior-cells')).toBe(BINS * HIDDEN);
    expect(count(document, 'true-hidden-spikes')).toBe(spikeCount(hidden));
  });
});

describe('PNG output', () => {
  it('has the PNG signature, the plot drawn, and text in the title area (from the packaged font)', async () => {
    const spec = weightsSpec(model(learnedFromTruth(trueParams())), trueParams());
    const png = await svgToPng(await renderSvg(spec), 1);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const image = decode(png);
    const dark = (x0: number, y0: number, x1: number, y1: number): number => {
      let found = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const at = (y * image.width + x) * image.channels;
          if (image.data[at] + image.data[at + 1] + image.data[at + 2] < 3 * 200) found++;
        }
      }
      return found;
    };
    // Most of the middle band is coloured cells.
    const middle = Math.floor(image.height / 2);
    expect(dark(0, middle - 10, image.width, middle + 10)).toBeGreaterThan(image.width * 4);
    // The title is in the top 24 pixels. Drawn in white (the same layout, the text invisible) that band is blank,
    // so what is dark there with the title in colour is its text: the packaged font's glyphs were drawn.
    expect(dark(0, 0, image.width, 24)).toBeGreaterThan(100);
    const invisible = { ...spec, title: { ...(spec.title as object), text: 'coupling weights W', color: 'white', subtitleColor: 'white' } };
    const blank = decode(await svgToPng(await renderSvg(invisible), 1));
    expect([blank.width, blank.height]).toEqual([image.width, image.height]);
    let darkInBlank = 0;
    for (let i = 0; i < blank.width * 24 * blank.channels; i += blank.channels) if (blank.data[i] + blank.data[i + 1] + blank.data[i + 2] < 3 * 200) darkInBlank++;
    expect(darkInBlank).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The command line

let folder = '';
const at = (name: string): string => join(folder, name);

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'poglm-plot-'));
  const truth = trueParams();
  writeFileSync(at('model.json'), JSON.stringify(model(learnedFromTruth(truth))));
  writeFileSync(at('other.json'), JSON.stringify(model(truth, [-80, -60, -55])));
  writeFileSync(at('truth.json'), JSON.stringify({ weight: truth.weight, bias: truth.bias }));
  writeFileSync(at('small-truth.json'), JSON.stringify({ weight: [[1, 0], [0, 1]], bias: [0, 0] }));
  const visible = counts(VISIBLE, 0.25, 3);
  writeFileSync(at('counts.json'), JSON.stringify(visible));
  writeFileSync(at('posterior.json'), JSON.stringify(posteriorOf(counts(HIDDEN, 0.2, 4))));
  writeFileSync(at('short-posterior.json'), JSON.stringify({ means: posteriorOf(counts(HIDDEN, 0.2, 4)).means.map((s) => s.slice(1)) }));
  // A `poglm synth` file: its parts carry the true hidden spikes, and its truth the true parameters.
  const synthPart = (seed: number) => ({ visible: counts(VISIBLE, 0.25, seed), hidden: counts(HIDDEN, 0.2, seed + 1) });
  writeFileSync(at('synth.json'), JSON.stringify({ format: 'poglm-gpu.synthetic', visible: VISIBLE, hidden: HIDDEN, train: synthPart(10), test: synthPart(20), truth: { generative: truth } }));
  writeFileSync(at('summary.csv'), 'scheme,method,hidden,fits,failed,testMarginalLogLikelihood_mean,testMarginalLogLikelihood_sd\nFB,poisson,1,3,0,-10,1\nFB,poisson,2,3,0,-9,1\n');
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs `poglm plot ...` in-process, as main.ts does, and returns the exit code and what went to stderr. */
async function plot(...args: string[]): Promise<{ code: number; stderr: string }> {
  const program = new Command().exitOverride();
  registerPlotCommand(program);
  const errors: string[] = [];
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((text) => (errors.push(String(text)), true));
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['plot', ...args], { from: 'user' });
    return { code: Number(process.exitCode ?? 0), stderr: errors.join('') };
  } finally {
    stderr.mockRestore();
    stdout.mockRestore();
  }
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('poglm plot', () => {
  it('writes each plot as SVG or PNG by the --out extension', async () => {
    expect(await plot('weights', '--model', at('model.json'), '--truth', at('truth.json'), '--out', at('w.svg'))).toEqual({ code: 0, stderr: '' });
    expect(count(parseSvg(readFileSync(at('w.svg'), 'utf8')), 'learned-cells')).toBe(N * N);
    expect((await plot('weights', '--model', at('model.json'), '--out', at('w.PNG'))).code).toBe(0);
    expect(readFileSync(at('w.PNG')).subarray(1, 4).toString()).toBe('PNG');
    expect((await plot('elbo', '--model', at('model.json'), at('other.json'), '--out', at('e.svg'))).code).toBe(0);
    expect(count(parseSvg(readFileSync(at('e.svg'), 'utf8')), 'elbo-points')).toBe(5 + 3);
    expect((await plot('sweep', '--summary', at('summary.csv'), '--out', at('s.svg'))).code).toBe(0);
    expect(count(parseSvg(readFileSync(at('s.svg'), 'utf8')), 'error-bars')).toBe(2);
    expect((await plot('raster', '--data', at('counts.json'), '--infer', at('posterior.json'), '--sequence', '2', '--out', at('r.svg'))).code).toBe(0);
    const visible = JSON.parse(readFileSync(at('counts.json'), 'utf8')) as number[][][];
    expect(count(parseSvg(readFileSync(at('r.svg'), 'utf8')), 'spike-dots')).toBe(spikeCount(visible[2]));
  });

  it('takes truth and true hidden spikes from a synth file, of the --part the inference is of', async () => {
    expect((await plot('weights', '--model', at('model.json'), '--truth', at('synth.json'), '--out', at('synth-w.svg'))).code).toBe(0);
    expect(count(parseSvg(readFileSync(at('synth-w.svg'), 'utf8')), 'truth-cells')).toBe(N * N);
    const synth = JSON.parse(readFileSync(at('synth.json'), 'utf8'));
    writeFileSync(at('train-posterior.json'), JSON.stringify(posteriorOf(synth.train.hidden)));
    expect((await plot('raster', '--data', at('synth.json'), '--part', 'train', '--infer', at('train-posterior.json'), '--sequence', '1', '--out', at('synth-r.svg'))).code).toBe(0);
    const document = parseSvg(readFileSync(at('synth-r.svg'), 'utf8'));
    expect(count(document, 'spike-dots')).toBe(spikeCount(synth.train.visible[1]));
    expect(count(document, 'true-hidden-spikes')).toBe(spikeCount(synth.train.hidden[1]));
    const wrongPart = await plot('raster', '--data', at('synth.json'), '--part', 'validation', '--infer', at('train-posterior.json'), '--out', at('refused-part.svg'));
    expect(wrongPart).toMatchObject({ code: 2, stderr: expect.stringMatching(/--part must be test or train, got "validation"/) });
  });

  it.each([
    ['an extension that is not .svg or .png', ['weights', '--model', '@model.json', '--out', '@refused-w.pdf'], /--out .*refused-w\.pdf ends in "\.pdf": the format is taken from the extension, \.svg or \.png/],
    ['no extension', ['sweep', '--summary', '@summary.csv', '--out', '@refused-plot'], /--out .*refused-plot has no extension/],
    ['a missing model', ['weights', '--model', '@missing.json', '--out', '@refused-w.svg'], /cannot read --model file .*missing\.json: ENOENT/],
    ['a missing second model', ['elbo', '--model', '@model.json', '@missing.json', '--out', '@refused-e.svg'], /cannot read --model file .*missing\.json/],
    ['truth of another size', ['weights', '--model', '@model.json', '--truth', '@small-truth.json', '--out', '@refused-w.svg'], /--truth .*small-truth\.json\.bias has 2 entries but the model has 6 neurons/],
    ['a sequence out of range', ['raster', '--data', '@counts.json', '--infer', '@posterior.json', '--sequence', '3', '--out', '@refused-r.svg'], /--sequence 3 is out of range: --data .*counts\.json has 3 sequences \(0 to 2\)/],
    ['an inference of other counts', ['raster', '--data', '@counts.json', '--infer', '@short-posterior.json', '--out', '@refused-r.svg'], /sequence 0 has 39 bins but in --data .*counts\.json it has 40/],
    ['an inference file that is a model', ['raster', '--data', '@counts.json', '--infer', '@model.json', '--out', '@refused-r.svg'], /--infer .*model\.json: "means" must be a non-empty array/],
    ['a metric the table lacks', ['sweep', '--summary', '@summary.csv', '--metric', 'weightError', '--out', '@refused-s.svg'], /--metric weightError: --summary .*summary\.csv has no column for it; choose one of testMarginalLogLikelihood/],
    ['counts as the summary', ['sweep', '--summary', '@counts.json', '--out', '@refused-s.svg'], /is neither a grid's summary\.csv/],
  ])('exits 2 for %s, naming the problem, and writes nothing (files named @name are in the test folder)', async (_, args, message) => {
    const withPaths = args.map((arg) => (arg.startsWith('@') ? at(arg.slice(1)) : arg));
    const result = await plot(...withPaths);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    const out = withPaths[withPaths.indexOf('--out') + 1];
    expect(existsSync(out)).toBe(false);
  });

  it('takes the format from the extension, in any case', () => {
    expect(plotFormat('--out', 'a/b.SVG')).toBe('svg');
    expect(plotFormat('--out', 'b.png')).toBe('png');
    expect(() => plotFormat('--out', 'b.svg.json')).toThrow(/ends in "\.json"/);
  });
});

describe('writeStandardPlots (poglm fit --plots DIR)', () => {
  it('writes weights, ELBO and raster SVGs and returns their paths', async () => {
    const truth = trueParams();
    const visible = counts(VISIBLE, 0.25, 3);
    const dir = at('plots');
    const written = await writeStandardPlots(dir, { model: model(learnedFromTruth(truth)), modelPath: 'model.json', truth, counts: visible, posterior: posteriorOf(counts(HIDDEN, 0.2, 4)) });
    expect(written).toEqual(['weights.svg', 'elbo.svg', 'raster.svg'].map((name) => join(dir, name)));
    for (const path of written) parseSvg(readFileSync(path, 'utf8'));
    expect(count(parseSvg(readFileSync(written[0], 'utf8')), 'truth-cells')).toBe(N * N);
    expect(count(parseSvg(readFileSync(written[2], 'utf8')), 'spike-dots')).toBe(spikeCount(visible[0]));
  });

  it('writes nothing when the posterior is of other counts', async () => {
    const dir = at('bad-plots');
    const posterior = { means: posteriorOf(counts(HIDDEN, 0.2, 4)).means.slice(1) };
    await expect(writeStandardPlots(dir, { model: model(trueParams()), modelPath: 'm.json', counts: counts(VISIBLE, 0.25, 3), posterior })).rejects.toThrow(/2 sequences but the counts has 3/);
    expect(existsSync(dir)).toBe(false);
  });
});

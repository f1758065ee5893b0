// The poglm command line, run as users run it: the built binary in a child process. Checks files, numbers, exit
// codes and messages; the numbers against the float64 reference where there is one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flattenModel, parseModel } from '../src/model/json.js';
import { elboAndGradient } from '../src/reference/model.js';
import { flattenParams } from '../src/model/params.js';
import { relativeError } from './helpers/problems.js';
import { BIN, signalWhen } from './helpers/cli.js';

let folder = '';
const at = (name: string): string => join(folder, name);

function poglm(...args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: folder, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const json = (name: string): any => JSON.parse(readFileSync(at(name), 'utf8'));

beforeAll(() => {
  expect(existsSync(new URL('../dist/cli/main.js', import.meta.url)), 'run `npm run build` first (npm test does)').toBe(true);
  folder = mkdtempSync(join(tmpdir(), 'poglm-cli-'));
  const synth = poglm('synth', '--trial', '3', '--out', 'synth.json');
  expect(synth.status, synth.stderr).toBe(0);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('poglm synth and simulate', () => {
  it('writes the paper-shaped synthetic trial, the same every time', () => {
    const data = json('synth.json');
    expect(data.train.visible).toHaveLength(40);
    expect(data.test.visible).toHaveLength(20);
    expect(data.train.visible[0]).toHaveLength(100);
    expect(data.train.visible[0][0]).toHaveLength(3);
    expect(data.train.hidden[0][0]).toHaveLength(2);
    expect(data.truth.generative.weight.flat().every((w: number) => Math.abs(w) <= 2)).toBe(true);
    expect(data.truth.generative.bias.every((b: number) => Math.abs(b) <= 0.5)).toBe(true);
    expect(poglm('synth', '--trial', '3', '--out', 'again.json').status).toBe(0);
    expect(readFileSync(at('again.json'), 'utf8')).toBe(readFileSync(at('synth.json'), 'utf8'));
    expect(poglm('synth', '--trial', '4', '--out', 'other.json').status).toBe(0);
    expect(json('other.json').truth).not.toEqual(data.truth);
  });

  it('simulates counts for all N neurons from a model JSON', () => {
    const data = json('synth.json');
    writeFileSync(at('truth-model.json'), JSON.stringify({ visible: 3, hidden: 2, basis: data.basis, generative: data.truth.generative }));
    const run = poglm('simulate', '--model', 'truth-model.json', '--sequences', '4', '--bins', '30', '--seed', '9', '--out', 'sim.json', '--json');
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ sequences: 4, bins: 30, neurons: 5 });
    const counts = json('sim.json');
    expect(counts).toHaveLength(4);
    expect(counts[0]).toHaveLength(30);
    expect(counts[0][0]).toHaveLength(5);
    expect(counts.flat(2).reduce((a: number, b: number) => a + b, 0)).toBeGreaterThan(20);
  });
});

describe('poglm bin', () => {
  it('bins spike times into [sequence][time][neuron] counts', () => {
    writeFileSync(at('times.csv'), 'neuron,time\n0,0.01\n1,0.05\n0,0.099\n2,0.31\n1,0.55\n');
    const run = poglm('bin', '--spikes', 'times.csv', '--bin-width', '0.1', '--sequence-bins', '3', '--out', 'binned.json');
    expect(run.status, run.stderr).toBe(0);
    expect(json('binned.json')).toEqual([
      [[2, 1, 0], [0, 0, 0], [0, 0, 0]],
      [[0, 0, 1], [0, 0, 0], [0, 1, 0]],
    ]);
  });

  it('bins a recording of a million spikes (no argument-list limits), with a comment before the header', () => {
    const lines = ['# recorded 2026', 'neuron,time'];
    for (let i = 0; i < 1_000_000; i++) lines.push(`${i % 4},${(i * 0.001).toFixed(3)}`);
    writeFileSync(at('many.csv'), `${lines.join('\n')}\n`);
    const run = poglm('bin', '--spikes', 'many.csv', '--bin-width', '1', '--sequence-bins', '100', '--out', 'many.json');
    expect(run.status, run.stderr).toBe(0);
    const counts = json('many.json');
    expect(counts).toHaveLength(10);
    expect(counts[0][0]).toEqual([250, 250, 250, 250]);
  });

  it('names the line of a malformed spike time', () => {
    writeFileSync(at('bad.csv'), 'neuron,time\n0,0.1\n1,-3\n');
    const run = poglm('bin', '--spikes', 'bad.csv', '--bin-width', '0.1', '--out', 'x.json');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/bad\.csv:3: time "-3" must be a non-negative number of seconds/);
  });
});

describe('poglm fit, eval and grad', () => {
  it('fits, writes the model in the spec format, and reports metrics on a synth file', () => {
    const run = poglm('fit', '--train', 'synth.json', '--test', 'synth.json', '--hidden', '2', '--scheme', 'FB', '--method', 'exponential', '--epochs', '8', '--eval-mc', '300', '--out', 'model.json', '--json');
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.elboHistory).toHaveLength(8);
    expect(summary.elboHistory.at(-1)).toBeGreaterThan(summary.elboHistory[0] + 5);
    expect(summary.metrics.testMarginalLogLikelihood).toBeGreaterThanOrEqual(summary.metrics.testElbo);
    for (const key of ['predictedCompleteLogLikelihood', 'hiddenLogLikelihood', 'weightError', 'biasError']) {
      expect(Number.isFinite(summary.metrics[key]), key).toBe(true);
    }
    const model = json('model.json');
    expect(Object.keys(model)).toEqual(expect.arrayContaining(['basis', 'generative', 'variational', 'visible', 'hidden', 'method', 'training']));
    expect(model.variational.scheme).toBe('FB');
    expect(model.variational.forwardWeight).toHaveLength(2);
    expect(model.variational.backwardWeight[0]).toHaveLength(3);
    expect(model.training).toMatchObject({ epochs: 8, batchSize: 10, samples: 5, learningRateGenerative: 0.05, learningRateVariational: 0.1 });
  });

  it('fits until the held-out ELBO stops improving with --epochs auto, and says why it stopped', () => {
    const run = poglm('fit', '--train', 'synth.json', '--hidden', '2', '--scheme', 'FB', '--method', 'exponential', '--epochs', 'auto', '--patience', '3', '--out', 'auto.json', '--json');
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.validation.stopped).toBe('converged');
    expect(summary.epochs).toBe(summary.validation.bestEpoch + 3);
    expect(run.stderr).toMatch(new RegExp(`stopped after ${summary.epochs} epochs: the held-out ELBO had not improved for 3 epochs \\(best held-out ELBO -?[0-9.]+ at epoch ${summary.validation.bestEpoch}, over 8 held-out sequences\\)`));
    expect(json('auto.json').training.validation.history).toHaveLength(summary.epochs);
    for (const args of [['--epochs', '5', '--patience', '3'], ['--epochs', 'auto', '--checkpoint', 'auto-state.json']]) {
      const refused = poglm('fit', '--train', 'synth.json', '--hidden', '2', '--scheme', 'FB', '--method', 'exponential', ...args, '--out', 'refused.json');
      expect(refused.status, refused.stderr).toBe(2);
      expect(refused.stderr).toMatch(/--patience applies to --epochs auto, not --epochs 5|--checkpoint does not work with --epochs auto yet/);
    }
  });

  it('grad prints the ELBO and gradient the float64 reference computes for the given noise', () => {
    const data = json('synth.json');
    const sequences = data.train.visible.slice(0, 2);
    const noise = sequences.map((sequence: number[][], s: number) =>
      [0, 1, 2].map((m) => sequence.map((_, t) => [0, 1].map((h) => ((s * 31 + m * 17 + t * 7 + h * 3) % 97 + 0.5) / 98))),
    );
    writeFileSync(at('x.json'), JSON.stringify(sequences));
    writeFileSync(at('noise.json'), JSON.stringify(noise));
    const run = poglm('grad', '--model', 'model.json', '--train', 'x.json', '--noise', 'noise.json', '--json');
    expect(run.status, run.stderr).toBe(0);
    const output = JSON.parse(run.stdout);
    expect(Object.keys(output.grad.variational)).toEqual(['forwardWeight', 'backwardWeight', 'bias']);
    const flat = flattenModel(parseModel(json('model.json')));
    const expected = elboAndGradient(
      { layout: flat.layout, basis: flat.basis, method: flat.method },
      Float32Array.from(flat.params),
      sequences,
      noise.map((sample: number[][][][]) => sample.map((bins) => bins.map((bin) => bin.map((u) => [u])))),
    );
    expect(Math.abs(output.elbo - expected.elbo)).toBeLessThan(1e-5 * Math.abs(expected.elbo));
    const actual = flattenParams(flat.layout, output.grad.generative, { scheme: 'FB', ...output.grad.variational });
    expect(relativeError(actual, expected.gradient)).toBeLessThan(1e-4);
  });

  it('eval prints the metrics as one JSON object, and uses --truth and --test-hidden', () => {
    const data = json('synth.json');
    writeFileSync(at('test-x.json'), JSON.stringify(data.test.visible));
    writeFileSync(at('test-z.json'), JSON.stringify(data.test.hidden));
    const plain = poglm('eval', '--model', 'model.json', '--test', 'test-x.json', '--mc', '200', '--json');
    expect(plain.status, plain.stderr).toBe(0);
    expect(Object.keys(JSON.parse(plain.stdout)).sort()).toEqual(['samples', 'sequences', 'testElbo', 'testMarginalLogLikelihood', 'testMarginalLogLikelihoodPerSequence', 'testMarginalLogLikelihoodVariance']);
    const full = poglm('eval', '--model', 'model.json', '--test', 'test-x.json', '--test-hidden', 'test-z.json', '--truth', 'synth.json', '--mc', '200', '--json');
    expect(full.status, full.stderr).toBe(0);
    const metrics = JSON.parse(full.stdout);
    expect(metrics.weightError).toBeGreaterThan(0);
    expect(metrics.hiddenLogLikelihood).toBeLessThan(0);
    expect(metrics.testMarginalLogLikelihood).toBeCloseTo(JSON.parse(plain.stdout).testMarginalLogLikelihood, 6);
  });

  it('leaves out the ground truth of a synth file when the model has another number of hidden neurons', () => {
    const run = poglm('fit', '--train', 'synth.json', '--test', 'synth.json', '--hidden', '3', '--scheme', 'F', '--method', 'exponential', '--epochs', '1', '--eval-mc', '50', '--out', 'h3.json', '--json');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/has 2 true hidden neurons and the model 3: no ground-truth metrics/);
    const metrics = JSON.parse(run.stdout).metrics;
    expect(Number.isFinite(metrics.testMarginalLogLikelihood)).toBe(true);
    expect(metrics.weightError).toBeUndefined();
    const again = poglm('eval', '--model', 'h3.json', '--test', 'synth.json', '--mc', '50', '--json');
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).hiddenLogLikelihood).toBeUndefined();
  });
});

describe('bad usage', () => {
  it.each([
    { args: ['fit', '--train', 'synth.json', '--hidden', '1.5', '--scheme', 'FB', '--method', 'exponential', '--out', 'm.json'], message: /--hidden must be a non-negative integer, got "1.5"/ },
    { args: ['fit', '--train', 'synth.json', '--hidden', '2', '--scheme', 'FX', '--method', 'exponential', '--out', 'm.json'], message: /--scheme "FX" is not a scheme; use one of F, FS, FB/ },
    { args: ['fit', '--train', 'synth.json', '--hidden', '2', '--scheme', 'FB', '--method', 'gamma', '--out', 'm.json'], message: /--method "gamma" is not a method/ },
    { args: ['fit', '--train', 'missing.json', '--hidden', '2', '--scheme', 'FB', '--method', 'poisson', '--out', 'm.json'], message: /cannot read --train file missing\.json: ENOENT/ },
    { args: ['eval', '--model', 'model.json', '--test', 'binned.json'], message: /the basis has 5 lags but --test binned\.json has only 3 bins: use a shorter basis/ },
    { args: ['eval', '--model', 'times.csv', '--test', 'synth.json'], message: /--model file times\.csv is not valid JSON/ },
    { args: ['fit', '--train', 'synth.json'], message: /required option '--hidden <h>' not specified/ },
  ])('poglm $args.0 … exits 2 with a message that names the problem', ({ args, message }) => {
    const run = poglm(...args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(existsSync(at('m.json'))).toBe(false);
  });

  it('rejects data whose neuron count disagrees with the model', () => {
    writeFileSync(at('four.json'), JSON.stringify([[[0, 1, 0, 2], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]]));
    const run = poglm('eval', '--model', 'model.json', '--test', 'four.json', '--mc', '10');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/four\.json\[0\]\[0\] has 4 neurons but the model expects 3 visible neurons/);
  });

  it('writes the last finite parameters and exits 1 when the ELBO goes non-finite', () => {
    const model = json('model.json');
    model.generative.weight[0][0] = 3e38;
    model.generative.weight[0][1] = -3e38;
    writeFileSync(at('explosive.json'), JSON.stringify(model));
    const run = poglm('fit', '--train', 'synth.json', '--hidden', '2', '--scheme', 'FB', '--method', 'exponential', '--init', 'explosive.json', '--out', 'after.json');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/non-finite at step 0 \(epoch 1\)/);
    expect(run.stderr).toMatch(/wrote the last finite parameters to after\.json/);
    expect(json('after.json').training.stoppedEarly.reason).toBe('non-finite');
  });
});

describe('interrupting a fit', () => {
  it('saves the model and exits 130 on Ctrl-C', async () => {
    const { status, stderr } = await signalWhen(folder, /epoch [3-9]/, ['SIGINT'], 0, 'fit', '--train', 'synth.json', '--hidden', '2', '--scheme', 'FB', '--method', 'exponential', '--epochs', '100000', '--progress', '--out', 'long.json');
    expect(status).toBe(130);
    expect(stderr).toMatch(/saved the model after \d+ steps to long\.json/);
    const model = json('long.json');
    expect(model.training.stoppedEarly.reason).toBe('interrupted');
    expect(model.training.epochsCompleted).toBeGreaterThanOrEqual(3);
  });
});

describe('poglm grid', () => {
  it('saves every fitted model before evaluating, and keeps them when interrupted during evaluation', async () => {
    // 200,000 samples per test sequence: evaluation takes minutes, so the interrupt lands inside it.
    const run = await signalWhen(folder, /models saved\); evaluating/, ['SIGINT'], 0, 'grid', '--trials', '0', '--seeds', '0-2', '--schemes', 'FB', '--methods', 'exponential', '--epochs', '2', '--eval-mc', '200000', '--progress', '--out', 'grid-interrupted');
    expect(run.status, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/wrote the 3 fitted models and the metrics of 0/);
    expect(readdirSync(at('grid-interrupted/models'))).toHaveLength(3);
    const fits = readFileSync(at('grid-interrupted/fits.csv'), 'utf8').trim().split('\n');
    expect(fits).toHaveLength(4);
    fits.slice(1).forEach((line) => expect(line).toMatch(/,"fitted, not evaluated \(interrupted\)"$/));
    expect(parseModel(json(`grid-interrupted/models/trial-0_seed1_FB_exponential_H2.json`)).training?.epochsCompleted).toBe(2);
  });

  it('fits a small grid in one job and writes every model and the tables', () => {
    const run = poglm('grid', '--trials', '0-1', '--seeds', '0,1', '--schemes', 'FB,FS', '--methods', 'exponential,categorical', '--epochs', '2', '--eval-mc', '50', '--out', 'grid', '--json');
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.fits).toBe(16);
    expect(readdirSync(at('grid/models'))).toHaveLength(16);
    const fits = readFileSync(at('grid/fits.csv'), 'utf8').trim().split('\n');
    expect(fits).toHaveLength(17);
    expect(fits[0]).toMatch(/^dataset,seed,scheme,method,hidden,testMarginalLogLikelihood/);
    const table = readFileSync(at('grid/summary.md'), 'utf8');
    expect(table).toMatch(/\| FB \| exponential \| 2 \| 4 \| -\d+\.\d+ ± \d+\.\d+/);
    expect(summary.summary).toHaveLength(4);
  });
});

describe('poglm plot and fit --plots', () => {
  it('draws the weights beside the truth as PNG, and fit --plots writes the standard set', () => {
    const png = poglm('plot', 'weights', '--model', 'model.json', '--truth', 'synth.json', '--out', 'weights.png');
    expect(png.status, png.stderr).toBe(0);
    expect(Array.from(readFileSync(at('weights.png')).subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    const run = poglm('fit', '--train', 'synth.json', '--test', 'synth.json', '--hidden', '2', '--scheme', 'F', '--method', 'poisson', '--epochs', '2', '--eval-mc', '20', '--plots', 'plots', '--out', 'plotted.json');
    expect(run.status, run.stderr).toBe(0);
    expect(readdirSync(at('plots')).sort()).toEqual(['elbo.svg', 'raster.svg', 'weights.svg']);
    expect(readFileSync(at('plots/weights.svg'), 'utf8')).toMatch(/^<svg/);
  });
});

describe('the GLM baseline (--hidden 0) and the choice of H', () => {
  it('fits and evaluates the fully observed GLM, and a POGLM reports bits per spike over it and over a constant rate', () => {
    const glm = poglm('fit', '--train', 'synth.json', '--hidden', '0', '--epochs', '10', '--out', 'glm.json');
    expect(glm.status, glm.stderr).toBe(0);
    const model = json('glm.json');
    expect(model.hidden).toBe(0);
    expect(model.variational).toBeUndefined();
    const scored = poglm('eval', '--model', 'glm.json', '--test', 'synth.json', '--json');
    expect(scored.status, scored.stderr).toBe(0);
    const metrics = JSON.parse(scored.stdout);
    // No hidden neurons: the marginal likelihood is exact, and equals the ELBO.
    expect(metrics.testMarginalLogLikelihood).toBe(metrics.testElbo);
    expect(poglm('fit', '--train', 'synth.json', '--hidden', '0', '--scheme', 'FB', '--out', 'x.json').stderr).toMatch(/--hidden 0 fits the fully observed GLM.*leave out --scheme and --method/);
    const run = poglm('fit', '--train', 'synth.json', '--test', 'synth.json', '--hidden', '2', '--scheme', 'FB', '--method', 'exponential', '--epochs', '10', '--eval-mc', '100', '--out', 'h2.json', '--json');
    expect(run.status, run.stderr).toBe(0);
    const { metrics: fitted } = JSON.parse(run.stdout);
    expect(fitted.bitsPerSpikeOverHomogeneous).toBeGreaterThan(0);
    expect(Number.isFinite(fitted.bitsPerSpikeOverGlm)).toBe(true);
  });

  it('picks H = 0 on data a GLM generated, and says how sure it is', () => {
    writeFileSync(
      at('glm-true.json'),
      JSON.stringify({
        format: 'poglm-gpu.model',
        version: 1,
        visible: 3,
        hidden: 0,
        method: 'poisson',
        basis: [0.2769, 0.2157, 0.168, 0.1308, 0.1019],
        generative: { weight: [[0.5, -1, 0.8], [1.2, 0.3, -0.7], [-0.9, 1.1, 0.2]], bias: [-1.2, -0.8, -1.5] },
      }),
    );
    expect(poglm('simulate', '--model', 'glm-true.json', '--sequences', '60', '--bins', '100', '--seed', '3', '--out', 'glm-sim.json').status).toBe(0);
    const simulated = json('glm-sim.json');
    writeFileSync(at('glm-train.json'), JSON.stringify(simulated.slice(0, 40)));
    writeFileSync(at('glm-test.json'), JSON.stringify(simulated.slice(40)));
    const run = poglm('grid', '--train', 'glm-train.json', '--test', 'glm-test.json', '--schemes', 'FB', '--methods', 'exponential', '--hidden', '0-2', '--seeds', '0-1', '--epochs', '30', '--eval-mc', '500', '--out', 'glm-sweep', '--json');
    expect(run.status, run.stderr).toBe(0);
    const [choice] = JSON.parse(run.stdout).choice;
    expect(choice.chosen).toBe(0);
    expect(choice.paired).toBe(true);
    expect(choice.points.map((point: { hidden: number }) => point.hidden)).toEqual([0, 1, 2]);
    expect(readFileSync(at('glm-sweep/summary.md'), 'utf8')).toMatch(/Picked H = 0: [0-9.]+ per sequence above H = [12], [0-9.]+ standard errors of the paired per-sequence difference/);
  });
});

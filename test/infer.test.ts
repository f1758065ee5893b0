// The posterior of the hidden neurons: the GPU's means and samples against the float64 twin drawing the same Philox
// noise (F, FS, FB; whole and in chunks of sequences and samples), the posterior of a briefly fitted model tracking
// the true hidden spikes of the paper's synthetic data better than chance, the .npy files numpy reads, and bad input
// refused (exit 2) before any GPU work.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { inferHidden } from '../src/api/infer.js';
import { fit } from '../src/api/fit.js';
import { syntheticDataset } from '../src/api/synthetic.js';
import { registerInferCommand } from '../src/cli/infer.js';
import { uploadDataset } from '../src/engine/dataset.js';
import { inferPosteriorGroup, posteriorSpec } from '../src/engine/posterior.js';
import { workspaceBytes } from '../src/engine/workspace.js';
import { buildModel, type PoglmModelJson } from '../src/model/json.js';
import { parameterErrors } from '../src/model/metrics.js';
import { SCHEMES } from '../src/model/types.js';
import { referencePosterior } from '../src/reference/posterior.js';
import { useGpuSession } from './helpers/gpu.js';
import { runNumpy } from './helpers/numpy.js';
import { makeProblem } from './helpers/problems.js';

const gpu = useGpuSession();

const BINS = 30;
const SEQUENCES = 3;

function problemModel(scheme: (typeof SCHEMES)[number]): { model: PoglmModelJson; problem: ReturnType<typeof makeProblem> } {
  const problem = makeProblem(scheme, 'exponential', { bins: BINS, sequences: SEQUENCES });
  return { problem, model: buildModel({ layout: problem.layout, params: problem.params, method: problem.method, basis: problem.model.basis }) };
}

describe('the posterior on the GPU equals the float64 twin with the same noise', () => {
  it.each(SCHEMES)('%s: means and samples, in one chunk and in chunks of sequences and samples', async (scheme) => {
    const { problem } = problemModel(scheme);
    const samples = 12;
    const seed = 5;
    const reference = referencePosterior(problem.model, problem.params, problem.sequences, { samples, seed });
    const dataset = await uploadDataset(gpu(), [problem.sequences], problem.model.basis, 'data', {}, { antiCausal: scheme === 'FB' });
    // Room for one sequence with 3 samples: the plan takes fewer samples of more sequences (2 of 1 sample), so the job
    // runs in chunks of sequences, the last one partial, and of samples.
    const threeSamples = workspaceBytes({ ...posteriorSpec(problem.layout, problem.model.basis, SEQUENCES), models: 1, chunkSlots: 1, samples: 3 }, BINS);
    try {
      const spec = { layout: problem.layout, basis: problem.model.basis, members: [{ params: problem.params, seed, firstRow: 0 }], sequences: SEQUENCES, samples, keepSamples: samples };
      const whole = await inferPosteriorGroup(gpu(), dataset, spec);
      const chunked = await inferPosteriorGroup(gpu(), dataset, { ...spec, maxChunkBytes: threeSamples });
      expect(whole.submissions).toBe(1);
      expect(chunked.sequencesPerChunk).toBeLessThan(SEQUENCES);
      expect(chunked.samplesPerChunk).toBeLessThan(samples);
      expect(chunked.submissions).toBe(Math.ceil(SEQUENCES / chunked.sequencesPerChunk) * Math.ceil(samples / chunked.samplesPerChunk));
      for (const outcome of [whole, chunked]) {
        // f32 sigmoids of O(1) drives (FS: averaged over the samples): 1e-6 absolute, measured <= 1e-7.
        reference.means.flat(2).forEach((mean, i) => expect(Math.abs(outcome.means[0][i] - mean)).toBeLessThan(1e-6));
        // The counts are exact: the same Philox uniform inverted through the Poisson CDF in f32 and f64.
        expect(Array.from(outcome.samples[0])).toEqual(reference.samples.flat(3));
      }
      if (scheme === 'FS') {
        // FS's mean follows each sample's history: the samples' means differ, and what is reported is their average.
        const traces = referencePosterior(problem.model, problem.params, problem.sequences, { samples: 1, seed });
        const spread = Math.max(...reference.means.flat(2).map((mean, i) => Math.abs(mean - traces.means.flat(2)[i])));
        expect(spread).toBeGreaterThan(0.01);
      }
    } finally {
      dataset.release();
    }
  });

  it('F and FB draw only the kept samples: the same ones, and the same means, as a draw of all of them', async () => {
    for (const scheme of ['F', 'FB'] as const) {
      const { model, problem } = problemModel(scheme);
      const few = await inferHidden(model, problem.sequences, { session: gpu(), samples: 50, keepSamples: 4, seed: 2 });
      const all = await inferHidden(model, problem.sequences, { session: gpu(), samples: 50, keepSamples: 50, seed: 2 });
      expect(few.means).toEqual(all.means);
      expect(few.samples).toEqual(all.samples!.map((sequence) => sequence.slice(0, 4)));
      const reference = referencePosterior(problem.model, problem.params, problem.sequences, { samples: 4, seed: 2 });
      expect(few.samples).toEqual(reference.samples);
      expect(few.means.flat(2).map((mean, i) => Math.abs(mean - reference.means.flat(2)[i])).every((error) => error < 1e-6)).toBe(true);
    }
  });

  it('checks its inputs before any GPU work and stops on the signal', async () => {
    const { model, problem } = problemModel('FS');
    await expect(inferHidden(model, problem.sequences.map((sequence) => sequence.map((bin) => [...bin, 0])), { session: gpu() })).rejects.toThrow(/data\[0\]\[0\] has 4 neurons but the model expects 3/);
    await expect(inferHidden(model, problem.sequences.map((sequence) => sequence.slice(0, 4)), { session: gpu() })).rejects.toThrow(/basis has 4 lags but sequences have only 4 bins/);
    await expect(inferHidden(model, problem.sequences, { session: gpu(), samples: 5, keepSamples: 6 })).rejects.toThrow(/keepSamples must be an integer in 0\.\.5/);
    await expect(inferHidden({ ...model, variational: undefined }, problem.sequences, { session: gpu() })).rejects.toThrow(/no variational part/);
    const controller = new AbortController();
    const reason = new Error('stopped by the test');
    const running = inferHidden(model, problem.sequences, { session: gpu(), samples: 40, signal: controller.signal, maxJobBytes: 20_000 });
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
  });
});

function pearson(a: number[], b: number[]): number {
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  const [ma, mb] = [mean(a), mean(b)];
  let [ab, aa, bb] = [0, 0, 0];
  a.forEach((value, i) => {
    ab += (value - ma) * (b[i] - mb);
    aa += (value - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  });
  return ab / Math.sqrt(aa * bb);
}

describe('the posterior of a fitted model tracks the true hidden spikes', () => {
  it("synthetic trial 0, FB-exponential fitted for 60 epochs: the matched correlation is well above the shuffled control's", async () => {
    const data = await syntheticDataset(0, {}, gpu());
    const fitted = await fit(data.train.visible, { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 60 }, { session: gpu() });
    const { means } = await inferHidden(fitted.model, data.test.visible, { session: gpu() });
    // order[k]: the learned hidden neuron matched to true hidden neuron k (by the weights, as the W error matches).
    const order = parameterErrors(fitted.model.generative, data.truth.generative, data.visible).hiddenOrder;
    const S = data.test.visible.length;
    // The best correlation over true hidden neurons of the posterior means of sequence s with the true spikes of
    // sequence s + shift: shift 0 is the statistic, shifts 1..S-1 pair each sequence with another's spikes (chance).
    const bestCorrelation = (shift: number): number =>
      Math.max(
        ...order.map((learned, k) =>
          pearson(
            means.flatMap((sequence) => sequence.map((bin) => bin[learned])),
            data.test.hidden.flatMap((_, s) => data.test.hidden[(s + shift) % S].map((bin) => bin[k])),
          ),
        ),
      );
    const matched = bestCorrelation(0);
    const controls = Array.from({ length: S - 1 }, (_, i) => bestCorrelation(i + 1));
    const meanControl = controls.reduce((sum, value) => sum + value, 0) / controls.length;
    console.log(`posterior vs true hidden spikes: matched r = ${matched.toFixed(3)}, shuffled max ${Math.max(...controls).toFixed(3)} mean ${meanControl.toFixed(3)}`);
    // Measured (fit seeds 0-3; trial 3 alike): matched 0.21-0.23, shuffled max 0.05-0.06, mean 0.015. The data hold
    // little about single hidden spikes: the true model's own posterior (estimated by importance sampling) correlates
    // 0.13-0.16 on trial 0 and more training data does not raise the fitted one, so 0.3 is out of reach here.
    expect(matched).toBeGreaterThan(0.15);
    expect(Math.max(...controls)).toBeLessThan(0.1);
    expect(Math.abs(meanControl)).toBeLessThan(0.04);
    // Above every one of the 19 shuffles, by a margin: a permutation test at p < 0.05 with room to spare.
    expect(matched - Math.max(...controls)).toBeGreaterThan(0.1);
  });
});

describe('poglm infer', () => {
  let folder = '';
  const at = (name: string): string => join(folder, name);
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'poglm-infer-'));
    const { model, problem } = problemModel('FS');
    writeFileSync(at('model.json'), JSON.stringify(model));
    writeFileSync(at('data.json'), JSON.stringify(problem.sequences));
    writeFileSync(at('wide.json'), JSON.stringify(problem.sequences.map((sequence) => sequence.map((bin) => [...bin, 1]))));
    writeFileSync(at('short.json'), JSON.stringify(problem.sequences.map((sequence) => sequence.slice(0, 3))));
    writeFileSync(at('generative.json'), JSON.stringify({ ...model, variational: undefined }));
    mkdirSync(at('folder'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  afterEach(() => {
    process.exitCode = undefined;
  });

  /** Runs `poglm infer ...` in-process, as main.ts would once it registers the command, with POGLM_TRACE set. */
  async function infer(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const program = new Command().exitOverride();
    registerInferCommand(program);
    const [out, err]: string[][] = [[], []];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((text) => (out.push(String(text)), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((text) => (err.push(String(text)), true));
    vi.stubEnv('POGLM_TRACE', '1');
    try {
      await program.parseAsync(['infer', ...args], { from: 'user' });
      return { code: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      vi.unstubAllEnvs();
    }
  }

  it('writes the JSON and the .npy files, which numpy reads back as the same numbers', async () => {
    const result = await infer('--model', at('model.json'), '--data', at('data.json'), '--out', at('post.json'), '--samples', '20', '--keep-samples', '3', '--seed', '7', '--npy');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/post\.means\.npy.*post\.samples\.npy.*averaged over 20 samples/);
    const written = JSON.parse(readFileSync(at('post.json'), 'utf8'));
    const { model, problem } = problemModel('FS');
    const api = await inferHidden(model, problem.sequences, { session: gpu(), samples: 20, keepSamples: 3, seed: 7 });
    expect(written).toEqual(api);
    const read = runNumpy(
      `import json, sys, numpy as np
paths = json.load(sys.stdin)
arrays = [np.load(path, allow_pickle=False) for path in paths]
print(json.dumps([{"dtype": str(a.dtype), "shape": list(a.shape), "values": a.tolist()} for a in arrays]))`,
      [at('post.means.npy'), at('post.samples.npy')],
    );
    expect(read[0]).toEqual({ dtype: 'float64', shape: [SEQUENCES, BINS, 2], values: api.means });
    expect(read[1]).toEqual({ dtype: 'float64', shape: [SEQUENCES, 3, BINS, 2], values: api.samples });
  });

  it.each([
    ['data of another width', ['--data', 'wide.json'], /--data .*wide\.json\[0\]\[0\] has 4 neurons but the model expects 3/],
    ['sequences no longer than the basis', ['--data', 'short.json'], /basis has 4 lags but .*short\.json has only 3 bins/],
    ['more kept samples than drawn', ['--samples', '4', '--keep-samples', '5'], /--keep-samples 5 is more than --samples 4/],
    ['no samples', ['--samples', '0'], /--samples/],
    ['a model without q', ['--model', 'generative.json'], /--model .*generative\.json has no variational part/],
    ['an --out that is a folder', ['--out', 'folder'], /--out .*folder is a folder/],
    ['an --out that is the data', ['--out', 'data.json'], /--out .*data\.json is also the --data file/],
  ])('refuses %s with exit 2 before opening a GPU session', async (_, change, message) => {
    const flags: Record<string, string> = { '--model': 'model.json', '--data': 'data.json', '--out': 'refused.json', '--samples': '10', '--keep-samples': '0' };
    for (let i = 0; i < change.length; i += 2) flags[change[i]] = change[i + 1];
    const files = new Set(['--model', '--data', '--out']);
    const args = Object.entries(flags).flatMap(([flag, value]) => [flag, files.has(flag) ? at(value) : value]);
    const result = await infer(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/opening the GPU session/);
    expect(existsSync(at('refused.json'))).toBe(false);
  });
});

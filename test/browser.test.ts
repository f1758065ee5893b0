// Browser smoke test: the same kernels, through the same library build (dist/browser/poglm-gpu.js), in Debian's
// Chromium with WebGPU on SwiftShader. The page simulates a fixed model and computes one ELBO gradient; Node checks
// both against the float64 reference. The page then runs a short FB/exponential fit, which must raise the ELBO and
// agree with the same fit run in Node on the same data and seed. A missing Chromium fails the test with the setup
// command; it never skips.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoisePurpose } from '../src/model/philox.js';
import { elboAndGradient } from '../src/reference/model.js';
import { philoxUniforms, simulateReference } from '../src/reference/simulate.js';
import { exponentialBasis } from '../src/model/basis.js';
import { reflectShader } from '../src/gpu/reflect.js';
import { listShaderFiles, resolveShader } from '../src/shaders/include.js';
import { bundlePath, openBrowserHarness, repositoryRoot, type BrowserHarness } from './browser/harness.js';
import { newestLibrarySource } from './helpers/freshness.js';
import { makeProblem, relativeError } from './helpers/problems.js';
import { useGpuSession } from './helpers/gpu.js';
import { fit, type FitSettings } from '../src/api/fit.js';
import type { PoglmModelJson } from '../src/model/json.js';
import { syntheticDataset } from '../src/api/synthetic.js';

/** The library as the page sees it: window.poglm, the bundle's exports. */
type PageWindow = Window & { poglm: typeof import('../src/index.js') };

/** Newest modification time of the files the bundle is built from: the library, its two build scripts and their shared checks. */
function newestSourceTime(): number {
  const scripts = ['embed-shaders.mjs', 'build-browser.mjs', 'bundle-checks.mjs'].map((script) => statSync(join(repositoryRoot, 'scripts', script)).mtimeMs);
  return Math.max(newestLibrarySource(repositoryRoot), ...scripts);
}

/** Builds dist/browser/poglm-gpu.js when it is missing or older than its sources (about a quarter of a second). */
function ensureBundle(): void {
  if (existsSync(bundlePath) && statSync(bundlePath).mtimeMs >= newestSourceTime()) return;
  console.log(`browser test: ${existsSync(bundlePath) ? 'rebuilding the stale' : 'building the missing'} bundle ${bundlePath}`);
  for (const script of ['embed-shaders.mjs', 'build-browser.mjs']) {
    execFileSync(process.execPath, [join(repositoryRoot, 'scripts', script)], { cwd: repositoryRoot, stdio: 'inherit' });
  }
}

// A fixed 5-neuron model with mixed excitation and inhibition: 613 spikes in its 4 x 60 x 5 neuron-bins at seed 7.
const WEIGHT = [
  [1.0, -0.6, 0.4, 0.0, -0.3],
  [0.5, 0.8, -0.7, 0.2, 0.0],
  [-0.4, 0.3, 0.9, -0.5, 0.6],
  [0.0, -0.8, 0.5, 1.1, -0.2],
  [0.7, 0.1, -0.3, -0.6, 0.5],
];
const BIAS = [-0.5, 0.2, -1.0, 0.0, 0.4];
const SEQUENCES = 4;
const BINS = 60;
const SEED = 7;

/**
 * Every compute entry point of the library's shaders that binds more storage buffers than `limit` (layout "auto"
 * counts the buffers an entry point statically uses), for a failure message that names them all at once.
 */
function kernelsOverStorageLimit(limit: number): string[] {
  const over: string[] = [];
  for (const file of listShaderFiles()) {
    const reflection = reflectShader(resolveShader(file).code);
    for (const [name, entry] of reflection.entryPoints) {
      const storage = [...reflection.bindings.values()].filter((binding) => binding.kind === 'storage' && entry.resources.has(binding.name));
      if (storage.length > limit) over.push(`${file}:${name} (${storage.length})`);
    }
  }
  return over;
}

describe('the library in a browser (Chromium, WebGPU on SwiftShader)', () => {
  const gpu = useGpuSession();
  let harness: BrowserHarness | undefined;
  const browser = (): BrowserHarness => {
    if (!harness) throw new Error('the browser harness did not open (see the error in beforeAll)');
    return harness;
  };

  beforeAll(async () => {
    ensureBundle();
    harness = await openBrowserHarness();
    console.log(`browser test: ${harness.version} at ${harness.url}`);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('simulates the same spikes as the float64 reference from the same Philox stream', async () => {
    const page = await browser().run(
      async ({ weight, bias, sequences, bins, seed }) => {
        const lib = (window as unknown as PageWindow).poglm;
        const session = await lib.GpuSession.open();
        try {
          const limits = session.context.limits;
          const result = await lib.simulateOnDevice(session, {
            models: [{ weight, bias }],
            basis: lib.exponentialBasis(5),
            sequences,
            bins,
            seeds: seed,
          });
          return {
            adapter: session.adapter,
            secure: window.isSecureContext,
            maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
            maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
            chunks: result.chunks,
            spikes: Array.from(result.spikes),
          };
        } finally {
          session.destroy();
        }
      },
      { weight: WEIGHT, bias: BIAS, sequences: SEQUENCES, bins: BINS, seed: SEED },
    );
    // The CI log must show which adapter ran the browser test.
    console.log(
      `browser test on: ${page.adapter} (secure context ${page.secure}; maxStorageBuffersPerShaderStage ` +
        `${page.maxStorageBuffersPerShaderStage}, maxStorageBufferBindingSize ${page.maxStorageBufferBindingSize})`,
    );

    const expected = simulateReference(WEIGHT, BIAS, exponentialBasis(5), BINS, SEQUENCES, philoxUniforms(SEED, NoisePurpose.simulate)).flat(2);
    expect(page.spikes).toHaveLength(SEQUENCES * BINS * 5);
    const differing = page.spikes.filter((count, index) => count !== expected[index]).length;
    const total = page.spikes.reduce((sum, count) => sum + count, 0);
    console.log(
      `browser simulation: ${total} spikes in ${page.spikes.length} neuron-bins (reference ${expected.reduce((a, b) => a + b, 0)}); ` +
        `${differing} counts differ from the float64 reference`,
    );
    // Same Philox words and the same inversion: exact equality (an f32 rate could in principle flip a count at a
    // CDF boundary; for this fixed case none does, so any difference is a real divergence).
    expect(page.spikes).toEqual(expected);
    expect(total).toBeGreaterThan(200);
    expect(Math.max(...page.spikes)).toBeLessThan(10);
  });

  it('computes the ELBO and its gradient (FB, exponential) like the float64 reference', async () => {
    const problem = makeProblem('FB', 'exponential', { bins: 20, sequences: 3, samples: 3 });
    const expected = elboAndGradient(problem.model, problem.params, problem.sequences, problem.noise);
    const outcome = await browser().run(
      async ({ layout, method, basis, params, sequences, noise }) => {
        const lib = (window as unknown as PageWindow).poglm;
        const session = await lib.GpuSession.open();
        const limit = session.context.limits.maxStorageBuffersPerShaderStage;
        try {
          const result = await lib.computeElboGradient(session, { layout, method, basis, params, sequences, noise });
          return { limit, elbo: result.elbo, weights: result.weights, gradient: Array.from(result.gradient) };
        } catch (error) {
          return { limit, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
        } finally {
          session.destroy();
        }
      },
      {
        layout: problem.layout,
        method: problem.method,
        basis: problem.model.basis,
        params: Array.from(problem.params),
        sequences: problem.sequences,
        noise: problem.noise,
      },
    );
    if ('error' in outcome) {
      // Name every kernel this adapter cannot run, not just the first pipeline that failed.
      const over = kernelsOverStorageLimit(outcome.limit);
      throw new Error(
        `computeElboGradient failed in the browser: ${outcome.error}\n` +
          `Kernels binding more storage buffers than this adapter's maxStorageBuffersPerShaderStage (${outcome.limit}): ` +
          `${over.join(', ') || 'none'}`,
      );
    }
    const actual = outcome;
    const gradientError = relativeError(actual.gradient, expected.gradient);
    console.log(
      `browser gradient: ELBO ${actual.elbo} vs ${expected.elbo} (difference ${Math.abs(actual.elbo - expected.elbo).toExponential(2)}); ` +
        `gradient relative error ${gradientError.toExponential(2)}`,
    );
    // The tolerances of test/gradients.test.ts: ELBO to 1e-5 relative, sample weights to 1e-4 relative + 1e-3,
    // the gradient vector to 1e-4 relative.
    expect(Math.abs(actual.elbo - expected.elbo)).toBeLessThan(1e-5 * Math.abs(expected.elbo) + 1e-4);
    expect(actual.weights.flat()).toHaveLength(expected.weights.flat().length);
    actual.weights.flat().forEach((weight, index) => {
      const reference = expected.weights.flat()[index];
      expect(Math.abs(weight - reference)).toBeLessThan(1e-4 * Math.abs(reference) + 1e-3);
    });
    expect(gradientError).toBeLessThan(1e-4);
  });

  it('fits FB/exponential in the browser: the ELBO rises and matches the Node fit of the same data and seed', async () => {
    // The same data reaches both runs: the first 8 training sequences of synthetic trial 0 (3 visible neurons,
    // 100 bins), simulated once in Node and handed to the page as plain integer arrays.
    const train = (await syntheticDataset(0, {}, gpu())).train.visible.slice(0, 8);
    const settings = { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 6, batchSize: 4, samples: 3, seed: 5 } satisfies FitSettings;

    // The fit in the page, through the bundle, on the page's own GpuSession.
    const browserStarted = performance.now();
    const page = await browser().run(
      async ({ train, settings }) => {
        const lib = (window as unknown as PageWindow).poglm;
        const session = await lib.GpuSession.open();
        try {
          const result = await lib.fit(train, settings, { session });
          return { adapter: session.adapter, elboHistory: result.elboHistory, model: result.model };
        } catch (error) {
          return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
        } finally {
          session.destroy();
        }
      },
      { train, settings },
    );
    const browserSeconds = (performance.now() - browserStarted) / 1000;
    if ('error' in page) throw new Error(`fit failed in the browser: ${page.error}`);

    // The identical fit in Node (Dawn; lavapipe in CI).
    const nodeStarted = performance.now();
    const node = await fit(train, settings, { session: gpu() });
    const nodeSeconds = (performance.now() - nodeStarted) / 1000;

    const browserElbo = page.elboHistory;
    const nodeElbo = node.elboHistory;
    expect(browserElbo).toHaveLength(settings.epochs);
    expect(nodeElbo).toHaveLength(settings.epochs);
    const rise = browserElbo[browserElbo.length - 1] - browserElbo[0];
    const elboDifference = Math.max(...browserElbo.map((value, epoch) => Math.abs(value - nodeElbo[epoch]) / Math.abs(nodeElbo[epoch])));
    const parameters = (model: PoglmModelJson) => ({
      generative: [...model.generative.weight.flat(), ...model.generative.bias],
      variational: [...(model.variational?.forwardWeight.flat() ?? []), ...(model.variational?.backwardWeight?.flat() ?? []), ...(model.variational?.bias ?? [])],
    });
    const fromPage = parameters(page.model);
    const fromNode = parameters(node.model);
    const largestDifference = (a: number[], b: number[]) => Math.max(...a.map((value, index) => Math.abs(value - b[index])));
    expect(fromPage.generative).toHaveLength(fromNode.generative.length);
    expect(fromPage.variational).toHaveLength(fromNode.variational.length);
    const generativeDifference = largestDifference(fromPage.generative, fromNode.generative);
    const variationalDifference = largestDifference(fromPage.variational, fromNode.variational);
    console.log(
      `browser fit on ${page.adapter} (${browserSeconds.toFixed(2)} s), Node fit on ${node.model.training?.adapter} (${nodeSeconds.toFixed(2)} s)\n` +
        `  browser ELBO per epoch ${browserElbo.map((value) => value.toFixed(4)).join(', ')}\n` +
        `  Node ELBO per epoch    ${nodeElbo.map((value) => value.toFixed(4)).join(', ')}\n` +
        `  browser rise ${rise.toFixed(3)}; largest relative ELBO difference ${elboDifference.toExponential(2)}; largest absolute ` +
        `parameter difference: generative ${generativeDifference.toExponential(2)}, variational ${variationalDifference.toExponential(2)}`,
    );

    expect(page.model.training?.adapter).toBe(page.adapter);
    expect(browserElbo).toHaveLength(settings.epochs);
    expect(nodeElbo).toHaveLength(settings.epochs);
    expect(fromPage.generative).toHaveLength(5 * 5 + 5);
    expect(fromPage.variational).toHaveLength(2 * 3 * 2 + 2);
    expect([...browserElbo, ...nodeElbo, ...fromPage.generative, ...fromPage.variational].every(Number.isFinite)).toBe(true);
    // (a) The browser ELBO rises: measured -267.52 -> -240.14 over the 6 epochs (+27.4, every epoch higher than the
    // one before); the bound asks for a third of that.
    expect(rise).toBeGreaterThan(10);
    // (b) SwiftShader (Chromium) and lavapipe (Node) evaluate exp/log in different f32 code, so the runs are not
    // bit-identical: the largest relative ELBO difference per epoch measured 6.6e-7 (about 2e-4 in absolute terms);
    // 1e-4 relative leaves two orders of magnitude.
    expect(elboDifference).toBeLessThan(1e-4);
    // (c) Fitted parameters (|values| up to about 1): generative weights and biases differed by at most 8.1e-6, the
    // variational ones by at most the same order; 1e-3 absolute leaves two orders of magnitude.
    expect(generativeDifference).toBeLessThan(1e-3);
    expect(variationalDifference).toBeLessThan(1e-3);
  });

  it("fits counts from the page's own GPUBuffer as from nested arrays, and the page's kernel reads the returned parameters", async () => {
    const train = (await syntheticDataset(0, { sequences: 12, trainSequences: 8, bins: 40 }, gpu())).train.visible;
    const settings = { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 2, batchSize: 4, samples: 3, seed: 5 } satisfies FitSettings;
    const page = await browser().run(
      async ({ train, settings }) => {
        const lib = (window as unknown as PageWindow).poglm;
        // The page's own device, as an app makes it; the library adopts it.
        const adapter = await navigator.gpu.requestAdapter();
        const device = await adapter!.requestDevice();
        const session = await lib.GpuSession.open({ device });
        const usage = lib.BufferUsage;
        try {
          const flat = new Float32Array(train.flat(2));
          const counts = device.createBuffer({ size: flat.byteLength, usage: usage.STORAGE | usage.COPY_SRC | usage.COPY_DST });
          device.queue.writeBuffer(counts, 0, flat);
          const shape = [train.length, train[0].length, train[0][0].length] as const;
          const fromBuffer = await lib.fit({ buffer: counts, shape, format: 'f32' }, settings, { session });
          const fromArrays = await lib.fit(train, settings, { session });
          const model = lib.modelToBuffer(session, fromBuffer.model);
          // The page's kernel: out[i] = 2 * params[biasOffset + i] + 1.
          const module = device.createShaderModule({
            code: `@group(0) @binding(0) var<storage, read> params: array<f32>;
              @group(0) @binding(1) var<storage, read_write> result: array<f32>;
              override offset: u32;
              @compute @workgroup_size(8) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
                if (id.x < arrayLength(&result)) { result[id.x] = 2.0 * params[offset + id.x] + 1.0; }
              }`,
          });
          const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: { offset: model.layout.biasOffset } } });
          const neurons = model.layout.neurons;
          const result = device.createBuffer({ size: neurons * 4, usage: usage.STORAGE | usage.COPY_SRC });
          const staging = device.createBuffer({ size: neurons * 4, usage: usage.MAP_READ | usage.COPY_DST });
          const bindAndRun = (): Promise<GPUError | null> => {
            device.pushErrorScope('validation');
            const group = device.createBindGroup({
              layout: pipeline.getBindGroupLayout(0),
              entries: [
                { binding: 0, resource: { buffer: model.buffer } },
                { binding: 1, resource: { buffer: result } },
              ],
            });
            const encoder = device.createCommandEncoder();
            const pass = encoder.beginComputePass();
            pass.setPipeline(pipeline);
            pass.setBindGroup(0, group);
            pass.dispatchWorkgroups(1);
            pass.end();
            encoder.copyBufferToBuffer(result, 0, staging, 0, neurons * 4);
            device.queue.submit([encoder.finish()]);
            return device.popErrorScope();
          };
          const error = await bindAndRun();
          await staging.mapAsync(lib.MapMode.READ);
          const values = Array.from(new Float32Array(staging.getMappedRange().slice(0)));
          staging.unmap();
          model.release();
          const afterRelease = await bindAndRun();
          session.destroy();
          // The page's device and its buffer outlive the session.
          const stillMine = device.createBuffer({ size: 16, usage: usage.COPY_DST });
          stillMine.destroy();
          counts.destroy();
          return {
            fromBuffer: fromBuffer.model,
            fromArrays: fromArrays.model,
            bias: fromBuffer.model.generative.bias,
            values,
            error: error?.message ?? null,
            afterRelease: afterRelease?.message ?? null,
            lost: await Promise.race([device.lost.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 50))]),
          };
        } catch (error) {
          session.destroy();
          return { failed: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
        } finally {
          device.destroy();
        }
      },
      { train, settings },
    );
    if ('failed' in page) throw new Error(`the GPUBuffer fit failed in the browser: ${page.failed}`);
    // The same device and the same counts: bit for bit the fit of nested arrays.
    expect(page.fromBuffer.generative).toEqual(page.fromArrays.generative);
    expect(page.fromBuffer.variational).toEqual(page.fromArrays.variational);
    expect(page.error).toBeNull();
    expect(page.values).toEqual(page.bias.map((b) => Math.fround(2 * Math.fround(b) + 1)));
    expect(page.afterRelease).toMatch(/destroyed/i);
    expect(page.lost).toBe(false);
  });

  it('reported no console errors or failed requests', () => {
    expect(browser().errors).toEqual([]);
  });
});

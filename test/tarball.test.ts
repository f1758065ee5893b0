// The package as `npm pack` makes it, installed into fresh projects as an application would install it: one with
// the optional Dawn (a Node application) and one without (a web application). The Node project type-checks strictly,
// runs a fit on a device of its own and runs the CLI; the web project type-checks with bundler resolution and bundles
// for the browser with esbuild, with no Node built-in and none of the CLI's or Dawn's packages in the bundle.
// TypeScript and esbuild are the repository's own, not installed again; they resolve poglm-gpu from each project's
// node_modules, which the tests check. npm installs from its cache where it can (npm ci filled it).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newestLibrarySource } from './helpers/freshness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const run = promisify(execFile);

let work = '';
/** With the optional Dawn (`webgpu`), as a Node application installs the package. */
let nodeApp = '';
/** Without optional dependencies (--omit=optional), as a web application may. */
let webApp = '';
const installSeconds: Record<string, number> = {};

/**
 * dist/ is built by the global setup (test/helpers/global-setup.ts), fresh as of the start of the run; the browser
 * bundle is a separate esbuild step (`npm test` runs it): built here when it is missing or older than the library,
 * as test/browser.test.ts does.
 */
function ensureBuilt(): void {
  expect(existsSync(join(ROOT, 'dist', 'index.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  const bundle = join(ROOT, 'dist', 'browser', 'poglm-gpu.js');
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestLibrarySource(ROOT)) return;
  console.log('tarball test: building the missing or stale browser bundle');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-browser.mjs')], { cwd: ROOT, stdio: 'inherit' });
}

/** `npm pack` into `folder`: the path of the tarball. Scripts off: the build is checked above, not run again. */
function pack(folder: string): string {
  const output = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', folder], { cwd: ROOT, encoding: 'utf8' });
  return join(folder, (JSON.parse(output) as { filename: string }[])[0].filename);
}

/**
 * A fresh ES-module project in `folder` with the tarball installed. Install scripts off: the package must work
 * without any (its dist/ is built before packing), and the lock file is not needed.
 */
async function freshProject(folder: string, tarball: string, extra: string[]): Promise<void> {
  mkdirSync(folder);
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true, type: 'module' }));
  const started = performance.now();
  await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', ...extra], { cwd: folder });
  installSeconds[relative(work, folder)] = (performance.now() - started) / 1000;
}

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'poglm-tarball-'));
  const tarball = pack(work);
  nodeApp = join(work, 'node-app');
  webApp = join(work, 'web-app');
  await Promise.all([freshProject(nodeApp, tarball, []), freshProject(webApp, tarball, ['--omit=optional'])]);
  console.log(`tarball test: npm install took ${Object.entries(installSeconds).map(([name, seconds]) => `${seconds.toFixed(1)} s (${name})`).join(', ')}`);
}, 180_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const installed = (app: string, name: string): boolean => existsSync(join(app, 'node_modules', name, 'package.json'));

describe('the packed tarball in a fresh project', () => {
  it('installs with its dependencies, Dawn only where optional dependencies are wanted', () => {
    for (const app of [nodeApp, webApp]) {
      for (const name of ['poglm-gpu', '@webgpu/types', 'wgsl_reflect', 'commander']) expect(installed(app, name), `${name} in ${app}`).toBe(true);
      expect(existsSync(join(app, 'node_modules', '.bin', 'poglm')), 'the poglm command').toBe(true);
    }
    expect(installed(nodeApp, 'webgpu')).toBe(true);
    expect(installed(webApp, 'webgpu')).toBe(false);
  });

  it('type-checks a strict Node consumer (NodeNext) that imports only poglm-gpu and names WebGPU types', () => {
    writeFileSync(join(nodeApp, 'consumer.ts'), CONSUMER_TS);
    const files = typeCheck(nodeApp, { module: 'NodeNext', moduleResolution: 'NodeNext' });
    expect(files).toContain(join(nodeApp, 'node_modules', 'poglm-gpu', 'dist', 'index.d.ts'));
    expect(files).toContain(join(nodeApp, 'node_modules', '@webgpu', 'types', 'dist', 'index.d.ts'));
  });

  it('type-checks a strict web consumer (bundler resolution, no Dawn installed) of poglm-gpu and poglm-gpu/browser', () => {
    writeFileSync(join(webApp, 'consumer.ts'), `${CONSUMER_TS}\nexport { fit as browserFit } from 'poglm-gpu/browser';\n`);
    const files = typeCheck(webApp, { module: 'ESNext', moduleResolution: 'bundler' });
    expect(files).toContain(join(webApp, 'node_modules', 'poglm-gpu', 'dist', 'index.d.ts'));
  });

  it('runs in Node: opens its own device, simulates, fits two epochs, and exits promptly', () => {
    writeFileSync(join(nodeApp, 'run.mjs'), NODE_RUN);
    const result = spawnSync(process.execPath, ['run.mjs'], { cwd: nodeApp, encoding: 'utf8', timeout: 120_000 });
    const exitedAt = Date.now();
    expect(result.status, `${result.stderr}${result.error ?? ''}`).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.resolved).toBe(pathToFileURL(join(nodeApp, 'node_modules', 'poglm-gpu', 'dist', 'index.js')).href);
    expect(out.adapter).toMatch(/\w/);
    expect(out.train).toEqual([4, 30, 3]);
    expect(out.elboHistory).toHaveLength(2);
    for (const elbo of out.elboHistory) expect(Number.isFinite(elbo) && elbo < 0, `ELBO ${elbo}`).toBe(true);
    // 4 sequences in minibatches of 2: 2 steps an epoch.
    expect(out.steps).toBe(4);
    expect(out.weights).toBe(25);
    expect(out.finiteWeights).toBe(true);
    // A destroyed session leaves nothing that keeps Node running.
    expect(exitedAt - out.doneAt, 'milliseconds from the end of the work to the exit').toBeLessThan(3000);
  });

  it('says how to add Dawn when a Node program opens a device without it', () => {
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', "import { GpuSession } from 'poglm-gpu'; await GpuSession.open();"], { cwd: webApp, encoding: 'utf8', timeout: 60_000 });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/npm install webgpu/);
  });

  it('bundles for the browser with esbuild: the browser build, no Node built-in, nothing of Dawn or the CLI', async () => {
    writeFileSync(join(webApp, 'app.js'), APP_JS);
    const { build } = await import('esbuild');
    const result = await build({ entryPoints: ['app.js'], outfile: 'out/app.js', bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, absWorkingDir: webApp, logLevel: 'silent' });
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((warning) => warning.text)).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    // The `browser` condition picks the browser build: one self-contained module.
    expect(inputs.sort()).toEqual(['app.js', 'node_modules/poglm-gpu/dist/browser/poglm-gpu.js']);
    const output = Object.values(result.metafile.outputs).find((file) => file.entryPoint === 'app.js')!;
    expect(output.imports.filter((item) => item.kind !== 'dynamic-import')).toEqual([]);
    const nodeNames = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
    const imported = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((item) => item.path));
    expect(imported.filter((path) => nodeNames.has(path) || path.startsWith('node:'))).toEqual([]);
    expect(imported.filter((path) => CLI_AND_DAWN.test(path))).toEqual([]);
  });

  it('bundles for Node with esbuild from the node entry, without the CLI or its packages', async () => {
    writeFileSync(join(nodeApp, 'app.js'), APP_JS);
    const { build } = await import('esbuild');
    const result = await build({ entryPoints: ['app.js'], outfile: 'out/app.js', bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, absWorkingDir: nodeApp, logLevel: 'silent' });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('node_modules/poglm-gpu/dist/index.js');
    expect(inputs.filter((path) => /^node_modules\/poglm-gpu\/dist\/(cli|browser)\//.test(path) || CLI_AND_DAWN.test(path))).toEqual([]);
  });

  it('runs its CLI: a command that opens a device prints its result and leaves stderr empty (no Dawn warning)', () => {
    const poglm = join(nodeApp, 'node_modules', '.bin', 'poglm');
    const result = spawnSync(poglm, ['synth', '--trial', '1', '--out', 'synth.json', '--sequences', '3', '--train-sequences', '2', '--bins', '10', '--json'], { cwd: nodeApp, encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ out: 'synth.json', trial: 1, train: 2, test: 1, bins: 10 });
    expect(JSON.parse(readFileSync(join(nodeApp, 'synth.json'), 'utf8')).train.visible).toHaveLength(2);
  });
});

/** An application's entry point: what it imports is what a bundler follows. */
const APP_JS = `import { GpuSession, fit, syntheticDataset } from 'poglm-gpu';
export async function start() {
  const session = await GpuSession.open();
  return fit((await syntheticDataset(0, {}, session)).train.visible, { hidden: 2, scheme: 'FB', method: 'exponential' }, { session });
}
`;

/** Dawn and the packages only the CLI needs, by import path or bundled file. */
const CLI_AND_DAWN = /(^|\/)(webgpu|commander|@resvg\/resvg-js|h5wasm)(\/|$)/;

/** Strict, no ambient types at all (types: []): GPUDevice can only come from the package's own reference. */
const CONSUMER_TS = [
  "import { GpuSession, fit, syntheticDataset, type FitResult } from 'poglm-gpu';",
  'export async function train(device: GPUDevice): Promise<FitResult> {',
  '  const session = await GpuSession.open({ device });',
  "  const buffer: GPUBuffer = session.context.createStorage('mine', 16);",
  '  session.context.release(buffer);',
  '  const data = await syntheticDataset(0, { sequences: 4, trainSequences: 2 }, session);',
  "  return fit(data.train.visible, { hidden: 2, scheme: 'FB', method: 'exponential' }, { session });",
  '}',
  '',
].join('\n');

/**
 * Type-checks `app`'s consumer.ts with the repository's TypeScript and returns the files it read. Fails with the
 * compiler's output on any error, and if a file came from anywhere but the project (or TypeScript's own lib files).
 */
function typeCheck(app: string, resolution: { module: string; moduleResolution: string }): string[] {
  // The DOM lib, as TypeScript's default for ES2022 has it: @webgpu/types is written against it (BufferSource, EventTarget).
  const compilerOptions = { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], skipLibCheck: false, ...resolution };
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
  const result = spawnSync(process.execPath, [TSC, '-p', app, '--listFiles'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  const output = `${result.stdout}${result.stderr}${result.error ?? ''}`;
  expect(output.split('\n').filter((line) => /error TS\d+/.test(line)), output).toEqual([]);
  expect(result.status, output).toBe(0);
  const files = result.stdout.split('\n').filter((line) => line.startsWith(sep));
  const typescriptLib = join(ROOT, 'node_modules', 'typescript', 'lib') + sep;
  expect(files.filter((path) => !path.startsWith(app + sep) && !path.startsWith(typescriptLib)), 'files from outside the project').toEqual([]);
  return files;
}

/** A small real job on a device the program opens itself; prints what the test checks, as JSON. */
const NODE_RUN = `import { GpuSession, fit, syntheticDataset } from 'poglm-gpu';
const session = await GpuSession.open();
try {
  const data = await syntheticDataset(1, { sequences: 6, trainSequences: 4, bins: 30 }, session);
  const result = await fit(data.train.visible, { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 2, batchSize: 2, samples: 2, seed: 3 }, { session });
  const weights = result.model.generative.weight.flat();
  console.log(JSON.stringify({
    resolved: import.meta.resolve('poglm-gpu'),
    adapter: session.adapter,
    train: [data.train.visible.length, data.train.visible[0].length, data.train.visible[0][0].length],
    elboHistory: result.elboHistory,
    steps: result.steps,
    weights: weights.length,
    finiteWeights: weights.every(Number.isFinite),
    doneAt: Date.now(),
  }));
} finally {
  session.destroy();
}
`;

// `npm run bench`: the library's performance numbers in one process (docs/benchmarks.md explains every number).
//   peak       the adapter's FMA peak (bench/kernels/fma_peak.wgsl)
//   synthetic, rgc, large, large-b32, neurons-1024
//              one training step, WGSL engine vs tfjs-webgpu vs tfjs-cpu vs PyTorch (CPU, 1 and 2 threads, run as
//              subprocesses of bench/torch/poglm_torch.py), FB and FS exponential
//   profile    per-stage time of one WGSL training step (each stage encoded k times in one submission), FB and FS
//              exponential, synthetic size at B = 1 and 100 models per job, large size at B = 1
//   scaling-T, scaling-N, scaling-B
//              WGSL step time as T, the neuron count and the models per job double (FB exponential)
//   grid       fits per second of B = 1, 10, 100, 1000 batched synthetic fits (fitMany)
//   grid-step  one training step of the B = 1000 grid job, and its GFLOP/s against the peak
//   fit        one synthetic fit at T = 100 and T = 1000, and the dispatches per training step
// Prints tables and writes bench/results/latest.json plus a timestamped copy (subset runs: subset-*.json).
// No timing is asserted anywhere: targets are reported as met or missed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GpuSession } from '../src/engine/session.js';
import type { Scheme } from '../src/model/types.js';
import { stepFlops, type StepShape } from './flops.js';
import { runGrid as runGridApi } from '../src/api/grid.js';
import { syntheticDataset } from '../src/api/synthetic.js';
import { METHODS } from '../src/model/types.js';
import { PAPER_GRID, runFit, runGrid } from './grid.js';
import { describeSize, LARGE_SIZES, POISSON_RATE, problemData, SIZES, type ProblemSize, type SizeName } from './problems.js';
import { createTfjsStepJob, openTfjsBackend, tfjsVersion, type TfjsEngine } from './tfjs-steps.js';
import { findTorchPython, torchTime } from './torch/runner.js';
import { initialParams } from '../src/model/schedule.js';
import { paramLayout } from '../src/model/params.js';
import { exponentialBasis } from '../src/model/basis.js';
import { timeRuns, timeSteps, type StepTiming, type TimingOptions } from './timing.js';
import { createChunkedStepJob, createStepJob, measurePeak, type WgslStepJob } from './wgsl.js';

type Engine = 'wgsl' | TfjsEngine | 'torch';
const ENGINES: Engine[] = ['wgsl', 'tfjs-webgpu', 'tfjs-cpu', 'torch'];
const SECTIONS = ['peak', 'synthetic', 'rgc', 'large', 'large-b32', 'neurons-1024', 'profile', 'scaling-T', 'scaling-N', 'scaling-B', 'grid', 'grid-step', 'fit', 'paper-grid'] as const;
type Section = (typeof SECTIONS)[number];
const COMPARE_SIZES: readonly SizeName[] = ['synthetic', 'rgc', 'large', 'large-b32', 'neurons-1024'];
/** Sizes where the tfjs engines run only when --engines names them (their steps there take minutes on a CPU). */
const TFJS_OPT_IN_SIZES: readonly SizeName[] = ['large-b32', 'neurons-1024'];
const SCHEMES: Scheme[] = ['FB', 'FS'];

// ---------------------------------------------------------------------------------------------------------------
// Command line

const HELP = `usage: tsx bench/run.ts [options]
  --only LIST      sections to run, comma-separated (default: all):
                   ${SECTIONS.join(', ')}
  --skip LIST      sections to leave out
  --engines LIST   engines for the comparison sections (default: ${ENGINES.join(',')}); the tfjs engines run
                   at ${TFJS_OPT_IN_SIZES.join(' and ')} only when named here
  --quick          fewer repeats and smaller time budgets; grid up to B = 100; no ${LARGE_SIZES.join(', ')} (nor the
                   large-size profile) unless named in --only
  --torch-threads LIST
                   thread counts of the torch engine, one subprocess each (default: 1,2)
  --torch-cap SECONDS
                   a torch step slower than this in its warm-up is measured once, not repeated (default: 5)
  --grid LIST      grid sizes B (default: 1,10,100,1000)
  --cap SECONDS    a training step slower than this is measured once, not repeated (default: 60)
  --budget-scale F multiply every time budget by F (default: 1; --quick uses 0.25)
  --dawn LIST      Dawn options for the WGSL engine's and tfjs-webgpu's devices, comma-separated
                   (e.g. backend=vulkan); default none
  --out DIR        results directory (default: bench/results)
  --no-save        print only, write no JSON
  -h, --help       this text`;

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    skip: { type: 'string' },
    engines: { type: 'string' },
    quick: { type: 'boolean', default: false },
    grid: { type: 'string' },
    cap: { type: 'string' },
    'torch-threads': { type: 'string' },
    'torch-cap': { type: 'string' },
    'budget-scale': { type: 'string' },
    dawn: { type: 'string' },
    out: { type: 'string' },
    'no-save': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

function list<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new Error(`--${name}: unknown "${item}" (use ${allowed.join(', ')})`);
  }
  return items as T[];
}

const quick = args.quick;
const only = list(args.only, SECTIONS, 'only');
const skip = list(args.skip, SECTIONS, 'skip') ?? [];
const sections = new Set<Section>(
  (only ?? SECTIONS.filter((s) => !(quick && (LARGE_SIZES as readonly string[]).includes(s)))).filter((s) => !skip.includes(s)),
);
const engines = list(args.engines, ENGINES, 'engines') ?? ENGINES;
const tfjsNamed = args.engines !== undefined;
const torchThreads = (args['torch-threads'] ?? '1,2').split(',').map(Number);
if (torchThreads.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--torch-threads takes positive integers');
const torchCapMs = Number(args['torch-cap'] ?? 5) * 1000;
if (!(torchCapMs > 0)) throw new Error('--torch-cap takes a positive number of seconds');
const gridSizes = (args.grid ?? (quick ? '1,10,100' : '1,10,100,1000')).split(',').map(Number);
if (gridSizes.some((b) => !Number.isInteger(b) || b < 1)) throw new Error('--grid takes positive integers');
const capMs = Number(args.cap ?? 60) * 1000;
const budgetScale = Number(args['budget-scale'] ?? (quick ? 0.25 : 1));
const repeats = quick ? 3 : 7;
const fullRun =
  !only && skip.length === 0 && !quick && args.engines === undefined && args.grid === undefined && args['torch-threads'] === undefined;
const dawnOptions = (args.dawn ?? '').split(',').map((item) => item.trim()).filter(Boolean);
const outDir = resolve(args.out ?? join(dirname(fileURLToPath(import.meta.url)), 'results'));

// ---------------------------------------------------------------------------------------------------------------
// Results

interface Row {
  case: string;
  scheme: string;
  method: string;
  engine: Engine;
  /** Models (fits) in one job. */
  batch: number;
  /** Median time of one training step (ms); for grid and fit rows: the whole run divided by its steps. */
  stepMs: number;
  fitsPerSecond?: number;
  gflops?: number;
  adapter: string;
  [extra: string]: unknown;
}

const rows: Row[] = [];
const notes: string[] = [];
const started = Date.now();
let adapter = '';
let peakGflops: number | undefined;
const cpuModel = `${cpus()[0]?.model ?? 'unknown CPU'} x ${cpus().length} (tfjs-cpu: JavaScript, one thread)`;
const cpuName = `${cpus()[0]?.model ?? 'unknown CPU'} x ${cpus().length}`;
// The torch engine's interpreter (undefined: torch is not installed; the engine is skipped with a note).
const torchPython = engines.includes('torch') ? findTorchPython() : undefined;

function readCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function packageVersion(name: string): string | undefined {
  try {
    const path = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

const environment = {
  node: process.version,
  cpu: cpuModel,
  lpNumThreads: process.env.LP_NUM_THREADS ?? null,
  dawnOptions,
  tfjs: tfjsVersion(),
  torch: torchPython ? `${torchPython.torch} (${torchPython.python}, numpy ${torchPython.numpy})` : null,
  webgpuPackage: packageVersion('webgpu') ?? null,
  commit: readCommit() ?? null,
  flopModel: 'bench/flops.ts: the necessary work of a step (the cheapest correct algorithm), the same for every engine',
};

function save(complete: boolean): void {
  if (args['no-save']) return;
  const result = {
    adapter,
    date: new Date(started).toISOString(),
    complete,
    fullRun,
    sections: [...sections],
    engines,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    environment,
    peakGflops: peakGflops ?? null,
    rows,
    notes,
  };
  mkdirSync(outDir, { recursive: true });
  const prefix = fullRun ? 'latest' : 'subset';
  const text = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(join(outDir, `${prefix}.json`), text);
  if (complete) {
    const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
    writeFileSync(join(outDir, `${fullRun ? 'run' : 'subset'}-${stamp}.json`), text);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

const fmt = (value: number | undefined, digits = 3): string => {
  if (value === undefined || !Number.isFinite(value)) return '-';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return value.toFixed(0);
  return value.toPrecision(digits);
};

function table(title: string, header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) console.log(line(row));
}

function flags(timing: { singleRun?: boolean; budgetLimited?: boolean; repeats?: number }): string {
  if (timing.singleRun) return 'single run (over cap)';
  if (timing.budgetLimited) return `budget: ${timing.repeats} run(s)`;
  return '';
}

function log(message: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  console.error(`[${seconds}s] ${message}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Measurements

function timingFor(size: ProblemSize | 'scaling'): Partial<TimingOptions> {
  const large = size !== 'scaling' && (LARGE_SIZES as readonly string[]).includes(size.name);
  const budget = large ? 75_000 : 30_000;
  return {
    repeats: large ? Math.min(repeats, 5) : repeats,
    budgetMs: budget * budgetScale,
    capMs,
    targetMs: quick ? 200 : 400,
  };
}

function timingFields(timing: StepTiming): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    minMs: timing.minMs,
    maxMs: timing.maxMs,
    repeats: timing.repeats,
    stepsPerMeasurement: timing.steps,
    warmupMs: timing.warmupMs,
    samplesMs: timing.samplesMs,
  };
  if (timing.singleRun) fields.singleRun = true;
  if (timing.budgetLimited) fields.budgetLimited = true;
  return fields;
}

function shapeOf(size: ProblemSize, scheme: Scheme, models: number): StepShape {
  return {
    scheme,
    method: 'exponential',
    visible: size.visible,
    hidden: size.hidden,
    bins: size.bins,
    basisLength: 5,
    models,
    slots: size.slots,
    samples: size.samples,
  };
}

function sizeFields(size: ProblemSize): Record<string, unknown> {
  return { visible: size.visible, hidden: size.hidden, bins: size.bins, slots: size.slots, samples: size.samples };
}

const dataCache = new Map<string, number[][][]>();
async function dataFor(session: GpuSession, size: ProblemSize): Promise<number[][][]> {
  const key = JSON.stringify(size);
  let data = dataCache.get(key);
  if (!data) {
    data = await problemData(session, size);
    dataCache.set(key, data);
  }
  return data;
}

/** What identifies a row that records a failure instead of a time. */
interface ErrorRowFields {
  case: string;
  scheme: string;
  method: string;
  engine: Engine;
  batch: number;
  adapter?: string;
  [extra: string]: unknown;
}

/**
 * Runs `body`; a failure becomes a note, never a silent gap, and the run goes on. With `errorRow`, the failure is
 * also recorded as a row of that case and engine, `stepMs` NaN (null in the JSON) and `error` its message.
 */
async function attempt(what: string, body: () => Promise<void>, errorRow?: ErrorRowFields): Promise<void> {
  try {
    await body();
  } catch (error) {
    const reason = `${(error as Error).message ?? String(error)}`.slice(0, 500);
    const message = `${what}: FAILED: ${reason}`;
    notes.push(message);
    log(message);
    if (errorRow) rows.push({ adapter, ...errorRow, stepMs: Number.NaN, error: reason });
  }
}

async function wgslStepRow(session: GpuSession, caseName: string, size: ProblemSize, scheme: Scheme, models: number, extra: Record<string, unknown> = {}): Promise<Row> {
  const data = await dataFor(session, size);
  const job: WgslStepJob = await createStepJob(session, { scheme, method: 'exponential', hidden: size.hidden, data, models, slots: size.slots, samples: size.samples });
  try {
    const timing = await timeSteps((k) => job.run(k), timingFor(caseName.startsWith('scaling') ? 'scaling' : size));
    const flops = stepFlops(shapeOf(size, scheme, models)).total;
    const row: Row = {
      case: caseName,
      scheme,
      method: 'exponential',
      engine: 'wgsl',
      batch: models,
      stepMs: timing.stepMs,
      gflops: flops / (timing.stepMs * 1e6),
      adapter,
      ...sizeFields(size),
      flopsPerStep: flops,
      dispatchesPerStep: job.dispatchesPerStep,
      ...timingFields(timing),
      ...extra,
    };
    if (timing.singleRun) notes.push(`${caseName} ${scheme} wgsl: over the ${capMs / 1000} s cap, measured once (warm-up included)`);
    return row;
  } finally {
    job.dispose();
  }
}

async function sectionPeak(session: GpuSession): Promise<void> {
  log('peak: FMA micro-kernel');
  const peak = await measurePeak(session, { repeats: quick ? 3 : 5, targetMs: quick ? 150 : 300 });
  peakGflops = peak.gflops;
  rows.push({
    case: 'peak',
    scheme: '-',
    method: 'fma',
    engine: 'wgsl',
    batch: peak.threads,
    stepMs: peak.dispatchMs,
    gflops: peak.gflops,
    adapter,
    kernel: 'bench/kernels/fma_peak.wgsl',
    vec4Chains: peak.bestChains,
    gflopsByVec4Chains: peak.byChains,
    workgroups: peak.workgroups,
    iterations: peak.iterations,
  });
  table('FMA peak (bench/kernels/fma_peak.wgsl)', ['vec4 chains / thread', 'GFLOP/s'], Object.entries(peak.byChains).map(([c, g]) => [c, fmt(g)]));
}

/** The minibatch every step of the baselines trains on: the first `slots` sequences (repeated if the set is smaller). */
function minibatch(data: number[][][], slots: number): number[][][] {
  return Array.from({ length: slots }, (_, s) => data[s % data.length]);
}

/**
 * The torch engine at one case and scheme: one subprocess per thread count (bench/torch/poglm_torch.py time), the
 * protocol of timeSteps (warm-up, k steps per measurement, median), with its own step cap (--torch-cap).
 */
async function torchStepRows(session: GpuSession, name: SizeName, scheme: Scheme): Promise<void> {
  const size = SIZES[name];
  const data = await dataFor(session, size);
  const layout = paramLayout(size.visible, size.hidden, scheme);
  const problem = {
    visible: size.visible,
    hidden: size.hidden,
    scheme,
    method: 'exponential' as const,
    basis: exponentialBasis(5),
    samples: size.samples,
    // The same starting point as the WGSL engine's model 0 and the tfjs engines.
    params: initialParams(layout, 0),
    counts: minibatch(data, size.slots),
    seed: 0,
  };
  const timing = timingFor(size);
  const large = (LARGE_SIZES as readonly string[]).includes(name);
  for (const threads of torchThreads) {
    const what = `${name} ${scheme} torch ${threads} thread(s)`;
    log(what);
    const base = { case: name, scheme, method: 'exponential', engine: 'torch' as const, batch: 1, threads, adapter: `${cpuName} (torch, ${threads} thread(s))`, ...sizeFields(size) };
    await attempt(
      what,
      async () => {
        const result = await torchTime(torchPython!.python, problem, {
          threads,
          warmup: large ? 1 : 2,
          repeats: timing.repeats,
          targetMs: timing.targetMs,
          budgetMs: timing.budgetMs,
          capMs: torchCapMs,
        });
        if (result.threads !== threads) throw new Error(`torch ran at ${result.threads} threads, not ${threads}`);
        const flops = stepFlops(shapeOf(size, scheme, 1)).total;
        rows.push({
          ...base,
          stepMs: result.stepMs,
          gflops: flops / (result.stepMs * 1e6),
          ...timingFields(result),
          torch: result.torch,
          dtype: result.dtype,
          finiteParams: result.finiteParams,
        });
        if (result.singleRun) notes.push(`${what}: over the ${torchCapMs / 1000} s torch cap, measured once (its warm-up step)`);
      },
      base,
    );
    save(false);
  }
}

async function sectionCompare(session: GpuSession, names: readonly SizeName[]): Promise<void> {
  if (names.length === 0) return;
  // Data first (the synthetic set is simulated on the GPU), then every engine in turn so that no two share the CPU.
  for (const name of names) await dataFor(session, SIZES[name]);
  const errorRow = (name: SizeName, scheme: Scheme, engine: Engine) => ({ case: name, scheme, method: 'exponential', engine, batch: 1, ...sizeFields(SIZES[name]) });
  if (engines.includes('wgsl')) {
    for (const name of names) {
      for (const scheme of SCHEMES) {
        log(`${name} ${scheme} wgsl`);
        await attempt(
          `${name} ${scheme} wgsl`,
          async () => {
            rows.push(await wgslStepRow(session, name, SIZES[name], scheme, 1));
          },
          errorRow(name, scheme, 'wgsl'),
        );
        save(false);
      }
    }
  }
  for (const engine of engines.filter((e): e is TfjsEngine => e === 'tfjs-webgpu' || e === 'tfjs-cpu')) {
    const tfjsNames = names.filter((name) => tfjsNamed || !TFJS_OPT_IN_SIZES.includes(name));
    if (tfjsNames.length === 0) continue;
    let backend: Awaited<ReturnType<typeof openTfjsBackend>> | undefined;
    await attempt(`${engine} backend`, async () => {
      backend = await openTfjsBackend(engine, dawnOptions);
    });
    if (!backend) continue;
    try {
      for (const name of tfjsNames) {
        const size = SIZES[name];
        for (const scheme of SCHEMES) {
          log(`${name} ${scheme} ${engine}`);
          await attempt(
            `${name} ${scheme} ${engine}`,
            async () => {
              const data = await dataFor(session, size);
              const job = createTfjsStepJob({ scheme, method: 'exponential', hidden: size.hidden, data, slots: size.slots, samples: size.samples });
              try {
                const timing = await timeSteps((k) => job.run(k), { ...timingFor(size), warmup: 2 });
                const flops = stepFlops(shapeOf(size, scheme, 1)).total;
                rows.push({
                  case: name,
                  scheme,
                  method: 'exponential',
                  engine,
                  batch: 1,
                  stepMs: timing.stepMs,
                  // The same work as the WGSL step, counted by the WGSL step's model: comparable "useful" GFLOP/s.
                  gflops: flops / (timing.stepMs * 1e6),
                  adapter: engine === 'tfjs-cpu' ? cpuModel : adapter,
                  ...sizeFields(size),
                  ...timingFields(timing),
                  tensorsAfter: job.tensors(),
                });
                if (timing.singleRun) notes.push(`${name} ${scheme} ${engine}: over the ${capMs / 1000} s cap, measured once (warm-up included)`);
              } finally {
                job.dispose();
              }
            },
            { ...errorRow(name, scheme, engine), adapter: engine === 'tfjs-cpu' ? cpuModel : adapter },
          );
          save(false);
        }
      }
    } finally {
      await backend.release();
    }
  }
  if (engines.includes('torch')) {
    if (!torchPython) {
      const message =
        `torch engine skipped: ${process.env.POGLM_PYTHON ? `$POGLM_PYTHON (${process.env.POGLM_PYTHON}) does not import` : 'neither python3 nor /usr/bin/python3 imports'} torch and numpy; bash scripts/setup.sh installs python3-torch`;
      notes.push(message);
      log(message);
    } else {
      for (const name of names) for (const scheme of SCHEMES) await torchStepRows(session, name, scheme);
    }
  }
  // Ratios: baseline time / WGSL time for the same case and scheme; the torch row of the faster thread count is the
  // one compared (bestThreads).
  for (const name of names) {
    for (const scheme of SCHEMES) {
      const torchRows = rows.filter((row) => row.engine === 'torch' && row.case === name && row.scheme === scheme && Number.isFinite(row.stepMs));
      const best = torchRows.reduce<Row | undefined>((fastest, row) => (!fastest || row.stepMs < fastest.stepMs ? row : fastest), undefined);
      if (best) best.bestThreads = true;
    }
  }
  for (const row of rows) {
    if (row.engine === 'wgsl' || !(names as readonly string[]).includes(row.case) || !Number.isFinite(row.stepMs)) continue;
    const wgsl = rows.find((other) => other.engine === 'wgsl' && other.case === row.case && other.scheme === row.scheme && Number.isFinite(other.stepMs));
    if (wgsl) row.ratioToWgsl = row.stepMs / wgsl.stepMs;
  }
  const body: string[][] = [];
  const cell = (row: Row | undefined): string => (row === undefined ? '-' : Number.isFinite(row.stepMs) ? fmt(row.stepMs) : 'error');
  for (const name of names) {
    for (const scheme of SCHEMES) {
      const find = (engine: Engine, threads?: number) =>
        rows.find((row) => row.case === name && row.scheme === scheme && row.engine === engine && (threads === undefined || row.threads === threads));
      const wgsl = find('wgsl');
      const webgpu = find('tfjs-webgpu');
      const cpu = find('tfjs-cpu');
      const torchByThreads = torchThreads.map((threads) => find('torch', threads));
      const torchBest = rows.find((row) => row.case === name && row.scheme === scheme && row.engine === 'torch' && row.bestThreads);
      // Row keeps the timing fields (singleRun, budgetLimited, repeats) as extra properties.
      const flag = [wgsl, webgpu, cpu, ...torchByThreads]
        .filter((row): row is Row => row !== undefined)
        .map((row) => ({
          engine: row.engine === 'torch' ? `torch ${row.threads}t` : row.engine,
          note: row.error !== undefined ? 'error (see notes)' : flags(row as Partial<StepTiming>),
        }))
        .filter(({ note }) => note)
        .map(({ engine, note }) => `${engine}: ${note}`)
        .join('; ');
      body.push([
        `${name} (${describeSize(SIZES[name])})`,
        scheme,
        cell(wgsl),
        cell(webgpu),
        cell(cpu),
        ...torchByThreads.map(cell),
        fmt(webgpu?.ratioToWgsl as number | undefined),
        fmt(cpu?.ratioToWgsl as number | undefined),
        torchBest?.ratioToWgsl !== undefined ? `${fmt(torchBest.ratioToWgsl as number)} (${torchBest.threads}t)` : '-',
        fmt(wgsl?.gflops),
        flag,
      ]);
    }
  }
  table(
    'Training step, exponential method (ms per step, median; ratio = baseline time / WGSL time; torch: the faster thread count)',
    [
      'case',
      'scheme',
      'wgsl ms',
      'tfjs-webgpu ms',
      'tfjs-cpu ms',
      ...torchThreads.map((threads) => `torch ${threads}t ms`),
      'webgpu/wgsl',
      'cpu/wgsl',
      'torch/wgsl',
      'wgsl GFLOP/s',
      'notes',
    ],
    body,
  );
}

/**
 * Per-stage time of one training step: after warm-up steps, each stage's dispatch encoded k times into one compute
 * pass of one submission (k chosen by timeSteps so a measurement lasts ~targetMs), divided by k; the whole step the
 * same way. The parameters and step counter are written back before each stage is timed (its warm-up and its
 * measurements), as a stage repeated on its own keeps changing them. The step's GFLOP/s counts its necessary work
 * (bench/flops.ts).
 */
async function sectionProfile(session: GpuSession): Promise<void> {
  const profileLarge = !quick || (only?.includes('large') ?? false);
  const cases: { size: ProblemSize; models: number }[] = [
    { size: SIZES.synthetic, models: 1 },
    { size: SIZES.synthetic, models: 100 },
    // The real size where the staged path loses to torch: where its step goes.
    { size: SIZES.rgc, models: 1 },
    ...(profileLarge ? [{ size: SIZES.large, models: 1 }] : []),
  ];
  const options = (size: ProblemSize): Partial<TimingOptions> => ({
    repeats: quick ? 3 : 5,
    targetMs: quick ? 150 : 300,
    budgetMs: (size.name === 'large' ? 45_000 : 15_000) * budgetScale,
    capMs,
    maxSteps: 4000,
    warmup: 1,
  });
  for (const { size, models } of cases) {
    for (const scheme of SCHEMES) {
      const label = `${size.name} ${scheme} B=${models}`;
      log(`profile ${label}`);
      await attempt(`profile ${label}`, async () => {
        const data = await dataFor(session, size);
        const job = await createStepJob(session, { scheme, method: 'exponential', hidden: size.hidden, data, models, slots: size.slots, samples: size.samples });
        try {
          await job.run(2); // warm-up: compilation, first-use allocations
          const flops = stepFlops(shapeOf(size, scheme, models)).total;
          const measure = async (stage?: number): Promise<StepTiming> => {
            await job.resetState();
            return timeSteps((k) => job.runEncoded(k, stage), options(size));
          };
          const step = await measure();
          const made: Row[] = [];
          const base = { case: 'profile', scheme, method: 'exponential', engine: 'wgsl' as const, batch: models, adapter, ...sizeFields(size) };
          const stepRow: Row = {
            ...base,
            stage: 'step',
            kernel: 'step',
            stepMs: step.stepMs,
            share: 1,
            gflops: flops / (step.stepMs * 1e6),
            flops,
            dispatchesPerStep: job.dispatchesPerStep,
            ...timingFields(step),
          };
          for (const [index, kernel] of job.stageNames.entries()) {
            const timing = await measure(index);
            made.push({ ...base, stage: kernel.split('.')[0] === 'reduce' ? kernel.split('.')[1] : kernel.split('.')[0], kernel, stepMs: timing.stepMs, share: timing.stepMs / step.stepMs, ...timingFields(timing) });
          }
          const stageSum = made.reduce((sum, row) => sum + row.stepMs, 0);
          stepRow.sumOfStagesMs = stageSum;
          const failures = [...(await job.readFailures())].filter((step) => step !== 0xffffffff).length;
          if (failures > 0) {
            stepRow.frozenModels = failures;
            notes.push(`profile ${label}: ${failures} model(s) went non-finite during the profile and were frozen (Adam skips them): the adam time is low`);
          }
          rows.push(stepRow, ...made);
          table(
            `Profile, ${scheme} exponential, ${size.name} (${describeSize(size)}), B=${models}: step ${fmt(step.stepMs)} ms ` +
              `(${fmt(stepRow.gflops as number)} GFLOP/s of necessary work), sum of stages ${fmt(stageSum)} ms`,
            ['stage', 'kernel', 'ms', 'of step', 'notes'],
            [...made, stepRow].map((row) => [
              String(row.stage),
              String(row.kernel),
              fmt(row.stepMs),
              `${(100 * (row.share as number)).toFixed(0)}%`,
              flags(row as unknown as StepTiming),
            ]),
          );
        } finally {
          job.dispose();
        }
      });
      save(false);
    }
  }
}

async function sectionScaling(session: GpuSession, which: 'scaling-T' | 'scaling-N' | 'scaling-B'): Promise<void> {
  const base = SIZES.synthetic;
  const steps: { size: ProblemSize; models: number; label: string }[] =
    which === 'scaling-T'
      ? [100, 200, 400, 800].map((bins) => ({ size: { ...base, bins }, models: 1, label: `T=${bins}` }))
      : which === 'scaling-N'
        ? [3, 6, 12, 24].map((visible) => ({ size: { ...base, visible }, models: 1, label: `V=${visible} (N=${visible + base.hidden})` }))
        : [1, 2, 4, 8, 16, 32, 64].map((models) => ({ size: base, models, label: `B=${models}` }));
  const made: Row[] = [];
  for (const { size, models, label } of steps) {
    log(`${which} ${label}`);
    await attempt(`${which} ${label}`, async () => {
      const row = await wgslStepRow(session, which, size, 'FB', models);
      rows.push(row);
      made.push(row);
    });
  }
  table(
    `${which}: WGSL training step, FB exponential, synthetic size otherwise (ratio = this step / the previous one)`,
    ['point', 'ms/step', 'ratio', 'ms per model-step', 'GFLOP/s', 'dispatches', 'notes'],
    made.map((row, i) => [
      which === 'scaling-T' ? `T=${row.bins}` : which === 'scaling-N' ? `V=${row.visible} N=${Number(row.visible) + Number(row.hidden)}` : `B=${row.batch}`,
      fmt(row.stepMs),
      i === 0 ? '-' : fmt(row.stepMs / made[i - 1].stepMs),
      fmt(row.stepMs / row.batch),
      fmt(row.gflops),
      String(row.dispatchesPerStep),
      flags(row as unknown as StepTiming),
    ]),
  );
}

async function sectionGrid(session: GpuSession): Promise<void> {
  const size = SIZES.synthetic;
  const train = await dataFor(session, size);
  const stepsPerFit = PAPER_GRID.epochs * Math.ceil(size.sequences / PAPER_GRID.batchSize);
  const flopsPerFit = stepsPerFit * stepFlops(shapeOf(size, 'FB', 1)).total;
  const made: Row[] = [];
  // Warm the pipelines up once (compilation is cached per session).
  await attempt('grid warm-up', async () => {
    await runGrid(session, train, 1, PAPER_GRID);
  });
  for (const fits of gridSizes) {
    log(`grid B=${fits}`);
    await attempt(`grid B=${fits}`, async () => {
      let last: Awaited<ReturnType<typeof runGrid>> | undefined;
      const once = fits >= 1000;
      const timing = await timeRuns(
        async () => {
          last = await runGrid(session, train, fits, PAPER_GRID);
        },
        { warmup: 0, repeats: once ? 1 : fits >= 100 ? 3 : 5, budgetMs: (fits >= 100 ? 90_000 : 30_000) * budgetScale },
      );
      const seconds = timing.medianMs / 1000;
      const row: Row = {
        case: 'grid',
        scheme: 'FB',
        method: 'exponential',
        engine: 'wgsl',
        batch: fits,
        stepMs: timing.medianMs / stepsPerFit,
        fitsPerSecond: fits / seconds,
        gflops: (fits * flopsPerFit) / (timing.medianMs * 1e6),
        adapter,
        ...sizeFields(size),
        sequences: size.sequences,
        epochs: PAPER_GRID.epochs,
        batchSize: PAPER_GRID.batchSize,
        stepsPerFit,
        totalMs: timing.medianMs,
        runsMs: timing.runsMs,
        minMs: timing.minMs,
        maxMs: timing.maxMs,
        repeats: timing.repeats,
        jobs: last?.jobs ?? 1,
        dispatchesPerStep: last?.results[0]?.dispatchesPerStep,
      };
      if (once) {
        row.singleRun = true;
        notes.push(`grid B=${fits}: measured once (not repeated) to keep the run short: ${fmt(seconds)} s`);
      }
      if (timing.budgetLimited) row.budgetLimited = true;
      if (last?.note) notes.push(`grid B=${fits}: ${last.note}`);
      rows.push(row);
      made.push(row);
      save(false);
    });
  }
  const first = made.find((row) => row.batch === 1);
  for (const row of made) if (first) row.fitsPerSecondRatioToB1 = (row.fitsPerSecond as number) / (first.fitsPerSecond as number);
  table(
    `Grid throughput: B synthetic FB-exponential fits in one fitMany call (${PAPER_GRID.epochs} epochs x ${stepsPerFit / PAPER_GRID.epochs} steps, 40 sequences, batch 10, M=5, seeds 0..B-1)`,
    ['B', 'total s', 'fits/s', 'vs B=1', 'ms per step (all B)', 'GFLOP/s', 'jobs', 'notes'],
    made.map((row) => [
      String(row.batch),
      fmt((row.totalMs as number) / 1000),
      fmt(row.fitsPerSecond),
      fmt(row.fitsPerSecondRatioToB1 as number | undefined),
      fmt(row.stepMs),
      fmt(row.gflops),
      String(row.jobs),
      row.singleRun ? 'single run' : row.budgetLimited ? `budget: ${row.repeats} run(s)` : '',
    ]),
  );
}

/**
 * The paper's synthetic grid of trial 0 end to end, as `poglm grid --trials 0 --seeds 0-9 --methods all` runs it:
 * 3 schemes x 7 methods x 10 seeds = 210 fits of 20 epochs in one runGrid call, then their evaluation at M = 2,000
 * with ground truth. One run after a warm-up fit (compilation); fitting and evaluation timed apart.
 */
async function sectionPaperGrid(session: GpuSession): Promise<void> {
  log('paper-grid: trial 0, 210 fits, evaluation at M = 2000');
  await attempt('paper-grid', async () => {
    const started = performance.now();
    const data = await syntheticDataset(0, {}, session);
    const dataset = { name: 'trial 0', train: data.train.visible, test: data.test.visible, testHidden: data.test.hidden, truth: data.truth.generative };
    const setupMs = performance.now() - started;
    const spec = { datasets: [dataset], seeds: Array.from({ length: 10 }, (_, i) => i), schemes: ['F', 'FS', 'FB'] as Scheme[], methods: [...METHODS], hidden: [2] };
    const warmupStarted = performance.now();
    await runGridApi({ ...spec, seeds: [0], schemes: ['FB'], methods: ['exponential'], epochs: 1, evalSamples: 10 }, { session });
    const warmupMs = performance.now() - warmupStarted;
    let fittedAt = 0;
    const gridStarted = performance.now();
    const gridRows = await runGridApi(spec, { session, onFitted: () => (fittedAt = performance.now()) });
    const endedAt = performance.now();
    const evaluated = gridRows.filter((row) => row.metrics).length;
    const row: Row = {
      case: 'paper-grid',
      scheme: 'F,FS,FB',
      method: 'all',
      engine: 'wgsl',
      batch: 210,
      adapter,
      fits: gridRows.length,
      evaluated,
      setupMs,
      fitMs: fittedAt - gridStarted,
      evaluateMs: endedAt - fittedAt,
      stepMs: endedAt - gridStarted,
      // The data, the fits and their evaluation; the warm-up fit (one epoch of one fit, for compilation) is not part
      // of the 210 fits and is reported apart.
      totalSeconds: (setupMs + endedAt - gridStarted) / 1000,
      warmupSeconds: warmupMs / 1000,
    };
    rows.push(row);
    table('The paper\'s synthetic grid of trial 0 (210 fits, 20 epochs, evaluation at M = 2,000, with ground truth)', ['fits', 'evaluated', 'data s', 'fit s', 'evaluate s', 'total s', 'warm-up s (apart)'], [
      [String(row.fits), String(evaluated), fmt(setupMs / 1000), fmt((row.fitMs as number) / 1000), fmt((row.evaluateMs as number) / 1000), fmt(row.totalSeconds as number), fmt(warmupMs / 1000)],
    ]);
  });
}

async function sectionGridStep(session: GpuSession): Promise<void> {
  const size = SIZES.synthetic;
  const models = Math.max(...gridSizes, 1);
  log(`grid-step B=${models}`);
  await attempt(`grid-step B=${models}`, async () => {
    const data = await dataFor(session, size);
    const job = await createChunkedStepJob(session, { scheme: 'FB', method: 'exponential', hidden: size.hidden, data, models, slots: size.slots, samples: size.samples });
    try {
      const timing = await timeSteps((k) => job.run(k), { repeats, budgetMs: 60_000 * budgetScale, capMs, targetMs: quick ? 500 : 1500 });
      const flops = stepFlops(shapeOf(size, 'FB', models)).total;
      const gflops = flops / (timing.stepMs * 1e6);
      rows.push({
        case: 'grid-step',
        scheme: 'FB',
        method: 'exponential',
        engine: 'wgsl',
        batch: models,
        stepMs: timing.stepMs,
        gflops,
        adapter,
        ...sizeFields(size),
        flopsPerStep: flops,
        jobs: job.jobs,
        modelsPerJob: job.perJob,
        dispatchesPerStep: job.dispatchesPerStep,
        fractionOfPeak: peakGflops ? gflops / peakGflops : null,
        ...timingFields(timing),
      });
      table(
        `One training step of the B=${models} synthetic grid (FB exponential; ${job.jobs} job(s) of at most ${job.perJob} models)`,
        ['B', 'ms/step', 'GFLOP/step', 'GFLOP/s', 'FMA peak GFLOP/s', 'fraction of peak'],
        [[String(models), fmt(timing.stepMs), fmt(flops / 1e9), fmt(gflops), fmt(peakGflops), peakGflops ? `${(100 * gflops / peakGflops).toFixed(1)}%` : '-']],
      );
    } finally {
      job.dispose();
    }
  });
}

async function sectionFit(session: GpuSession): Promise<void> {
  const made: Row[] = [];
  for (const bins of [100, 1000]) {
    const size = { ...SIZES.synthetic, bins };
    log(`fit T=${bins}`);
    await attempt(`fit T=${bins}`, async () => {
      const train = await dataFor(session, size);
      let dispatches = 0;
      let steps = 0;
      await runFit(session, train, PAPER_GRID); // warm-up (compilation)
      const timing = await timeRuns(
        async () => {
          const result = await runFit(session, train, PAPER_GRID);
          dispatches = result.dispatchesPerStep;
          steps = result.steps;
        },
        { warmup: 0, repeats: quick ? 3 : 5, budgetMs: 60_000 * budgetScale },
      );
      // The engine's own count for the same job shape, from the pipeline (must equal the fit's).
      const probe = await createStepJob(session, { scheme: 'FB', method: 'exponential', hidden: size.hidden, data: train, models: 1, slots: size.slots, samples: size.samples });
      const pipelineDispatches = probe.dispatchesPerStep;
      const stageNames = probe.stageNames;
      probe.dispose();
      const row: Row = {
        case: 'fit',
        scheme: 'FB',
        method: 'exponential',
        engine: 'wgsl',
        batch: 1,
        stepMs: timing.medianMs / Math.max(steps, 1),
        fitsPerSecond: 1000 / timing.medianMs,
        gflops: (steps * stepFlops(shapeOf(size, 'FB', 1)).total) / (timing.medianMs * 1e6),
        adapter,
        ...sizeFields(size),
        sequences: size.sequences,
        epochs: PAPER_GRID.epochs,
        fitMs: timing.medianMs,
        runsMs: timing.runsMs,
        minMs: timing.minMs,
        maxMs: timing.maxMs,
        repeats: timing.repeats,
        steps,
        dispatchesPerStep: dispatches,
        pipelineDispatchesPerStep: pipelineDispatches,
        stageNames,
      };
      if (timing.budgetLimited) row.budgetLimited = true;
      rows.push(row);
      made.push(row);
    });
  }
  table(
    'One synthetic fit (FB exponential, 20 epochs, 40 sequences, batch 10, M=5) and dispatches per training step',
    ['T', 'fit ms', 'steps', 'ms/step', 'dispatches/step (FitResult)', 'dispatches/step (VariationalJob)'],
    made.map((row) => [String(row.bins), fmt(row.fitMs as number), String(row.steps), fmt(row.stepMs), String(row.dispatchesPerStep), String(row.pipelineDispatchesPerStep)]),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Targets

function cpuAdapter(): boolean {
  return /llvmpipe|lavapipe|swiftshader/i.test(adapter);
}

function targets(): string[] {
  const lines: string[] = [];
  const get = (caseName: string, scheme: string, engine: Engine) => rows.find((r) => r.case === caseName && r.scheme === scheme && r.engine === engine);
  const verdict = (met: boolean): string => (met ? 'MET   ' : 'MISSED');
  // tfjs-webgpu on the same adapter: at least 20x slower than WGSL at every size it ran.
  for (const name of COMPARE_SIZES) {
    for (const scheme of SCHEMES) {
      const webgpu = get(name, scheme, 'tfjs-webgpu');
      if (webgpu?.ratioToWgsl === undefined) continue;
      const ratio = webgpu.ratioToWgsl as number;
      lines.push(`${verdict(ratio >= 20)} ${name} ${scheme}: tfjs-webgpu >= 20x slower than WGSL: ${fmt(ratio)}x (${fmt(get(name, scheme, 'wgsl')?.stepMs)} vs ${fmt(webgpu.stepMs)} ms)`);
    }
  }
  // PyTorch (its faster thread count): RGC FB >= 5x, RGC FS >= 20x, the large size at batch 32 FB >= 5x.
  const torchTargets: { name: string; scheme: Scheme; factor: number }[] = [
    { name: 'rgc', scheme: 'FB', factor: 5 },
    { name: 'rgc', scheme: 'FS', factor: 20 },
    { name: 'large-b32', scheme: 'FB', factor: 5 },
  ];
  for (const name of COMPARE_SIZES) {
    for (const scheme of SCHEMES) {
      const torch = rows.find((r) => r.case === name && r.scheme === scheme && r.engine === 'torch' && r.bestThreads);
      if (torch?.ratioToWgsl === undefined) continue;
      const ratio = torch.ratioToWgsl as number;
      const target = torchTargets.find((t) => t.name === name && t.scheme === scheme);
      lines.push(
        `${target ? verdict(ratio >= target.factor) : 'INFO  '} ${name} ${scheme}: torch (${torch.threads} thread(s), the faster) / WGSL = ${fmt(ratio)}x` +
          `${target ? ` (target >= ${target.factor}x)` : ''} (${fmt(torch.stepMs)} vs ${fmt(get(name, scheme, 'wgsl')?.stepMs)} ms)`,
      );
    }
  }
  // The real-size shapes fit: a WGSL row without an error.
  for (const name of ['large-b32', 'neurons-1024']) {
    for (const scheme of SCHEMES) {
      const wgsl = get(name, scheme, 'wgsl');
      if (!wgsl) continue;
      lines.push(`${verdict(wgsl.stepMs !== null && wgsl.stepMs !== undefined)} ${name} ${scheme}: fits on this adapter${wgsl.error ? `: ${String(wgsl.error)}` : ` (${fmt(wgsl.stepMs)} ms per step)`}`);
    }
  }
  // Necessary-work GFLOP/s of the large FB step at batch 32, against the FMA peak of the same run.
  const large = get('large-b32', 'FB', 'wgsl');
  if (large?.gflops !== undefined && peakGflops) {
    const fraction = (large.gflops as number) / peakGflops;
    lines.push(`${verdict(fraction >= 0.25)} large-b32 FB necessary-work GFLOP/s >= 25% of the FMA peak: ${fmt(large.gflops)} of ${fmt(peakGflops)} = ${(100 * fraction).toFixed(1)}%`);
  }
  const paper = rows.find((r) => r.case === 'paper-grid');
  if (paper?.totalSeconds !== undefined) {
    const seconds = paper.totalSeconds as number;
    lines.push(
      `${verdict(seconds <= 15)} paper trial-0 grid (210 fits + evaluation at M = 2000) end to end <= 15 s (100x the authors' code at ~1,300-2,600 s here): ` +
        `${fmt(seconds)} s (fit ${fmt((paper.fitMs as number) / 1000)} s, evaluate ${fmt((paper.evaluateMs as number) / 1000)} s)`,
    );
  }
  const gridStep = rows.find((r) => r.case === 'grid-step');
  if (gridStep && peakGflops) {
    const fraction = (gridStep.gflops as number) / peakGflops;
    lines.push(`INFO   B=${gridStep.batch} grid step: ${fmt(gridStep.gflops)} of ${fmt(peakGflops)} GFLOP/s of necessary work = ${(100 * fraction).toFixed(1)}% of the FMA peak`);
  }
  const grid = rows.filter((r) => r.case === 'grid');
  const b1 = grid.find((r) => r.batch === 1);
  const bMax = grid.reduce<Row | undefined>((best, r) => (!best || r.batch > best.batch ? r : best), undefined);
  if (b1 && bMax && bMax !== b1) {
    const ratio = (bMax.fitsPerSecond as number) / (b1.fitsPerSecond as number);
    // A throughput target for a real GPU: on a CPU adapter one model already fills the cores, so it is reported only.
    const verdict = cpuAdapter() ? 'INFO  ' : bMax.batch >= 1000 ? (ratio >= 100 ? 'MET   ' : 'MISSED') : 'INFO  ';
    lines.push(
      `${verdict} grid fits/s B=${bMax.batch} vs B=1 (target on a real GPU: B=1000 >= 100x): ${fmt(bMax.fitsPerSecond)} / ${fmt(b1.fitsPerSecond)} = ${fmt(ratio)}x` +
        (cpuAdapter() ? ' (CPU adapter: not a GPU measurement)' : ''),
    );
  }
  const fits = rows.filter((r) => r.case === 'fit');
  if (fits.length >= 2) {
    const counts = new Set(fits.flatMap((r) => [r.dispatchesPerStep, r.pipelineDispatchesPerStep]));
    lines.push(`${counts.size === 1 ? 'MET   ' : 'MISSED'} dispatches per step independent of T: ${fits.map((r) => `T=${r.bins}: ${r.dispatchesPerStep}`).join(', ')}`);
  }
  const scalingT = rows.filter((r) => r.case === 'scaling-T');
  if (scalingT.length >= 2 && new Set(scalingT.map((r) => r.dispatchesPerStep)).size > 1) {
    lines.push(`MISSED dispatches per step vary with T in scaling-T: ${scalingT.map((r) => `T=${r.bins}: ${r.dispatchesPerStep}`).join(', ')}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const session = await GpuSession.open({ dawnOptions });
  adapter = session.adapter;
  console.log(`poglm-gpu benchmark on ${adapter}`);
  console.log(
    `CPU: ${cpuModel}; Node ${process.version}; tfjs ${environment.tfjs}; torch ${environment.torch ?? (engines.includes('torch') ? 'not installed' : 'not run')}; commit ${environment.commit ?? '?'}`,
  );
  console.log(`sections: ${[...sections].join(', ')}; engines: ${engines.join(', ')}${quick ? '; quick' : ''}`);
  if (cpuAdapter()) {
    notes.push(`adapter is a CPU Vulkan driver (${adapter}) on ${cpus().length} cores: every engine, the WGSL one included, runs on the CPU; numbers are not GPU numbers`);
  }
  notes.push(
    `data: synthetic size = the paper's synthetic dataset (trial 0, simulated on the device; 40 training sequences); ` +
      `rgc, large, large-b32 and neurons-1024 = independent Poisson(${POISSON_RATE}) counts from a seeded generator; scaling and grid cases = synthetic datasets of that shape`,
  );
  notes.push(
    'step timing: k steps per measurement (one command buffer for WGSL; k-1 unread steps then one read-back for tfjs), ' +
      `k chosen for ~${quick ? 0.2 : 0.4} s, median over up to ${repeats} measurements after warm-up (1 step WGSL, 2 tfjs); ` +
      'tfjs-webgpu runs on its own Dawn device on the same adapter',
  );
  if (engines.includes('torch') && torchPython) {
    notes.push(
      `torch: bench/torch/poglm_torch.py time, PyTorch ${torchPython.torch} float32 on the CPU, one subprocess per thread count (${torchThreads.join(', ')}; ` +
        'torch.set_num_threads), the same timing protocol (1 warm-up step at the large sizes, 2 elsewhere), a step over the torch cap ' +
        `(${torchCapMs / 1000} s) measured once; noise drawn with torch.rand inside each step; torch/wgsl uses the faster thread count`,
    );
  }
  if (engines.some((e) => e.startsWith('tfjs')) && !tfjsNamed && COMPARE_SIZES.some((n) => TFJS_OPT_IN_SIZES.includes(n) && sections.has(n))) {
    notes.push(`tfjs engines not run at ${TFJS_OPT_IN_SIZES.join(' and ')} (name them in --engines to run them there)`);
  }
  notes.push(
    "GFLOP/s: the necessary work of a step (bench/flops.ts: the arithmetic of the cheapest correct algorithm, rules in docs/benchmarks.md); " +
      'every engine is scored on the same count, so GFLOP/s is the useful work rate and redundant work cannot raise it',
  );
  try {
    if (sections.has('peak')) await attempt('peak', () => sectionPeak(session));
    save(false);
    await sectionCompare(session, COMPARE_SIZES.filter((name) => sections.has(name as Section)));
    save(false);
    if (sections.has('profile')) await sectionProfile(session);
    save(false);
    for (const which of ['scaling-T', 'scaling-N', 'scaling-B'] as const) {
      if (sections.has(which)) await sectionScaling(session, which);
    }
    save(false);
    if (sections.has('fit')) await sectionFit(session);
    save(false);
    if (sections.has('grid-step')) await sectionGridStep(session);
    save(false);
    if (sections.has('grid')) await sectionGrid(session);
    if (sections.has('paper-grid')) await sectionPaperGrid(session);
  } finally {
    const lines = targets();
    if (lines.length > 0) {
      console.log('\nTargets');
      for (const line of lines) console.log(`  ${line}`);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`\nNotes`);
    for (const note of notes) console.log(`  - ${note}`);
    notes.push(...lines.map((line) => `target: ${line.replace(/\s+/, ' ')}`));
    console.log(`\nTotal benchmark time: ${(seconds / 60).toFixed(1)} min (${seconds.toFixed(0)} s)`);
    save(true);
    if (!args['no-save']) console.log(`Results: ${join(outDir, fullRun ? 'latest.json' : 'subset.json')}`);
    session.destroy();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

// Runs the PyTorch baseline (bench/torch/poglm_torch.py) as a subprocess: finds a Python that imports torch, writes
// a problem as JSON to a temporary file, and parses the JSON the script prints. Used by bench/run.ts (the `torch`
// engine) and test/torch-equivalence.test.ts. Installs nothing: scripts/setup.sh installs python3-torch.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Method, Scheme } from '../../src/model/types.js';
import type { StepTiming } from '../timing.js';

export const TORCH_SCRIPT = fileURLToPath(new URL('./poglm_torch.py', import.meta.url));

export interface TorchPython {
  /** The interpreter that imports torch. */
  python: string;
  torch: string;
  numpy: string;
}

/**
 * The interpreter of $POGLM_PYTHON when it is set (and only that one), else the first of `python3` on the PATH and
 * /usr/bin/python3 that imports torch and numpy (a version manager's python3 on the PATH may not see Debian's
 * python3-torch, which /usr/bin/python3 does). Undefined when none does.
 */
export function findTorchPython(): TorchPython | undefined {
  const chosen = process.env.POGLM_PYTHON;
  const candidates = chosen ? [chosen] : ['python3', '/usr/bin/python3'];
  for (const python of [...new Set(candidates)]) {
    try {
      const out = execFileSync(python, ['-c', 'import torch, numpy; print(torch.__version__, numpy.__version__)'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60_000,
      }).trim();
      const [torch, numpy] = out.split(/\s+/);
      if (torch) return { python, torch, numpy };
    } catch {
      // next candidate
    }
  }
  return undefined;
}

/** A problem for `poglm_torch.py grad`: parameters on the flat layout, counts [s][t][v], base noise [s][m][t][h](k). */
export interface TorchGradProblem {
  visible: number;
  hidden: number;
  scheme: Scheme;
  method: Method;
  basis: number[];
  params: ArrayLike<number>;
  counts: number[][][];
  noise: unknown[];
}

export interface TorchGradResult {
  elbo: number;
  /** Score methods: the surrogate's value (equal to the ELBO); pathwise: the ELBO. */
  objective: number;
  /** w[s][m]. */
  weights: number[][];
  /** Gradient of the ELBO (score methods: of the surrogate) on the flat layout. */
  gradient: number[];
}

/** A training-step problem for `poglm_torch.py time`: every step trains on all of `counts`. */
export interface TorchTimeProblem {
  visible: number;
  hidden: number;
  scheme: Scheme;
  method: Method;
  basis: number[];
  samples: number;
  params: ArrayLike<number>;
  counts: number[][][];
  seed?: number;
}

export interface TorchTimeOptions {
  threads: number;
  warmup?: number;
  repeats?: number;
  targetMs?: number;
  budgetMs?: number;
  capMs?: number;
  maxSteps?: number;
  /** Kill the subprocess after this long (ms); default budget + cap + 2 min. */
  timeoutMs?: number;
}

/** What `poglm_torch.py time` prints: a step timing under the protocol of bench/timing.ts, and the engine's setup. */
export interface TorchTiming extends StepTiming {
  engine: 'torch';
  threads: number;
  torch: string;
  dtype: string;
  finiteParams?: boolean;
}

function withInput<T>(payload: unknown, body: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'poglm-torch-'));
  const path = join(dir, 'input.json');
  writeFileSync(path, JSON.stringify(payload, (_, value) => (ArrayBuffer.isView(value) ? Array.from(value as Float64Array) : value)));
  return body(path).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function runScript(python: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(python, [TORCH_SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) {
        const tail = String(stderr).trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`${python} ${TORCH_SCRIPT} ${args[0]} failed (${error.killed ? `killed after ${timeoutMs} ms` : `exit ${error.code}`}): ${tail}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** ELBO, weights and gradient of each problem, in one Python process. */
export function torchGrad(python: string, problems: TorchGradProblem[], dtype: 'float32' | 'float64' = 'float32'): Promise<TorchGradResult[]> {
  return withInput({ problems }, async (path) => JSON.parse(await runScript(python, ['grad', '--input', path, '--dtype', dtype], 600_000)) as TorchGradResult[]);
}

/** Median training-step time of one problem at `options.threads` threads. */
export function torchTime(python: string, problem: TorchTimeProblem, options: TorchTimeOptions): Promise<TorchTiming> {
  const args = ['time', '--threads', String(options.threads)];
  const flag = (name: string, value: number | undefined) => {
    if (value !== undefined) args.push(`--${name}`, String(value));
  };
  flag('warmup', options.warmup);
  flag('repeats', options.repeats);
  flag('target-ms', options.targetMs);
  flag('budget-ms', options.budgetMs);
  flag('cap-ms', options.capMs);
  flag('max-steps', options.maxSteps);
  const timeoutMs = options.timeoutMs ?? (options.budgetMs ?? 30_000) + (options.capMs ?? 60_000) * 4 + 120_000;
  return withInput(problem, async (path) => JSON.parse(await runScript(python, [...args, '--input', path], timeoutMs)) as TorchTiming);
}

/** One training step (forward, backward, Adam at the spec's settings) with the problem's noise: ELBO and parameters after. */
export function torchStep(python: string, problem: TorchGradProblem, dtype: 'float32' | 'float64' = 'float32'): Promise<{ elbo: number; params: number[] }> {
  return withInput(problem, async (path) => JSON.parse(await runScript(python, ['step', '--input', path, '--dtype', dtype], 120_000)) as { elbo: number; params: number[] });
}

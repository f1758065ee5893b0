// Files for the CLI: JSON read with messages that name the file, atomic writes (a temporary file renamed into place,
// so an interrupted or failed run never leaves a half-written file), and the data files the commands accept.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GenerativeParams } from '../model/types.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Writes `text` to `path` through a temporary file in the same folder and a rename. */
export function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path) || '.', { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

export function writeJson(path: string, value: unknown): void {
  writeAtomically(path, `${JSON.stringify(value)}\n`);
}

export interface CountsFile {
  /** Visible counts x[s][t][v]. */
  visible: number[][][];
  /** Hidden ground truth z[s][t][h], when the file carries it. */
  hidden?: number[][][];
  /** True generative parameters, when the file carries them. */
  truth?: GenerativeParams;
  /** For messages: "test.json (the test part of a synthetic dataset)". */
  description: string;
}

/**
 * A counts file is either a nested array [sequence][time][neuron], or a synthetic dataset written by `poglm synth`,
 * from which `part` ("train" or "test") is taken with its hidden spikes and true parameters.
 */
export function readCounts(path: string, part: 'train' | 'test', flag: string): CountsFile {
  const json = readJson(path, flag);
  if (Array.isArray(json)) return { visible: json as number[][][], description: `${flag} ${path}` };
  const bundle = json as { format?: string; train?: { visible: number[][][]; hidden: number[][][] }; test?: { visible: number[][][]; hidden: number[][][] }; truth?: { generative: GenerativeParams } };
  if (bundle && bundle.format === 'poglm-gpu.synthetic' && bundle[part]) {
    return {
      visible: bundle[part]!.visible,
      hidden: bundle[part]!.hidden,
      truth: bundle.truth?.generative,
      description: `${flag} ${path} (the ${part} part of a synthetic dataset)`,
    };
  }
  throw new UsageError(
    `${flag} ${path} must hold spike counts as a nested array [sequence][time][neuron], or a dataset written by \`poglm synth\``,
  );
}

/** Ground-truth parameters: a `poglm synth` file, a model JSON, or {weight, bias}. */
export function readTruth(path: string): GenerativeParams {
  const json = readJson(path, '--truth') as { format?: string; truth?: { generative: GenerativeParams }; generative?: GenerativeParams; weight?: number[][]; bias?: number[] };
  if (json?.truth?.generative) return json.truth.generative;
  if (json?.generative) return json.generative;
  if (json?.weight && json?.bias) return { weight: json.weight, bias: json.bias };
  throw new UsageError(`--truth ${path} must be a \`poglm synth\` file, a model JSON, or an object {"weight", "bias"}`);
}

/** Parses spike times: CSV rows "neuron,time" (time in seconds); a header row and blank lines are allowed. */
export function parseSpikeTimes(text: string, source: string): { neuron: number; time: number }[] {
  const spikes: { neuron: number; time: number }[] = [];
  let firstRow = true;
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(',').map((field) => field.trim());
    // The first row that is not blank or a comment may be a header ("neuron,time").
    const header = firstRow && fields.some((field) => Number.isNaN(Number(field)));
    firstRow = false;
    if (header) return;
    if (fields.length !== 2) throw new UsageError(`${source}:${index + 1}: expected "neuron,time", got "${trimmed}"`);
    const neuron = Number(fields[0]);
    const time = Number(fields[1]);
    if (!Number.isInteger(neuron) || neuron < 0) throw new UsageError(`${source}:${index + 1}: neuron "${fields[0]}" must be a non-negative integer index`);
    if (!Number.isFinite(time) || time < 0) throw new UsageError(`${source}:${index + 1}: time "${fields[1]}" must be a non-negative number of seconds`);
    spikes.push({ neuron, time });
  });
  return spikes;
}

/**
 * Bins spike times into counts [sequence][bin][neuron]: bins of `binWidth` seconds from 0 to `duration` (default:
 * the last spike), cut into sequences of `sequenceBins` bins (default: one sequence; a partial last sequence is dropped).
 */
export function binSpikeTimes(
  spikes: { neuron: number; time: number }[],
  options: { binWidth: number; neurons?: number; duration?: number; sequenceBins?: number },
): number[][][] {
  const { binWidth } = options;
  if (!(binWidth > 0) || !Number.isFinite(binWidth)) throw new UsageError(`--bin-width must be a positive number of seconds, got ${binWidth}`);
  // Loops, not Math.max(...spikes): a spread of a real recording's spikes overflows the call stack.
  const neurons = options.neurons ?? spikes.reduce((most, spike) => Math.max(most, spike.neuron), -1) + 1;
  if (neurons < 1) throw new UsageError('no spikes and no --neurons: nothing to bin');
  const tooHigh = spikes.find((spike) => spike.neuron >= neurons);
  if (tooHigh) throw new UsageError(`a spike of neuron ${tooHigh.neuron} was found but --neurons is ${neurons}`);
  const duration = options.duration ?? spikes.reduce((last, spike) => Math.max(last, spike.time), 0) + binWidth * 1e-9;
  const bins = Math.ceil(duration / binWidth - 1e-9);
  if (bins < 1) throw new UsageError('the recording is shorter than one bin');
  const counts = Array.from({ length: bins }, () => new Array<number>(neurons).fill(0));
  for (const spike of spikes) {
    const bin = Math.floor(spike.time / binWidth + 1e-9);
    if (bin < bins) counts[bin][spike.neuron]++;
  }
  const length = options.sequenceBins ?? bins;
  if (!Number.isInteger(length) || length < 1) throw new UsageError(`--sequence-bins must be a positive integer, got ${length}`);
  const sequences = Math.floor(bins / length);
  if (sequences < 1) throw new UsageError(`the recording has ${bins} bins, fewer than one sequence of ${length}`);
  return Array.from({ length: sequences }, (_, s) => counts.slice(s * length, (s + 1) * length));
}

// The data files the commands read: JSON with messages that name the file, counts, ground truth.
import { readFileSync } from 'node:fs';
import type { GenerativeParams } from '../model/types.js';
import { UsageError } from './files.js';

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


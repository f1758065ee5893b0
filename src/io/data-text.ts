// What the data files hold, from their bytes or text: counts (a nested array, or a `poglm synth` dataset with its
// ground truth), ground-truth parameters and models. Every problem is a DataError (a ModelFormatError for a model)
// that names the flag, the file and the element, says what is expected, and never prints the file's content. The
// CLI reads the bytes from disk (src/cli/readers.ts); a page reads a dropped file's bytes through the same checks.
import { DataError, describeValue, finiteMatrixProblem, finiteVectorProblem, validateCounts, type CountShape } from '../model/data.js';
import { parseModel, type PoglmModelJson } from '../model/json.js';
import type { GenerativeParams } from '../model/types.js';
import { parseJsonText } from './json-text.js';

// ---- Spike counts ----
export interface CountsFile {
  /** Visible counts x[s][t][v]. */
  visible: number[][][];
  /** Hidden ground truth z[s][t][h], when the file carries it. */
  hidden?: number[][][];
  /** True generative parameters, when the file carries them. */
  truth?: GenerativeParams;
  /** For messages: "test.json (the test part of a synthetic dataset)". */
  description: string;
  /** How messages name each part ("--test synth.json: test.hidden"); default: from the description. */
  names?: { visible: string; hidden: string; truth: string };
}

const COUNTS_SHAPE = 'spike counts as a nested array [sequence][bin][neuron] (3 levels of arrays)';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function partNames(file: CountsFile): { visible: string; hidden: string; truth: string } {
  return file.names ?? { visible: file.description, hidden: `${file.description}: hidden`, truth: `${file.description}: truth` };
}

/**
 * Checks a ground-truth parameter set: {weight: N x N, bias: N} of finite numbers, where N is `neurons` when known,
 * else the length of the bias (at least `visible`).
 */
function checkTruthParams(name: string, value: unknown, fix: string, neurons?: number, visible = 1): GenerativeParams {
  if (!isObject(value)) throw new DataError(`${name} must be {"weight": [[...]], "bias": [...]}, but it is ${describeValue(value)}: ${fix}`);
  let N = neurons;
  if (N === undefined) {
    if (!Array.isArray(value.bias) || value.bias.length === 0) throw new DataError(`${name}.bias must be a non-empty array of finite numbers, but it is ${describeValue(value.bias)}: ${fix}`);
    N = value.bias.length;
    if (N < visible) throw new DataError(`${name}.bias has ${N} entries but the data has ${visible} visible neurons: ${fix}`);
  }
  const problem = finiteVectorProblem(`${name}.bias`, value.bias, N) ?? finiteMatrixProblem(`${name}.weight`, value.weight, N, N);
  if (problem) throw new DataError(`${problem.message}: ${fix}`);
  return value as unknown as GenerativeParams;
}

/** The hidden spikes of a file: the same sequences and bins as its visible counts, `neurons` columns when known. */
function checkHiddenCounts(
  name: string,
  hidden: unknown,
  visible: CountShape,
  visibleName: string,
  neurons?: { count: number; from: string },
): CountShape {
  return validateCounts(name, hidden, {
    sequences: visible.sequences,
    sequencesFrom: visibleName,
    bins: visible.bins,
    binsFrom: visibleName,
    neurons: neurons?.count,
    neuronsFrom: neurons?.from,
    role: 'hidden',
  });
}

/**
 * Checks the ground truth a counts file carries against its visible counts (hidden spikes of the same sequences and
 * bins, true parameters over the visible plus hidden neurons) and says whether it applies to a model with `hidden`
 * hidden neurons: false when there is none, or when it describes another number (which the CLI leaves out with a
 * note). Throws DataError, naming `flag`, when the file contradicts itself. Call it before any GPU work.
 */
export function checkGroundTruth(file: CountsFile, hidden: number, flag: string): boolean {
  const names = partNames(file);
  const fix = `give ${flag} ground truth that matches its visible counts, as \`poglm synth\` writes it, or a plain counts array`;
  const visible = validateCounts(names.visible, file.visible);
  let trueHidden: number | undefined;
  if (file.hidden !== undefined) {
    try {
      trueHidden = checkHiddenCounts(names.hidden, file.hidden, visible, names.visible).neurons;
    } catch (error) {
      throw error instanceof DataError ? new DataError(`${error.message}; ${fix}`) : error;
    }
  }
  if (file.truth !== undefined) {
    const truth = checkTruthParams(names.truth, file.truth, fix, trueHidden === undefined ? undefined : visible.neurons + trueHidden, visible.neurons);
    trueHidden ??= truth.bias.length - visible.neurons;
  }
  return trueHidden !== undefined && trueHidden === hidden;
}

/** A count a synth file declares ("visible": 3), checked when present. */
function declaredCount(bundle: Record<string, unknown>, field: 'visible' | 'hidden', where: string): number | undefined {
  const value = bundle[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (field === 'visible' ? 1 : 0)) {
    throw new DataError(`${where}: "${field}" is ${describeValue(value)}; a \`poglm synth\` dataset gives its ${field} neuron count as an integer`);
  }
  return value;
}

/** The hidden columns a synth part has: declared, or none when its first bin is empty (a dataset with H = 0). */
function hiddenColumns(declared: number | undefined, hidden: unknown): number | undefined {
  if (declared !== undefined) return declared;
  const first = Array.isArray(hidden) && Array.isArray(hidden[0]) ? (hidden[0] as unknown[])[0] : undefined;
  return Array.isArray(first) && first.length === 0 ? 0 : undefined;
}

function syntheticPart(bundle: Record<string, unknown>, path: string, part: 'train' | 'test', flag: string): CountsFile {
  const where = `${flag} ${path}`;
  const section = bundle[part];
  if (!isObject(section)) {
    throw new DataError(`${where} is a \`poglm synth\` dataset whose "${part}" part is ${describeValue(section)}, not {"visible", "hidden"}: write it again with poglm synth`);
  }
  const names = { visible: `${where}: ${part}.visible`, hidden: `${where}: ${part}.hidden`, truth: `${where}: truth.generative` };
  const declared = (field: 'visible' | 'hidden', count: number | undefined) => (count === undefined ? undefined : { count, from: `"${field}" in ${where}` });
  const visible = validateCounts(names.visible, section.visible, { ...neuronExpectation(declared('visible', declaredCount(bundle, 'visible', where))) });
  const file: CountsFile = { visible: section.visible as number[][][], description: `${where} (the ${part} part of a synthetic dataset)`, names };
  let hidden = hiddenColumns(declaredCount(bundle, 'hidden', where), section.hidden);
  if (section.hidden !== undefined) {
    hidden = checkHiddenCounts(names.hidden, section.hidden, visible, names.visible, declared('hidden', hidden)).neurons;
    // A dataset without hidden neurons carries empty bins: no hidden ground truth to compare with.
    if (hidden !== 0) file.hidden = section.hidden as number[][][];
  }
  if (bundle.truth !== undefined) {
    if (!isObject(bundle.truth)) throw new DataError(`${where}: "truth" must be {"generative": {"weight", "bias"}}, but it is ${describeValue(bundle.truth)}`);
    const fix = 'the true parameters cover the visible and hidden neurons (visible first), as `poglm synth` writes them';
    file.truth = checkTruthParams(names.truth, bundle.truth.generative, fix, hidden === undefined ? undefined : visible.neurons + hidden, visible.neurons);
  }
  return file;
}

function neuronExpectation(declared: { count: number; from: string } | undefined): { neurons?: number; neuronsFrom?: string } {
  return declared ? { neurons: declared.count, neuronsFrom: declared.from } : {};
}

function notCounts(where: string, json: unknown): DataError {
  const format = isObject(json) ? json.format : undefined;
  const hint = format === 'poglm-gpu.model' ? ' (this is a model JSON: give it to --model or --init)' : format !== undefined ? ` (its "format" is ${describeValue(format)})` : '';
  return new DataError(`${where} must hold ${COUNTS_SHAPE}, or a dataset written by \`poglm synth\`, but it holds ${describeValue(json)}${hint}`);
}

/**
 * Counts from a file's bytes or text: a nested array [sequence][time][neuron], or a synthetic dataset written by
 * `poglm synth`, from which `part` ("train" or "test") is taken with its hidden spikes and true parameters. Everything
 * is validated: the result's counts are non-negative integers in a rectangular shape, its ground truth fits them.
 */
export function parseCountsText(input: string | Uint8Array, path: string, part: 'train' | 'test', flag: string): CountsFile {
  const json = parseJsonText(input, `${flag} file ${path}`, COUNTS_SHAPE);
  const where = `${flag} ${path}`;
  if (Array.isArray(json)) {
    validateCounts(where, json);
    return { visible: json as number[][][], description: where };
  }
  if (isObject(json) && json.format === 'poglm-gpu.synthetic') return syntheticPart(json, path, part, flag);
  throw notCounts(where, json);
}

// ---- Ground-truth parameters and models ----

/**
 * Ground-truth parameters from a file's bytes or text: a `poglm synth` file, a model JSON, or {weight, bias}; weight
 * N x N and bias N of finite numbers, N = `neurons` when given.
 */
export function parseTruthText(input: string | Uint8Array, path: string, neurons?: number, flag = '--truth'): GenerativeParams {
  const json = parseJsonText(input, `${flag} file ${path}`, 'ground-truth parameters {"weight", "bias"}');
  const where = `${flag} ${path}`;
  const fix = 'give the true parameters of all neurons (visible first), as `poglm synth` writes them';
  if (isObject(json)) {
    if (json.truth !== undefined) {
      const generative = isObject(json.truth) ? json.truth.generative : undefined;
      return checkTruthParams(`${where}: truth.generative`, generative, fix, neurons);
    }
    if (json.generative !== undefined) return checkTruthParams(`${where}: generative`, json.generative, fix, neurons);
    if (json.weight !== undefined || json.bias !== undefined) return checkTruthParams(where, json, fix, neurons);
  }
  throw new DataError(`${where} must be a \`poglm synth\` file, a model JSON, or an object {"weight", "bias"}, but it holds ${describeValue(json)}`);
}

/** A model from a file's bytes or text, as `flag` (--model, --init) names it: JSON errors are DataErrors, the rest ModelFormatErrors. */
export function parseModelText(input: string | Uint8Array, path: string, flag = '--model'): PoglmModelJson {
  return parseModel(parseJsonText(input, `${flag} file ${path}`, 'a model JSON object'), path);
}

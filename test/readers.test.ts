// The readers of the CLI's input files and the checks under them (validateCounts, parseModel), without a GPU: each
// defect a user can hit with a bad file gives a DataError or ModelFormatError (exit 2) that names the file, the
// element and the fix, in a short message that never prints the file's content.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../src/cli/files.js';
import {
  checkGroundTruth,
  parseCountsText,
  parseJsonText,
  parseModelText,
  parseTruthText,
  readCounts,
  readJson,
  readModelFile,
  readTruth,
  type CountsFile,
} from '../src/cli/readers.js';
import { DataError, describeValue, MAX_VISIBLE_COUNT, validateCounts } from '../src/model/data.js';
import { buildModel, flattenModel, ModelFormatError, parseModel } from '../src/model/json.js';
import { paramLayout } from '../src/model/params.js';
import { resolveMethod, type Method, type Scheme } from '../src/model/types.js';

let folder = '';
const at = (name: string): string => join(folder, name);
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'poglm-readers-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The error `run` throws (failing the test when it returns). */
function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, but it returned');
}

/** An array nested `depth` levels around [] — built in a loop, as deep as a file could make it. */
function nested(depth: number): unknown[] {
  let value: unknown[] = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const counts = (sequences: number, bins: number, neurons: number, fill = 1): number[][][] =>
  Array.from({ length: sequences }, () => Array.from({ length: bins }, () => new Array<number>(neurons).fill(fill)));

function synthetic(visible = 2, hidden = 1, sequences = 2, bins = 4): Record<string, any> {
  const N = visible + hidden;
  const part = () => ({ visible: counts(sequences, bins, visible), hidden: counts(sequences, bins, hidden, 0) });
  return {
    format: 'poglm-gpu.synthetic',
    trial: 0,
    visible,
    hidden,
    basis: [0.5, 0.25],
    truth: { generative: { weight: counts(1, N, N, 0.1)[0], bias: new Array(N).fill(-1) } },
    train: part(),
    test: part(),
  };
}

function model(scheme: Scheme = 'FB', method: Method = 'exponential', visible = 2, hidden = 1): any {
  const layout = paramLayout(visible, hidden, scheme);
  const params = Float64Array.from({ length: layout.total }, (_, i) => Math.sin(i + 1) / 2);
  return JSON.parse(JSON.stringify(buildModel({ layout, params, method: resolveMethod(method), basis: [0.5, 0.25] })));
}

const parseCounts = (text: string, part: 'train' | 'test' = 'train') => parseCountsText(text, 'data.json', part, '--train');

describe('deeply nested counts', () => {
  it.each([5000, 100_000])('%i levels of [ give a DataError naming the file and the 3-level shape, not a stack overflow', (depth) => {
    const error = thrown(() => parseCounts('['.repeat(depth) + ']'.repeat(depth)));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/^--train data\.json\[0\]\[0\]\[0\] is an array of 1 entry, not a count: spike counts nest 3 levels deep, \[sequence\]\[bin\]\[neuron\]/);
  });

  it('validateCounts refuses a deep value without recursing or stringifying it', () => {
    const error = thrown(() => validateCounts('train', [[[0, nested(200_000)]]]));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/train\[0\]\[0\]\[1\] is an array of 1 entry, not a count/);
  });

  it('reads a file through readCounts the same way', () => {
    writeFileSync(at('deep.json'), '['.repeat(5000) + ']'.repeat(5000));
    expect(() => readCounts(at('deep.json'), 'train', '--train')).toThrow(DataError);
    expect(() => readCounts(at('deep.json'), 'train', '--train')).toThrow(/deep\.json\[0\]\[0\]\[0\] .*\[sequence\]\[bin\]\[neuron\]/);
  });

  it('reports a JSON.parse stack overflow (engines that recurse) as too deeply nested', () => {
    const parse = vi.spyOn(JSON, 'parse').mockImplementation(() => {
      throw new RangeError('Maximum call stack size exceeded');
    });
    try {
      const error = thrown(() => parseCounts('[[[1]]]'));
      expect(error).toBeInstanceOf(DataError);
      expect(error.message).toBe(
        '--train file data.json nests its arrays or objects too deeply to read: it should hold spike counts as a nested array [sequence][bin][neuron] (3 levels of arrays)',
      );
    } finally {
      parse.mockRestore();
    }
  });

  it('a model or truth file with a deep value gets a clean error', () => {
    const deep = model();
    deep.generative.weight[0][0] = nested(100_000);
    expect(() => parseModel(deep, 'm.json')).toThrow(/m\.json\.generative\.weight\[0\]\[0\] is an array of 1 entry: it must be a finite number/);
    const text = `{"weight": [[${'['.repeat(100_000)}${']'.repeat(100_000)}]], "bias": [0]}`;
    expect(() => parseTruthText(text, 't.json')).toThrow(/--truth t\.json\.weight\[0\]\[0\] is an array of 1 entry/);
  });
});

describe('values in messages', () => {
  it('1e999 is reported as Infinity, with what is allowed, not as null', () => {
    const error = thrown(() => parseCounts('[[[0, 1e999]]]'));
    expect(error.message).toMatch(/^--train data\.json\[0\]\[0\]\[1\] is Infinity \(a number beyond ±1\.8e308 in a JSON file, such as 1e999, reads as Infinity\)/);
    expect(error.message).toMatch(/spike counts must be non-negative integers, at most 65535 per bin \(at sequence 0, bin 0, neuron 1, counting from 0\)/);
    expect(error.message).not.toMatch(/null/);
  });

  it.each([
    { value: NaN, shown: 'NaN' },
    { value: -Infinity, shown: '-Infinity' },
    { value: -0, shown: '-0' },
    { value: undefined, shown: 'undefined' },
    { value: null, shown: 'null' },
    { value: true, shown: 'true' },
    { value: 12n, shown: 'the bigint 12n' },
    { value: 'ab', shown: 'the string "ab"' },
    { value: 'x'.repeat(1000), shown: `the string "${'x'.repeat(40)}"... (1000 characters)` },
    { value: [], shown: 'an empty array' },
    { value: new Array(1_000_000).fill(0), shown: 'an array of 1000000 entries' },
    { value: { toString: 0 }, shown: 'an object with keys "toString"' },
    { value: Object.create(null), shown: 'an empty object' },
    { value: { a: 1, b: 2, c: 3, d: 4, e: 5 }, shown: 'an object with keys "a", "b", "c", "d", ... (5 keys)' },
    { value: new Float32Array(3), shown: 'a typed array (give nested plain arrays)' },
  ])('describeValue($shown)', ({ value, shown }) => {
    expect(describeValue(value)).toBe(shown);
  });

  it('never dumps a huge array or string into a message', () => {
    const huge = new Array(1_000_000).fill(7);
    expect(thrown(() => validateCounts('train', [[[huge]]])).message.length).toBeLessThan(300);
    expect(thrown(() => validateCounts('train', [[['7'.repeat(1_000_000)]]])).message.length).toBeLessThan(300);
    const bad = model();
    bad.method = 'm'.repeat(1_000_000);
    expect(thrown(() => parseModel(bad)).message.length).toBeLessThan(300);
  });

  it('a hole in a sparse array is a missing count, not a skipped one', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(() => validateCounts('train', [[[1, , 2]]])).toThrow(/train\[0\]\[0\]\[1\] is undefined: spike counts must be non-negative integers/);
  });
});

describe('counts files', () => {
  it.each([
    { name: 'a ragged bin', text: '[[[1,2],[3]]]', message: /--train data\.json\[0\]\[1\] has 1 neurons but --train data\.json\[0\]\[0\] has 2: every bin must list the same neurons \(at sequence 0, bin 1/ },
    { name: 'sequences of different lengths', text: '[[[1]],[[1],[2]]]', message: /--train data\.json\[1\] has 2 time bins but --train data\.json\[0\] has 1: all sequences must have the same length/ },
    { name: 'a string count', text: '[[["3"]]]', message: /\[0\]\[0\]\[0\] is the string "3": spike counts must be non-negative integers/ },
    { name: 'a null count', text: '[[[null]]]', message: /\[0\]\[0\]\[0\] is null: spike counts must be non-negative integers/ },
    { name: 'a boolean count', text: '[[[true]]]', message: /\[0\]\[0\]\[0\] is true: spike counts/ },
    { name: 'an object count', text: '[[[{"n": 1}]]]', message: /\[0\]\[0\]\[0\] is an object with keys "n": spike counts/ },
    { name: 'a negative count', text: '[[[0,-1]]]', message: /\[0\]\[0\]\[1\] is -1: spike counts must be non-negative integers/ },
    { name: 'a fractional count', text: '[[[0.5]]]', message: /\[0\]\[0\]\[0\] is 0\.5: spike counts must be non-negative integers/ },
    { name: 'a count over 16 bits', text: `[[[${MAX_VISIBLE_COUNT + 1}]]]`, message: /\[0\]\[0\]\[0\] is 65536 spikes in one bin; counts are stored in 16 bits \(at most 65535 per bin\): use narrower bins/ },
    { name: 'no sequences', text: '[]', message: /--train data\.json holds no sequences/ },
    { name: 'a sequence without bins', text: '[[]]', message: /--train data\.json\[0\] has no time bins/ },
    { name: 'no neurons', text: '[[[]]]', message: /--train data\.json\[0\]\[0\] has no neurons/ },
    { name: 'one level too few', text: '[[1,2],[3,4]]', message: /\[0\]\[0\] must be an array of per-neuron counts \(spike counts are \[sequence\]\[bin\]\[neuron\], 3 levels of arrays\), but it is 1; a single sequence \[bin\]\[neuron\] must still be wrapped/ },
    { name: 'a number', text: '3', message: /--train data\.json must hold spike counts as a nested array \[sequence\]\[bin\]\[neuron\] \(3 levels of arrays\), or a dataset written by `poglm synth`, but it holds 3/ },
    { name: 'a model JSON', text: JSON.stringify(model()), message: /but it holds an object with keys .* \(this is a model JSON: give it to --model or --init\)/ },
    { name: 'an object of another format', text: '{"format": "other"}', message: /\(its "format" is the string "other"\)/ },
  ])('$name gives a DataError naming the element', ({ text, message }) => {
    const error = thrown(() => parseCounts(text));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(message);
  });

  it('keep the messages the CLI and the API have always given', () => {
    const negative = counts(3, 4, 2, 0);
    negative[2][3][1] = -1;
    expect(() => validateCounts('train', negative)).toThrow(/train\[2\]\[3\]\[1\] is -1: spike counts must be non-negative integers/);
    expect(() => validateCounts('--test four.json', [[[0, 1, 0, 2]]], { neurons: 3 })).toThrow(/--test four\.json\[0\]\[0\] has 4 neurons but the model expects 3 visible neurons/);
    expect(() => validateCounts('train', [[[0, 0]], [[0]]])).toThrow(/train\[1\]\[0\] has 1 neurons but train\[0\]\[0\] has 2/);
  });

  it('hidden counts may go to 2^24 (they are f32 on the device), visible ones to 65,535', () => {
    expect(validateCounts('hidden', [[[70_000]]], { role: 'hidden' })).toEqual({ sequences: 1, bins: 1, neurons: 1 });
    expect(() => validateCounts('hidden', [[[2 ** 24 + 1]]], { role: 'hidden' })).toThrow(/counts above 2\^24 are not exact in f32/);
  });

  it('accepts -0 and reads a valid array as it is', () => {
    expect(parseCounts('[[[0, -0, 65535]], [[1, 2, 3]]]')).toEqual({ visible: [[[0, -0, 65535]], [[1, 2, 3]]], description: '--train data.json' });
  });
});

describe('file contents that are not JSON', () => {
  it.each([
    { name: 'a NumPy .npy file', bytes: [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00], message: /^--train file x\.npy is not a JSON file \(it starts with bytes 93 4E 55 4D 50 59 01 00 \.\.\.; binary formats are not read here\); it looks like a NumPy \.npy array/ },
    { name: 'a MATLAB .mat file', bytes: [...Buffer.from('MATLAB 5.0 MAT-file, Platform: GLNXA64'), 0, 0, 1, 0x49, 0x4d], message: /is not a JSON file \(it starts with bytes 4D 41 54 4C 41 42 20 35 \.\.\.; binary formats are not read here\); it looks like a MATLAB \.mat file/ },
    { name: 'a gzip file', bytes: [0x1f, 0x8b, 0x08, 0x00], message: /starts with bytes 1F 8B 08 00; binary formats are not read here\); it looks like a gzip-compressed file: decompress it first/ },
    { name: 'binary without a known header', bytes: [0x5b, 0x00, 0x01, 0x02], message: /starts with bytes 5B 00 01 02; binary formats are not read here\)$/ },
    { name: 'UTF-16 text', bytes: [0xff, 0xfe, 0x5b, 0x00], message: /is UTF-16 text: save it as UTF-8/ },
    { name: 'Latin-1 text', bytes: [...Buffer.from('[[[1]],\n[[2]]] '), 0xe9], message: /^--train file x\.npy is not UTF-8 text \(byte E9 at offset 15, line 2\): save it as UTF-8 JSON$/ },
  ])('$name: a short message, not the content', ({ bytes, message }) => {
    const error = thrown(() => parseCountsText(Uint8Array.from(bytes), 'x.npy', 'train', '--train'));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(message);
    expect(error.message.length).toBeLessThan(300);
  });

  it('a .npy file given to readCounts, readTruth and readModelFile says so', () => {
    writeFileSync(at('counts.npy'), Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY\x01\x00v\x00{"descr": "<i8"}'), Buffer.alloc(64)]));
    for (const read of [() => readCounts(at('counts.npy'), 'test', '--test'), () => readTruth(at('counts.npy')), () => readModelFile(at('counts.npy'))]) {
      expect(() => read()).toThrow(/counts\.npy is not a JSON file \(it starts with bytes 93 4E 55 4D 50 59 01 00/);
    }
  });

  it.each([
    { text: '[[[1, 2],]]', message: /not valid JSON: expected a value, found '\]' \(a trailing comma\?\) at line 1, column 10$/ },
    { text: '{"a": 1,}', message: /expected a double-quoted property name \(a trailing comma\?\), found '\}' at line 1, column 9$/ },
    { text: '[[[1]]]\n[[[2]]]', message: /'\[' after the end of the JSON value \(a file holds one value\) at line 2, column 1$/ },
    { text: '[[[NaN]]]', message: /expected a value, found 'N' \(strings need double quotes; NaN and Infinity are not JSON\) at line 1, column 4$/ },
    { text: '[[[1\n', message: /the text ends with 3 brackets still open at line 2, column 1$/ },
    { text: '["secret\u0001"]', message: /a control character \(U\+0001\) inside a string: write it as an escape such as \\n at line 1, column 9$/ },
    { text: '["\\q"]', message: /an unknown escape in a string/ },
    { text: '[1 2]', message: /expected ',' or '\]', found '2' at line 1, column 4$/ },
    { text: '{"a" 1}', message: /expected ':' after a property name, found '1'/ },
    { text: '   ', message: /--train file data\.json is empty: it should hold spike counts/ },
  ])('malformed JSON $text: the position, not the content', ({ text, message }) => {
    const error = thrown(() => parseCounts(text));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/^--train file data\.json /);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/secret/);
  });

  it('a UTF-8 byte order mark is skipped, in bytes and in text', () => {
    expect(parseCountsText(Uint8Array.from([0xef, 0xbb, 0xbf, ...Buffer.from('[[[4]]]')]), 'bom.json', 'train', '--train').visible).toEqual([[[4]]]);
    expect(parseJsonText('\ufeff{"a": [1]}', 'x')).toEqual({ a: [1] });
  });

  it('files that cannot be read are usage errors about the flag', () => {
    expect(() => readCounts(at('missing.json'), 'train', '--train')).toThrow(UsageError);
    expect(() => readCounts(at('missing.json'), 'train', '--train')).toThrow(/cannot read --train file .*missing\.json: ENOENT \(no such file\)/);
    mkdirSync(at('folder.json'), { recursive: true });
    expect(() => readJson(at('folder.json'), '--model')).toThrow(/cannot read --model file .*folder\.json: EISDIR \(it is a folder, not a file\)/);
  });

  it('readJson keeps its message for text that is not JSON', () => {
    writeFileSync(at('times.csv'), 'neuron,time\n0,0.5\n');
    expect(() => readJson(at('times.csv'), '--model')).toThrow(
      /--model file .*times\.csv is not valid JSON: expected a value, found 'n' \(strings need double quotes; NaN and Infinity are not JSON\) at line 1, column 1$/,
    );
  });
});

describe('poglm synth files', () => {
  const read = (data: unknown, part: 'train' | 'test' = 'test') => parseCountsText(JSON.stringify(data), 's.json', part, '--test');

  it('reads a part with its hidden spikes and true parameters', () => {
    const data = synthetic();
    const file = read(data);
    expect(file.visible).toEqual(data.test.visible);
    expect(file.hidden).toEqual(data.test.hidden);
    expect(file.truth).toEqual(data.truth.generative);
    expect(file.description).toBe('--test s.json (the test part of a synthetic dataset)');
  });

  it('a dataset without hidden neurons carries no hidden ground truth', () => {
    const file = read(synthetic(3, 0));
    expect(file.hidden).toBeUndefined();
    expect(file.truth?.bias).toHaveLength(3);
    expect(checkGroundTruth(file, 2, '--test')).toBe(false);
  });

  it.each<{ name: string; change: (data: Record<string, any>) => void; message: RegExp }>([
    { name: 'a missing part', change: (data) => delete data.test, message: /--test s\.json is a `poglm synth` dataset whose "test" part is undefined, not \{"visible", "hidden"\}/ },
    { name: 'a part that is an array', change: (data) => (data.test = [1]), message: /whose "test" part is an array of 1 entry/ },
    { name: 'missing visible counts', change: (data) => delete data.test.visible, message: /--test s\.json: test\.visible must be an array of sequences .* but it is undefined/ },
    { name: 'a bad count', change: (data) => (data.test.visible[1][2][0] = -3), message: /--test s\.json: test\.visible\[1\]\[2\]\[0\] is -3: spike counts/ },
    { name: 'a declared visible count that disagrees', change: (data) => (data.visible = 3), message: /test\.visible\[0\]\[0\] has 2 neurons but "visible" in --test s\.json is 3/ },
    { name: 'a declared count that is no integer', change: (data) => (data.hidden = '1'), message: /--test s\.json: "hidden" is the string "1"; a `poglm synth` dataset gives its hidden neuron count as an integer/ },
    { name: 'hidden spikes of other sequences', change: (data) => data.test.hidden.pop(), message: /--test s\.json: test\.hidden has 1 sequences but --test s\.json: test\.visible has 2: give the hidden spikes of the same sequences/ },
    { name: 'hidden spikes of other bins', change: (data) => data.test.hidden[1].pop(), message: /test\.hidden\[1\] has 3 time bins but --test s\.json: test\.visible has 4: hidden spikes must cover the same bins/ },
    { name: 'more hidden columns than declared', change: (data) => (data.test.hidden[0][0] = [0, 0]), message: /test\.hidden\[0\]\[0\] has 2 neurons but "hidden" in --test s\.json is 1/ },
    { name: 'fractional hidden spikes', change: (data) => (data.test.hidden[0][1][0] = 0.5), message: /test\.hidden\[0\]\[1\]\[0\] is 0\.5: spike counts must be non-negative integers/ },
    { name: 'truth that is not an object', change: (data) => (data.truth = 5), message: /--test s\.json: "truth" must be \{"generative": \{"weight", "bias"\}\}, but it is 5/ },
    { name: 'truth without generative', change: (data) => (data.truth = {}), message: /--test s\.json: truth\.generative must be \{"weight": \[\[\.\.\.\]\], "bias": \[\.\.\.\]\}, but it is undefined/ },
    { name: 'a truth bias too short', change: (data) => data.truth.generative.bias.pop(), message: /truth\.generative\.bias has 2 entries but must have 3: the true parameters cover the visible and hidden neurons/ },
    { name: 'a truth weight not square', change: (data) => data.truth.generative.weight[2].pop(), message: /truth\.generative\.weight\[2\] has 2 entries but must have 3/ },
    { name: 'a null truth weight', change: (data) => (data.truth.generative.weight[1][1] = null), message: /truth\.generative\.weight\[1\]\[1\] is null \(JSON writes NaN and ±Infinity as null\): it must be a finite number/ },
  ])('$name is a DataError', ({ change, message }) => {
    const data = synthetic();
    change(data);
    const error = thrown(() => read(data));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(message);
  });
});

describe('checkGroundTruth', () => {
  const file = (change: (file: CountsFile) => void = () => {}): CountsFile => {
    const data = synthetic();
    const read: CountsFile = { visible: data.test.visible, hidden: data.test.hidden, truth: data.truth.generative, description: '--test s.json' };
    change(read);
    return read;
  };

  it('says whether the ground truth applies to a model with that many hidden neurons', () => {
    expect(checkGroundTruth(file(), 1, '--test')).toBe(true);
    expect(checkGroundTruth(file(), 2, '--test')).toBe(false);
    expect(checkGroundTruth(file((f) => delete f.hidden), 1, '--test')).toBe(true);
    expect(checkGroundTruth({ visible: [[[1]]], description: '--test plain.json' }, 1, '--test')).toBe(false);
  });

  it.each<{ name: string; change: (file: CountsFile) => void; message: RegExp }>([
    { name: 'hidden spikes of other bins', change: (f) => f.hidden![0].pop(), message: /--test s\.json: hidden\[0\] has 3 time bins but --test s\.json has 4: hidden spikes must cover the same bins .*; give --test ground truth that matches/ },
    { name: 'hidden spikes of other sequences', change: (f) => f.hidden!.push(f.hidden![0]), message: /--test s\.json: hidden has 3 sequences but --test s\.json has 2/ },
    { name: 'truth of another size than visible + hidden', change: (f) => (f.truth = { weight: [[0, 0], [0, 0]], bias: [0, 0] }), message: /--test s\.json: truth\.bias has 2 entries but must have 3/ },
    { name: 'truth of fewer neurons than visible', change: (f) => (delete f.hidden, (f.truth = { weight: [[0]], bias: [0] })), message: /--test s\.json: truth\.bias has 1 entries but the data has 2 visible neurons/ },
    { name: 'a non-finite truth', change: (f) => (f.truth!.bias[0] = NaN), message: /--test s\.json: truth\.bias\[0\] is NaN: it must be a finite number/ },
  ])('$name is a DataError before any GPU work', ({ change, message }) => {
    const error = thrown(() => checkGroundTruth(file(change), 1, '--test'));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(message);
  });
});

describe('readTruth', () => {
  const truth = { weight: [[0, 1], [2, 3]], bias: [0, 1] };

  it.each([
    { name: 'a bare {weight, bias}', json: truth },
    { name: 'a poglm synth file', json: { format: 'poglm-gpu.synthetic', truth: { generative: truth } } },
    { name: 'a model JSON', json: { format: 'poglm-gpu.model', generative: truth } },
  ])('reads $name', ({ json }) => {
    writeFileSync(at('truth.json'), JSON.stringify(json));
    expect(readTruth(at('truth.json'))).toEqual(truth);
    expect(readTruth(at('truth.json'), 2)).toEqual(truth);
  });

  it.each([
    { text: '{"weight": [[0, null], [0, 0]], "bias": [0, 0]}', message: /--truth t\.json\.weight\[0\]\[1\] is null \(JSON writes NaN and ±Infinity as null\): it must be a finite number: give the true parameters/ },
    { text: '{"weight": [[0, 1e999], [0, 0]], "bias": [0, 0]}', message: /weight\[0\]\[1\] is Infinity \(a number beyond/ },
    { text: '{"weight": [[0, "1"], [0, 0]], "bias": [0, 0]}', message: /weight\[0\]\[1\] is the string "1": it must be a finite number/ },
    { text: '{"weight": [[0, 0]], "bias": [0, 0]}', message: /weight has 1 rows but must be a 2 x 2 matrix/ },
    { text: '{"weight": [[0, 0], [0, 0]], "bias": []}', message: /--truth t\.json\.bias must be a non-empty array of finite numbers, but it is an empty array/ },
    { text: '{"weight": [[0, 0], [0, 0]]}', message: /bias must be a non-empty array of finite numbers, but it is undefined/ },
    { text: '{"truth": 3}', message: /--truth t\.json: truth\.generative must be \{"weight"/ },
    { text: '[1, 2]', message: /--truth t\.json must be a `poglm synth` file, a model JSON, or an object \{"weight", "bias"\}, but it holds an array of 2 entries/ },
  ])('refuses $text', ({ text, message }) => {
    const error = thrown(() => parseTruthText(text, 't.json'));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(message);
  });

  it('checks the neuron count when it is given', () => {
    expect(() => parseTruthText(JSON.stringify(truth), 't.json', 3)).toThrow(/--truth t\.json\.bias has 2 entries but must have 3/);
  });
});

describe('parseModel', () => {
  it.each<[Scheme, Method]>([
    ['F', 'poisson'],
    ['FS', 'gs-pathwise'],
    ['FB', 'exponential'],
  ])('reads back what buildModel writes (%s, %s)', (scheme, method) => {
    const written = model(scheme, method);
    const read = parseModel(written, 'm.json');
    expect(read).toEqual(written);
    expect(flattenModel(read).layout.scheme).toBe(scheme);
    expect(parseModelText(JSON.stringify(written), 'm.json')).toEqual(written);
  });

  it('null weights (a model saved with NaN) are refused: non-finite parameters, cannot be evaluated', () => {
    const saved = model();
    saved.generative.weight[1][2] = null;
    const error = thrown(() => parseModel(saved, 'm.json'));
    expect(error).toBeInstanceOf(ModelFormatError);
    expect(error.message).toMatch(/^m\.json\.generative\.weight\[1\]\[2\] is null \(JSON writes NaN and ±Infinity as null\): it must be a finite number: the model has non-finite parameters and cannot be evaluated/);
  });

  it.each<{ name: string; change: (model: any) => void; message: RegExp }>([
    { name: 'an unknown format', change: (m) => (m.format = 'other'), message: /m\.json\.format is the string "other": this is not a model JSON/ },
    { name: 'a synth dataset', change: (m) => (m.format = 'poglm-gpu.synthetic'), message: /m\.json is a `poglm synth` dataset, not a model JSON: give it to --train\/--test/ },
    { name: 'an unknown version', change: (m) => (m.version = 2), message: /m\.json\.version is 2; this library reads version 1/ },
    { name: 'a missing visible count', change: (m) => delete m.visible, message: /m\.json\.visible must be a positive integer, got undefined \(the field is missing\)/ },
    { name: 'a fractional hidden count', change: (m) => (m.hidden = 1.5), message: /m\.json\.hidden must be a non-negative integer, got 1\.5/ },
    { name: 'an infinite visible count', change: (m) => (m.visible = Infinity), message: /m\.json\.visible must be a positive integer, got Infinity/ },
    { name: 'an unknown method', change: (m) => (m.method = 'gamma'), message: /m\.json\.method is the string "gamma"; use one of poisson/ },
    { name: 'a string tau', change: (m) => (m.tau = '1'), message: /m\.json\.tau must be a finite number, got the string "1"/ },
    { name: 'an infinite tau', change: (m) => (m.tau = Infinity), message: /m\.json\.tau must be a finite number, got Infinity/ },
    { name: 'too many categories', change: (m) => (m.categories = 9), message: /m\.json: categories 9 must be an integer from 2 to 8/ },
    { name: 'an empty basis', change: (m) => (m.basis = []), message: /m\.json\.basis must be a non-empty array of finite numbers \(psi\[0\.\.L-1\]\), but it is an empty array/ },
    { name: 'a null basis weight', change: (m) => (m.basis[1] = null), message: /m\.json\.basis\[1\] is null .*: the model has non-finite parameters/ },
    { name: 'a missing generative part', change: (m) => delete m.generative, message: /m\.json\.generative must be an object \{"weight", "bias"\}, but it is undefined/ },
    { name: 'weights for other neurons', change: (m) => m.generative.weight.pop(), message: /m\.json\.generative\.weight has 2 rows but must be a 3 x 3 matrix/ },
    { name: 'a short bias', change: (m) => m.generative.bias.pop(), message: /m\.json\.generative\.bias has 2 entries but must have 3/ },
    { name: 'a string weight', change: (m) => (m.generative.weight[0][0] = '0'), message: /generative\.weight\[0\]\[0\] is the string "0": it must be a finite number$/ },
    { name: 'an unknown scheme', change: (m) => (m.variational.scheme = 'FX'), message: /m\.json\.variational\.scheme is the string "FX"; use one of F, FS, FB/ },
    { name: 'a variational part that is an array', change: (m) => (m.variational = []), message: /m\.json\.variational must be an object, but it is an empty array/ },
    { name: 'a forward weight for another scheme', change: (m) => (m.variational.scheme = 'FS'), message: /variational\.forwardWeight\[0\] has 2 entries but must have 3/ },
    { name: 'a backward weight outside FB', change: (m) => ((m.variational.scheme = 'F'), (m.variational.forwardWeight = [[0, 0]])), message: /variational\.backwardWeight is given but scheme F has none/ },
    { name: 'a missing backward weight (FB)', change: (m) => delete m.variational.backwardWeight, message: /variational\.backwardWeight must be a 1 x 2 matrix .* but it is undefined/ },
    { name: 'a null variational bias', change: (m) => (m.variational.bias[0] = null), message: /variational\.bias\[0\] is null .*non-finite parameters/ },
    { name: 'training that is not an object', change: (m) => (m.training = [1]), message: /m\.json\.training must be an object, but it is an array of 1 entry/ },
    { name: 'a training count that is a string', change: (m) => (m.training = { epochs: '5' }), message: /m\.json\.training\.epochs must be a non-negative integer, got the string "5"/ },
    { name: 'an ELBO history of strings', change: (m) => (m.training = { elboHistory: [1, 'x'] }), message: /m\.json\.training\.elboHistory\[1\] is the string "x"/ },
    { name: 'an unknown stop reason', change: (m) => (m.training = { stoppedEarly: { reason: 'tired' } }), message: /m\.json\.training\.stoppedEarly must be/ },
  ])('$name is a ModelFormatError naming the field', ({ change, message }) => {
    const bad = model();
    change(bad);
    const error = thrown(() => parseModel(bad, 'm.json'));
    expect(error).toBeInstanceOf(ModelFormatError);
    expect(error.message).toMatch(message);
  });

  it('keeps a training record with a null (non-finite) epoch mean', () => {
    const saved = model();
    saved.training = { epochs: 2, epochsCompleted: 1, elboHistory: [null], stoppedEarly: { reason: 'non-finite', step: 3, message: 'x' } };
    expect(parseModel(saved).training?.elboHistory).toEqual([null]);
  });

  it('a model JSON that is not JSON gives a DataError naming the flag and file', () => {
    const error = thrown(() => parseModelText('{"visible": 1,', 'm.json', '--init'));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe('--init file m.json is not valid JSON: the text ends with a bracket still open at line 1, column 15');
  });
});

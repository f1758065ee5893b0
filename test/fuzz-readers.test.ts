// Property-based fuzzing of the CLI's readers (fast-check, fixed seeds): random JSON values, valid files mutated at the
// text and at the value level, and random bytes, through the functions the CLI reads files with. Every input must
// either give a valid result, whose invariants are checked, or a DataError / ModelFormatError / UsageError with a
// short message that names the file and holds no raw control characters — never another exception, nor a hang.
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/files.js';
import { parseCountsText, parseModelText, parseTruthText, readCounts, type CountsFile } from '../src/cli/readers.js';
import { DataError, describeValue, MAX_HIDDEN_COUNT, MAX_VISIBLE_COUNT, validateCounts } from '../src/model/data.js';
import { buildModel, flattenModel, ModelFormatError, parseModel, type PoglmModelJson } from '../src/model/json.js';
import { paramLayout } from '../src/model/params.js';
import { METHODS, resolveMethod, SCHEMES, type GenerativeParams } from '../src/model/types.js';

const SEED = 20_240_611;
const RUNS = 400;
/** Each property's own time limit: a hang fails it instead of stalling the suite. */
const TIMEOUT_MS = 20_000;
const PATH = 'fuzz-input.json';

const options = (numRuns = RUNS) => ({ seed: SEED, numRuns });

// ---------------------------------------------------------------------------------------------------------------
// What a run may end in

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

function attempt<T>(run: () => T): Outcome<T> {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A failure the CLI maps to exit 2, with a message a user can read: short, naming the file, no raw bytes. */
function expectCleanError(error: unknown, mustName?: string): void {
  const clean = error instanceof DataError || error instanceof ModelFormatError || error instanceof UsageError;
  if (!clean) throw new Error(`not a clean error: ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}`);
  const { message } = error as Error;
  expect(message.length).toBeGreaterThan(0);
  expect(message.length).toBeLessThan(600);
  expect(message).not.toMatch(/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/);
  if (mustName) expect(message).toContain(mustName);
}

function expectRectangularCounts(counts: unknown, limit: number, neurons?: number): { sequences: number; bins: number; neurons: number } {
  expect(Array.isArray(counts)).toBe(true);
  const data = counts as unknown[][][];
  expect(data.length).toBeGreaterThan(0);
  const bins = data[0].length;
  const width = neurons ?? data[0][0].length;
  expect(bins).toBeGreaterThan(0);
  for (const sequence of data) {
    expect(Array.isArray(sequence) && sequence.length === bins).toBe(true);
    for (const bin of sequence) {
      expect(Array.isArray(bin) && bin.length === width).toBe(true);
      for (const count of bin) expect(Number.isInteger(count) && (count as number) >= 0 && (count as number) <= limit).toBe(true);
    }
  }
  return { sequences: data.length, bins, neurons: width };
}

function expectFiniteTruth(truth: GenerativeParams, neurons?: number): void {
  const N = neurons ?? truth.bias.length;
  expect(truth.bias).toHaveLength(N);
  expect(truth.weight).toHaveLength(N);
  for (const value of truth.bias) expect(Number.isFinite(value)).toBe(true);
  for (const row of truth.weight) {
    expect(row).toHaveLength(N);
    for (const value of row) expect(Number.isFinite(value)).toBe(true);
  }
}

/** What a successful counts read promises: rectangular non-negative integer counts, ground truth that fits them. */
function expectValidCountsFile(file: CountsFile): void {
  const visible = expectRectangularCounts(file.visible, MAX_VISIBLE_COUNT);
  expect(visible.neurons).toBeGreaterThan(0);
  let hidden: number | undefined;
  if (file.hidden !== undefined) {
    const shape = expectRectangularCounts(file.hidden, MAX_HIDDEN_COUNT);
    expect([shape.sequences, shape.bins]).toEqual([visible.sequences, visible.bins]);
    expect(shape.neurons).toBeGreaterThan(0);
    hidden = shape.neurons;
  }
  if (file.truth !== undefined) {
    expectFiniteTruth(file.truth, hidden === undefined ? undefined : visible.neurons + hidden);
    expect(file.truth.bias.length).toBeGreaterThanOrEqual(visible.neurons);
  }
}

/** What a successful model read promises: it flattens to finite parameters of its layout. */
function expectValidModel(model: PoglmModelJson): void {
  const flat = flattenModel(model);
  expect(flat.layout.visible).toBe(model.visible);
  expect(flat.layout.hidden).toBe(model.hidden);
  expect(flat.params.every(Number.isFinite)).toBe(true);
  expect(model.basis.length).toBeGreaterThan(0);
  expect(model.basis.every(Number.isFinite)).toBe(true);
}

function checkCounts(input: string | Uint8Array, part: 'train' | 'test' = 'test'): void {
  const outcome = attempt(() => parseCountsText(input, PATH, part, '--test'));
  if (outcome.ok) expectValidCountsFile(outcome.value);
  else expectCleanError(outcome.error, PATH);
}

function checkModelText(input: string | Uint8Array): void {
  const outcome = attempt(() => parseModelText(input, PATH));
  if (outcome.ok) expectValidModel(outcome.value);
  else expectCleanError(outcome.error, PATH);
}

function checkModelValue(value: unknown): void {
  const outcome = attempt(() => parseModel(value, PATH));
  if (outcome.ok) expectValidModel(outcome.value);
  else expectCleanError(outcome.error, PATH);
}

function checkTruth(input: string | Uint8Array): void {
  const outcome = attempt(() => parseTruthText(input, PATH));
  if (outcome.ok) expectFiniteTruth(outcome.value);
  else expectCleanError(outcome.error, PATH);
}

// ---------------------------------------------------------------------------------------------------------------
// Valid documents

const smallCount = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(0, MAX_VISIBLE_COUNT));
const parameter = fc.double({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true });

function countsOf(sequences: number, bins: number, neurons: number): fc.Arbitrary<number[][][]> {
  return fc.array(fc.array(fc.array(smallCount, { minLength: neurons, maxLength: neurons }), { minLength: bins, maxLength: bins }), {
    minLength: sequences,
    maxLength: sequences,
  });
}

function matrixOf(rows: number, columns: number): fc.Arbitrary<number[][]> {
  return fc.array(fc.array(parameter, { minLength: columns, maxLength: columns }), { minLength: rows, maxLength: rows });
}

const dimension = (max: number, min = 1) => fc.integer({ min, max });

const validCounts = fc.tuple(dimension(3), dimension(4), dimension(3)).chain(([s, t, v]) => countsOf(s, t, v));

const validSynthetic = fc.tuple(dimension(3), dimension(2, 0), dimension(3), dimension(4)).chain(([V, H, S, T]) =>
  fc.record({
    format: fc.constant('poglm-gpu.synthetic'),
    trial: fc.nat(10),
    visible: fc.constant(V),
    hidden: fc.constant(H),
    basis: fc.constant([0.5, 0.25]),
    truth: fc.record({ generative: fc.record({ weight: matrixOf(V + H, V + H), bias: matrixOf(1, V + H).map((rows) => rows[0]) }) }),
    train: fc.record({ visible: countsOf(S, T, V), hidden: countsOf(S, T, H) }),
    test: fc.record({ visible: countsOf(S, T, V), hidden: countsOf(S, T, H) }),
  }),
);

const validModel: fc.Arbitrary<PoglmModelJson> = fc
  .tuple(dimension(3), dimension(2, 0), fc.constantFrom(...SCHEMES), fc.constantFrom(...METHODS), fc.integer())
  .map(([visible, hidden, scheme, method, seed]) => {
    const layout = paramLayout(visible, hidden, scheme);
    const params = Float64Array.from({ length: layout.total }, (_, i) => Math.sin(seed + i));
    const built = buildModel({ layout, params, method: resolveMethod(method), basis: [0.5, 0.25, 0.125] });
    return JSON.parse(JSON.stringify(built)) as PoglmModelJson;
  });

const validTruth = dimension(4).chain((N) =>
  fc.record({ weight: matrixOf(N, N), bias: matrixOf(1, N).map((rows) => rows[0]) }).chain((truth) =>
    fc.constantFrom<unknown>(truth, { format: 'poglm-gpu.synthetic', truth: { generative: truth } }, { format: 'poglm-gpu.model', generative: truth }),
  ),
);

// ---------------------------------------------------------------------------------------------------------------
// Mutations

/** Text that replaces a number: out of range, of the wrong type, malformed, or deeply nested. */
const NUMBER_REPLACEMENTS = [
  '1e999', '-1e999', '-1', '0.5', '-0', '1e20', '65536', '16777217', '1e308', '"3"', '""', 'null', 'true', '[]', '{}',
  '[[[[0]]]]', 'NaN', 'Infinity', '', '01', '1.', '-', '0x10', `"${'x'.repeat(3000)}"`, `${'['.repeat(3000)}${']'.repeat(3000)}`,
  '{"toString": 0}', '"\\u0000"', '"\\q"',
];
const INSERTIONS = ['[', ']', '{', '}', ',', ':', '"', '-', '.', '0', '9', 'e', ' ', '\n', 'n', 't', '\\', '\u0000', '\u00e9', '\ud800', '1e999'];

type TextEdit = { kind: 'delete' | 'insert' | 'replace' | 'number' | 'nest'; at: number; pick: number };
const textEdit: fc.Arbitrary<TextEdit> = fc.record({
  kind: fc.constantFrom('delete', 'insert', 'replace', 'number', 'number', 'nest'),
  at: fc.nat(),
  pick: fc.nat(),
});

const NUMBER_TOKEN = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

function applyTextEdit(text: string, edit: TextEdit): string {
  const at = text.length === 0 ? 0 : edit.at % text.length;
  switch (edit.kind) {
    case 'delete':
      return text.slice(0, at) + text.slice(at + 1 + (edit.pick % 3));
    case 'insert':
      return text.slice(0, at) + INSERTIONS[edit.pick % INSERTIONS.length] + text.slice(at);
    case 'replace':
      return text.slice(0, at) + INSERTIONS[edit.pick % INSERTIONS.length] + text.slice(at + 1);
    case 'number': {
      const numbers = [...text.matchAll(NUMBER_TOKEN)];
      if (numbers.length === 0) return text;
      const token = numbers[edit.at % numbers.length];
      return text.slice(0, token.index) + NUMBER_REPLACEMENTS[edit.pick % NUMBER_REPLACEMENTS.length] + text.slice(token.index! + token[0].length);
    }
    case 'nest': {
      const depth = [1, 2, 50, 5000, 100_000][edit.pick % 5];
      return '['.repeat(depth) + text + ']'.repeat(depth);
    }
  }
}

const mutatedText = (documents: fc.Arbitrary<unknown>): fc.Arbitrary<string> =>
  fc.tuple(documents, fc.array(textEdit, { minLength: 1, maxLength: 4 })).map(([document, edits]) => edits.reduce(applyTextEdit, JSON.stringify(document)));

/** An array nested `depth` levels, built in a loop. */
function nested(depth: number): unknown[] {
  let value: unknown[] = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Values a field can be replaced with: JSON can write some of them, the API can be given all of them. */
const replacementValue: fc.Arbitrary<unknown> = fc.oneof(
  // Cloned, so that an edit inside an inserted value never changes the constant for later runs.
  fc.constantFrom<unknown>(Infinity, -Infinity, NaN, -0, -1, 0.5, 1e20, 65_536, 2 ** 24 + 1, '3', '', null, true, false, [], {}, [[[]]], { toString: 0 }, undefined).map((value) => structuredClone(value)),
  fc.constant(null).map(() => nested(5000)),
  fc.jsonValue({ maxDepth: 3 }),
  fc.anything({ maxDepth: 2, withBigInt: true, withBoxedValues: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, withMap: true, withDate: true }),
);

type Path = (string | number)[];

/** Arrays and plain objects, the containers an edit goes into (not boxed strings, typed arrays, maps). */
function isContainer(node: unknown): node is Record<string, unknown> {
  if (typeof node !== 'object' || node === null) return false;
  const prototype = Object.getPrototypeOf(node);
  return Array.isArray(node) || prototype === Object.prototype || prototype === null;
}

/** Every path into a value, breadth first and bounded (in number and depth: deep values are edited near the top). */
function pathsOf(value: unknown, limit = 500, depth = 8): Path[] {
  const paths: Path[] = [[]];
  const queue: [unknown, Path][] = [[value, []]];
  for (let i = 0; i < queue.length && paths.length < limit; i++) {
    const [node, path] = queue[i];
    if (!isContainer(node) || path.length >= depth) continue;
    for (const key of Object.keys(node)) {
      const child: Path = [...path, Array.isArray(node) ? Number(key) : key];
      paths.push(child);
      queue.push([(node as Record<string, unknown>)[key], child]);
    }
  }
  return paths;
}

type ValueEdit = { kind: 'replace' | 'delete' | 'wrap' | 'duplicate'; pick: number; value: unknown };
const valueEdit: fc.Arbitrary<ValueEdit> = fc.record({ kind: fc.constantFrom('replace', 'replace', 'delete', 'wrap', 'duplicate'), pick: fc.nat(), value: replacementValue });

/** Applies an edit in place at one of the document's paths (the root is replaced by returning the new value). */
function applyValueEdit(document: unknown, edit: ValueEdit): unknown {
  const paths = pathsOf(document);
  const path = paths[edit.pick % paths.length];
  const current = path.reduce<any>((node, key) => node[key], document);
  const next = edit.kind === 'wrap' ? [current] : edit.value;
  if (path.length === 0) return edit.kind === 'delete' ? undefined : next;
  const parent = path.slice(0, -1).reduce<any>((node, key) => node[key], document);
  const key = path[path.length - 1];
  if (edit.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (edit.kind === 'duplicate' && Array.isArray(parent)) {
    parent.push(current);
  } else {
    parent[key] = next;
  }
  return document;
}

const mutatedValue = (documents: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.tuple(documents, fc.array(valueEdit, { minLength: 1, maxLength: 3 })).map(([document, edits]) => edits.reduce(applyValueEdit, structuredClone(document)));

/** JSON text of a mutated value, where it has one (a value with a bigint or a cycle has none; a deep one overflows). */
function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

const BINARY_HEADERS = [[0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], [0x50, 0x4b, 0x03, 0x04], [0x1f, 0x8b], [0xff, 0xfe], [0xef, 0xbb, 0xbf], [0x89, 0x48, 0x44, 0x46], []];

/** Random bytes, alone, after a binary header, or spliced into a valid JSON text (so that invalid UTF-8 comes late). */
const randomBytes = (documents: fc.Arbitrary<unknown>): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.constantFrom(...BINARY_HEADERS), fc.uint8Array({ maxLength: 100 })).map(([header, rest]) => Uint8Array.from([...header, ...rest])),
    fc.tuple(documents, fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.nat()).map(([document, noise, at]) => {
      const text = Buffer.from(JSON.stringify(document));
      const where = at % (text.length + 1);
      return Uint8Array.from([...text.subarray(0, where), ...noise, ...text.subarray(where)]);
    }),
  );

// ---------------------------------------------------------------------------------------------------------------
// Properties

describe('fuzzing the counts reader (parseCountsText, as readCounts reads a file)', () => {
  it('random JSON values', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => checkCounts(JSON.stringify(value) ?? 'null')), options(300));
  }, TIMEOUT_MS);

  it('valid arrays and synth files read back as they are', () => {
    fc.assert(
      fc.property(fc.oneof(validCounts, validSynthetic), fc.constantFrom<'train' | 'test'>('train', 'test'), (document, part) => {
        const file = parseCountsText(JSON.stringify(document), PATH, part, '--test');
        expectValidCountsFile(file);
        expect(file.visible).toEqual(Array.isArray(document) ? document : (document as any)[part].visible);
      }),
      options(200),
    );
  }, TIMEOUT_MS);

  it('mutated text of valid documents', () => {
    fc.assert(fc.property(mutatedText(fc.oneof(validCounts, validSynthetic)), (text) => checkCounts(text)), options(500));
  }, TIMEOUT_MS);

  it('mutated values of valid documents', () => {
    fc.assert(
      fc.property(mutatedValue(fc.oneof(validCounts, validSynthetic)), (value) => {
        const text = jsonText(value);
        if (text !== undefined) checkCounts(text);
      }),
      options(400),
    );
  }, TIMEOUT_MS);

  it('random bytes', () => {
    fc.assert(fc.property(randomBytes(fc.oneof(validCounts, validSynthetic)), (bytes) => checkCounts(bytes)), options(400));
  }, TIMEOUT_MS);

  describe('through files', () => {
    let folder = '';
    beforeAll(() => {
      folder = mkdtempSync(join(tmpdir(), 'poglm-fuzz-'));
    });
    afterAll(() => rmSync(folder, { recursive: true, force: true }));

    it('readCounts on a file agrees with parseCountsText on its bytes', () => {
      fc.assert(
        fc.property(fc.oneof(randomBytes(validSynthetic), mutatedText(validCounts).map((text) => Buffer.from(text))), (bytes) => {
          const path = join(folder, PATH);
          writeFileSync(path, bytes);
          const fromFile = attempt(() => readCounts(path, 'test', '--test'));
          const fromBytes = attempt(() => parseCountsText(bytes, path, 'test', '--test'));
          if (fromFile.ok) expectValidCountsFile(fromFile.value);
          else expectCleanError(fromFile.error, path);
          expect(fromFile.ok ? fromFile.value : (fromFile.error as Error).message).toEqual(fromBytes.ok ? fromBytes.value : (fromBytes.error as Error).message);
        }),
        options(60),
      );
    }, TIMEOUT_MS);
  });
});

describe('fuzzing validateCounts (the API checks every fit and evaluation with it)', () => {
  it('any value: valid counts or a DataError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ withSparseArray: true, withNullPrototype: true, withBoxedValues: true, withBigInt: true, withTypedArray: true }), mutatedValue(validCounts)), (value) => {
        const outcome = attempt(() => validateCounts('train', value));
        if (outcome.ok) expect(outcome.value).toEqual(expectRectangularCounts(value, MAX_VISIBLE_COUNT));
        else expectCleanError(outcome.error, 'train');
      }),
      options(400),
    );
  }, TIMEOUT_MS);

  it('describeValue names any value briefly and never throws', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withBoxedValues: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, withMap: true, withSet: true, withDate: true, withObjectString: true }), (value) => {
        expect(describeValue(value).length).toBeLessThan(300);
      }),
      options(300),
    );
  }, TIMEOUT_MS);
});

describe('fuzzing the model reader (parseModel, as readModel reads --model and --init)', () => {
  it('valid models read back as they are', () => {
    fc.assert(
      fc.property(validModel, (model) => {
        const read = parseModel(model, PATH);
        expect(read).toEqual(model);
        expectValidModel(read);
      }),
      options(200),
    );
  }, TIMEOUT_MS);

  it('mutated values of valid models (parseModel on parsed JSON, or on what an API caller passes)', () => {
    fc.assert(fc.property(mutatedValue(validModel), (value) => checkModelValue(value)), options(500));
  }, TIMEOUT_MS);

  it('random values', () => {
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.anything({ withNullPrototype: true, withSparseArray: true, withBigInt: true })), (value) => checkModelValue(value)), options(300));
  }, TIMEOUT_MS);

  it('mutated text of valid models, through the text reader', () => {
    fc.assert(fc.property(mutatedText(validModel), (text) => checkModelText(text)), options(400));
  }, TIMEOUT_MS);

  it('random bytes', () => {
    fc.assert(fc.property(randomBytes(validModel), (bytes) => checkModelText(bytes)), options(300));
  }, TIMEOUT_MS);
});

describe('fuzzing the ground-truth reader (parseTruthText, as readTruth reads --truth)', () => {
  it('random JSON values', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => checkTruth(JSON.stringify(value) ?? 'null')), options(300));
  }, TIMEOUT_MS);

  it('mutated text and values of valid truth files', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedText(validTruth), mutatedValue(validTruth).map((value) => jsonText(value) ?? '')), (text) => checkTruth(text)),
      options(400),
    );
  }, TIMEOUT_MS);

  it('random bytes', () => {
    fc.assert(fc.property(randomBytes(validTruth), (bytes) => checkTruth(bytes)), options(300));
  }, TIMEOUT_MS);
});

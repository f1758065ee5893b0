// Property-based fuzzing of `poglm bin`'s reader (src/cli/spikes.ts) with fast-check: valid spike files in every
// accepted form are counted exactly (against a brute-force oracle of the float64 edges), and random strings, random
// bytes and mutated valid files give either counts that hold the invariants or a UsageError/DataError naming the
// file, never another exception, a hang or a crash. Every input is read twice, in chunks of a few bytes and of a
// MiB, and the two readings must agree. Seeded, so CI runs the same cases.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/files.js';
import { DataError } from '../src/model/data.js';
import { binSpikeFile, type BinnedCounts, type BinOptions, type ReadOptions } from '../src/cli/spikes.js';
import { countsJson } from '../src/cli/counts-json.js';

const SEED = 20_260_601;
const WIDTHS = [0.1, 0.25, 1 / 3, 0.01, 0.5];

let folder = '';
let path = '';
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'poglm-fuzz-spikes-'));
  path = join(folder, 'fuzz-spikes.csv');
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

type Outcome = { binned: BinnedCounts } | { error: unknown };

async function outcome(options: BinOptions, read: ReadOptions): Promise<Outcome> {
  try {
    return { binned: await binSpikeFile(path, options, read) };
  } catch (error) {
    return { error };
  }
}

/** Reads the file in small chunks and in large ones: both must agree, and an error must be ours and name the file. */
async function readBothWays(options: BinOptions, chunkBytes: number, withSignal: boolean): Promise<Outcome> {
  const signal = withSignal ? new AbortController().signal : undefined;
  const small = await outcome(options, { chunkBytes, signal });
  const large = await outcome(options, {});
  if ('error' in small || 'error' in large) {
    for (const result of [small, large]) {
      if (!('error' in result)) continue;
      const { error } = result;
      if (!(error instanceof UsageError || error instanceof DataError)) throw new Error(`not a UsageError or DataError: ${(error as Error)?.stack ?? String(error)}`);
      expect(error.message.length).toBeGreaterThan(0);
      expect(error.message).toContain(path);
    }
    expect('error' in small && 'error' in large, 'one reading failed and the other did not').toBe(true);
    expect((small as { error: Error }).error.message).toBe((large as { error: Error }).error.message);
    return small;
  }
  const { counts: smallCounts, ...smallShape } = small.binned;
  const { counts: largeCounts, ...largeShape } = large.binned;
  expect(smallShape).toEqual(largeShape);
  // Compared as bytes: toEqual walks a typed array one element at a time.
  expect(Buffer.from(smallCounts.buffer).equals(Buffer.from(largeCounts.buffer)), 'the counts differ').toBe(true);
  return small;
}

/** The invariants of any counts: integers >= 0, as many as the shape says, summing to the spikes kept. */
function checkCounts(binned: BinnedCounts): void {
  const { counts, sequences, bins, neurons, spikes, dropped, cut } = binned;
  expect(counts.length).toBe(sequences * bins * neurons);
  let total = 0;
  for (const count of counts) {
    if (!(Number.isInteger(count) && count >= 0)) throw new Error(`count ${count} is not a non-negative integer`);
    total += count;
  }
  expect(total).toBe(spikes - dropped - cut);
  expect(Math.min(dropped, cut)).toBeGreaterThanOrEqual(0);
}

/** Lines that are not blank or comments, as an independent count of the rows (one of them may be the header). */
function contentLines(text: string): string[] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Any input: an error of ours, or counts that hold the invariants and count every row but a header. */
async function checkAnyInput(content: string | Uint8Array, options: BinOptions, chunkBytes: number, withSignal: boolean): Promise<void> {
  writeFileSync(path, content);
  const text = typeof content === 'string' ? Buffer.from(content).toString('utf8') : new TextDecoder().decode(content);
  const result = await readBothWays(options, chunkBytes, withSignal);
  if ('error' in result) {
    const line = new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+)`).exec((result.error as Error).message);
    if (line) expect(Number(line[1])).toBeLessThanOrEqual(text.split(/\r\n|\r|\n/).length);
    return;
  }
  checkCounts(result.binned);
  const rows = contentLines(text);
  if (result.binned.spikes === rows.length - 1) {
    // A header: every field of the first row is a name.
    expect(rows[0].split(/[,;\t]/).every((field) => /^"?[A-Za-z_]/.test(field.trim())), `header ${JSON.stringify(rows[0])}`).toBe(true);
  } else {
    expect(result.binned.spikes).toBe(rows.length);
  }
}

// ---- Valid files and their exact counts ----

interface Spike {
  neuron: number;
  time: number;
}

/** The double next to `x` towards +infinity (up) or -infinity. */
function nextDouble(x: number, up: boolean): number {
  if (x === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigInt64(0, view.getBigInt64(0) + ((x > 0) === up ? 1n : -1n));
  return view.getFloat64(0);
}

/** A time in [0, 3], half of them on a float64 edge k*w or the double next to one. */
const timeFor = (w: number): fc.Arbitrary<number> =>
  fc.oneof(
    fc.double({ min: 0, max: 3, noNaN: true }),
    fc.integer({ min: 0, max: Math.floor(3 / w) }).map((k) => k * w),
    fc.tuple(fc.integer({ min: 1, max: Math.floor(3 / w) }), fc.boolean()).map(([k, up]) => nextDouble(k * w, up)),
  );

/** The bin of `time` by walking the float64 edges k*w: the definition, independent of binIndex. */
function bruteBin(time: number, w: number): number {
  let k = 0;
  while ((k + 1) * w <= time) k++;
  return k;
}

function bruteCounts(spikes: Spike[], options: BinOptions): { nested: number[][][]; dropped: number; cut: number } | { error: RegExp } {
  const { binWidth: w, duration } = options;
  if (spikes.length === 0 && options.neurons === undefined) return { error: /holds no spikes and no --neurons/ };
  if (spikes.length === 0 && duration === undefined) return { error: /holds no spikes: give --duration/ };
  const neurons = options.neurons ?? Math.max(...spikes.map((spike) => spike.neuron)) + 1;
  let bins = 0;
  if (duration === undefined) bins = bruteBin(Math.max(...spikes.map((spike) => spike.time)), w) + 1;
  else while (bins * w < duration) bins++;
  const length = options.sequenceBins ?? bins;
  if (length > bins) return { error: /fewer than one sequence of --sequence-bins/ };
  const sequences = Math.floor(bins / length);
  const nested = Array.from({ length: sequences }, () => Array.from({ length }, () => new Array<number>(neurons).fill(0)));
  let dropped = 0;
  let cut = 0;
  for (const { neuron, time } of spikes) {
    const bin = bruteBin(time, w);
    if (duration !== undefined && time >= duration) dropped++;
    else if (bin >= sequences * length) cut++;
    else nested[Math.floor(bin / length)][bin % length][neuron]++;
  }
  return { nested, dropped, cut };
}

const NEURON_HEADERS = ['neuron', 'unit', 'cluster', 'id', 'channel', 'Neuron', 'unit_id'];
const TIME_HEADERS = ['time', 't', 'spike_time', 'timestamp', 'seconds', 'Time (s)', 'time_s'];
const ENDINGS = ['\n', '\r\n', '\r'];

const validFile = fc
  .constantFrom(...WIDTHS)
  .chain((w) =>
    fc.record({
      w: fc.constant(w),
      spikes: fc.array(fc.record({ neuron: fc.nat({ max: 5 }), time: timeFor(w) }), { maxLength: 30 }),
      delimiter: fc.constantFrom(',', '\t', ';'),
      header: fc.option(fc.tuple(fc.constantFrom(...NEURON_HEADERS), fc.constantFrom(...TIME_HEADERS), fc.boolean()), { nil: undefined }),
      ending: fc.constantFrom(...ENDINGS),
      bom: fc.boolean(),
      finalEnding: fc.boolean(),
      spaces: fc.boolean(),
      timeFormat: fc.constantFrom('shortest', 'exponential', 'fixed'),
      // Comments and blank lines, inserted before the row of that index.
      extras: fc.array(fc.tuple(fc.nat({ max: 30 }), fc.constantFrom('# a comment, 0.5', '', '   ', '#')), { maxLength: 4 }),
      duration: fc.option(fc.oneof(fc.double({ min: 0.01, max: 4, noNaN: true }), fc.integer({ min: 1, max: Math.floor(3 / w) }).map((k) => k * w)), { nil: undefined }),
      sequenceBins: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      extraNeurons: fc.option(fc.nat({ max: 2 }), { nil: undefined }),
      chunkBytes: fc.constantFrom(1, 2, 3, 5, 8, 64),
      withSignal: fc.boolean(),
    }),
  );

function formatTime(time: number, format: string): string {
  if (format === 'exponential') return time.toExponential();
  if (format === 'fixed') return time.toFixed(6);
  return String(time);
}

// ---- Inputs that are mostly not valid ----

const ALPHABET = ['0', '1', '5', '9', '.', ',', ';', '\t', '\n', '\r', '#', '-', '+', 'e', 'E', ' ', 'a', 'x', 't', '\uFEFF', 'é', '"'];
const HUGE = ['1e308', '1e12', '99999999999999999999', '4294967296000', '9007199254740993', '1e-320', 'NaN', 'Infinity', '0x1f', '\r\n', '\uFEFF', 'neuron,time'];
/** Numbers to put in place of one in the file: most are too large to count, a few are fine. */
const NUMBERS = ['1e308', '1e12', '1000000000', '4294967296000', '99999999999999999999', '134217728', '1234.5', '0', '007', '3.0', '1e-320'];
const piece = fc.oneof(fc.constantFrom(...ALPHABET), fc.constantFrom(...HUGE));
const mutation = fc.oneof(
  fc.record({ kind: fc.constantFrom('insert', 'delete', 'replace'), at: fc.nat(), piece }),
  fc.record({ kind: fc.constant('number'), at: fc.nat(), piece: fc.constantFrom(...NUMBERS) }),
);

function mutate(text: string, mutations: { kind: string; at: number; piece: string }[]): string {
  for (const { kind, at, piece: inserted } of mutations) {
    const position = at % (text.length + 1);
    if (kind === 'number') {
      const numbers = [...text.matchAll(/\d+(?:\.\d+)?/g)];
      const chosen = numbers[at % Math.max(numbers.length, 1)];
      if (chosen) text = text.slice(0, chosen.index) + inserted + text.slice(chosen.index + chosen[0].length);
    } else if (kind === 'insert') text = text.slice(0, position) + inserted + text.slice(position);
    else if (kind === 'delete') text = text.slice(0, position) + text.slice(position + 1);
    else text = text.slice(0, position) + inserted + text.slice(position + 1);
  }
  return text;
}

const anyOptions = fc.record({
  binWidth: fc.constantFrom(...WIDTHS),
  neurons: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
  duration: fc.option(fc.double({ min: 0.01, max: 5, noNaN: true }), { nil: undefined }),
  sequenceBins: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
});
const chunkBytes = fc.constantFrom(1, 2, 3, 7, 64, 4096);

const RUN = { seed: SEED, plugins: [fc.timeout(5_000)] };

describe('fuzzing the spike-times reader', () => {
  it('counts valid files in every accepted form exactly as the float64 edges say', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, async (file) => {
        const { w, spikes, delimiter, header, ending, spaces } = file;
        const rows = spikes.map((spike) => {
          const time = formatTime(spike.time, file.timeFormat);
          const fields = header?.[2] ? [time, String(spike.neuron)] : [String(spike.neuron), time];
          return fields.join(spaces ? ` ${delimiter} ` : delimiter);
        });
        for (const [index, extra] of [...file.extras].sort((a, b) => b[0] - a[0])) rows.splice(Math.min(index, rows.length), 0, extra);
        if (header) rows.unshift(header[2] ? `${header[1]}${delimiter}${header[0]}` : `${header[0]}${delimiter}${header[1]}`);
        // A file whose first content row is a blank or comment is fine; one that is empty but for them is fine too.
        const text = `${file.bom ? '\uFEFF' : ''}${rows.join(ending)}${file.finalEnding ? ending : ''}`;
        writeFileSync(path, text);
        // The times as read: the formatted decimal's double (toFixed rounds).
        const read = spikes.map((spike) => ({ neuron: spike.neuron, time: Number(formatTime(spike.time, file.timeFormat)) }));
        const highest = Math.max(-1, ...spikes.map((spike) => spike.neuron));
        const options: BinOptions = {
          binWidth: w,
          duration: file.duration,
          sequenceBins: file.sequenceBins,
          neurons: file.extraNeurons === undefined ? undefined : Math.max(highest + 1, 1) + file.extraNeurons,
        };
        const expected = bruteCounts(read, options);
        const result = await readBothWays(options, file.chunkBytes, file.withSignal);
        if ('error' in expected) {
          expect('error' in result, `expected ${expected.error}`).toBe(true);
          expect((result as { error: Error }).error.message).toMatch(expected.error);
          return;
        }
        if ('error' in result) throw result.error;
        checkCounts(result.binned);
        expect([...countsJson(result.binned, 7)].join('')).toBe(`${JSON.stringify(expected.nested)}\n`);
        expect(result.binned.spikes).toBe(spikes.length);
        expect(result.binned.dropped).toBe(expected.dropped);
        expect(result.binned.cut).toBe(expected.cut);
      }),
      { ...RUN, numRuns: 300 },
    );
  });

  it('gives counts or an error naming the file for mutated valid files (characters inserted, deleted or replaced, numbers made huge)', async () => {
    const base = fc.record({
      header: fc.constantFrom('', 'neuron,time\n', 'time;unit\n', 'unit\tspike_time\r\n', '# comment\n'),
      body: fc.constantFrom('0,0.05\n1,0.15\n2,0.3\n', '0,0\r\n0,0.5\r\n1,1.25\r\n', '0;0.1\r3;2.5\r', '1\t0.2\n0\t0.25\n'),
    });
    await fc.assert(
      fc.asyncProperty(base, fc.array(mutation, { minLength: 1, maxLength: 3 }), anyOptions, chunkBytes, fc.boolean(), async ({ header, body }, mutations, options, chunk, withSignal) => {
        await checkAnyInput(mutate(header + body, mutations), options, chunk, withSignal);
      }),
      { ...RUN, numRuns: 400 },
    );
  });

  it('gives counts or an error naming the file for random text and random bytes', async () => {
    const content = fc.oneof(
      fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 120 }),
      fc.array(piece, { maxLength: 30 }).map((pieces) => pieces.join('')),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.uint8Array({ maxLength: 100 }),
    );
    await fc.assert(
      fc.asyncProperty(content, anyOptions, chunkBytes, fc.boolean(), async (input, options, chunk, withSignal) => {
        await checkAnyInput(input, options, chunk, withSignal);
      }),
      { ...RUN, numRuns: 300 },
    );
  });
});

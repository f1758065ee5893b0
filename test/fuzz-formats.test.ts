// Property-based fuzzing of the spike-file readers (src/io/) with fast-check: random bytes (bare, or behind each
// format's magic) and mutated valid files (written once by numpy, scipy and h5py) must give either spike data that
// holds the readers' promises (finite times >= 0, whole counts) and bins or is refused by binning's own checks, or a
// DataError/UsageError whose message is short, names the file, and prints no bytes of it; never another exception,
// never a hang. Seeded and bounded, so CI runs the same cases in seconds.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binInput, openSpikeInput, type BinValues } from '../src/cli/bin.js';
import { UsageError } from '../src/cli/files.js';
import { DataError } from '../src/model/data.js';
import type { SpikeFormat } from '../src/io/spike-data.js';
import { runPython } from './helpers/python-writers.js';

const SEED = 20_260_602;

let folder = '';
const seeds: Record<string, Uint8Array> = {};

const SEED_FILES = String.raw`
import scipy.io as sio
folder = json.load(sys.stdin)['folder']
rng = np.random.default_rng(3)
times = [np.sort(rng.uniform(0, 4, 12)) for _ in range(3)]
rows = np.concatenate([np.column_stack([np.full(len(t), u, np.float64), t]) for u, t in enumerate(times)])
np.save(f'{folder}/rows.npy', rows)
table = np.zeros(len(rows), dtype=[('unit', '<i4'), ('time', '>f8')])
table['unit'], table['time'] = rows[:, 0], rows[:, 1]
np.save(f'{folder}/table.npy', table)
np.save(f'{folder}/counts.npy', rng.poisson(1.0, size=(2, 5, 3)).astype(np.uint16))
np.savez(f'{folder}/pair.npz', units=rows[:, 0].astype(np.int64), times=rows[:, 1])
np.savez_compressed(f'{folder}/pair-compressed.npz', units=rows[:, 0].astype(np.int64), times=rows[:, 1])
sio.savemat(f'{folder}/cells.mat', {'SpTimes': cell_of(times)}, do_compression=True)
sio.savemat(f'{folder}/times.mat', {'cluster_class': np.column_stack([rows[:, 0], rows[:, 1] * 1000])}, do_compression=False)
write_mat73(f'{folder}/times73.mat', {'cluster_class': ('matrix', np.column_stack([rows[:, 0], rows[:, 1] * 1000]))})
write_mat73(f'{folder}/cells73.mat', {'SpTimes': ('cell', times + [np.zeros(0)])})
write_nwb(f'{folder}/units.nwb', [4, 9, 11], times, trials=[(0.0, 1.5), (2.0, 3.5)])
print('{}')
`;

const SEED_NAMES: Record<string, SpikeFormat> = {
  'rows.npy': 'npy', 'table.npy': 'npy', 'counts.npy': 'npy',
  'pair.npz': 'npz', 'pair-compressed.npz': 'npz',
  'cells.mat': 'mat', 'times.mat': 'mat', 'times73.mat': 'mat', 'cells73.mat': 'mat',
  'units.nwb': 'nwb',
};

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'poglm-fuzz-formats-'));
  runPython(SEED_FILES, { folder });
  for (const name of Object.keys(SEED_NAMES)) seeds[name] = new Uint8Array(readFileSync(join(folder, name)));
}, 120_000);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const BIN_FLAGS: Omit<BinValues, 'spikes'> = {
  format: undefined, variable: undefined, timeUnit: undefined, frameRate: undefined, binWidth: 0.5, binFrames: undefined,
  out: undefined, trainOut: undefined, testOut: undefined, manifest: undefined, neurons: undefined, units: undefined,
  duration: undefined, sequenceBins: undefined, align: undefined, testFraction: undefined, testRange: undefined,
  testTrials: undefined, splitSeed: undefined,
};

/** A message fit for a terminal: short, naming the file, and no control characters (no bytes of a binary file). */
function checkMessage(error: unknown, path: string): void {
  if (!(error instanceof DataError || error instanceof UsageError)) throw new Error(`not a DataError or UsageError: ${(error as Error)?.stack ?? String(error)}`);
  const { message } = error;
  expect(message).toContain(path);
  expect(message.length, message).toBeLessThan(700);
  expect(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/.test(message), `control characters in: ${JSON.stringify(message)}`).toBe(false);
  expect(message).not.toMatch(/stopped on an earlier file/);
}

/** Reads and bins the file as `poglm bin` does: spike data that holds its promises, or a clean error. */
async function checkFile(bytes: Uint8Array, name: string, format: SpikeFormat | undefined): Promise<void> {
  const path = join(folder, name);
  writeFileSync(path, bytes);
  let input;
  try {
    input = await openSpikeInput(path, { format });
  } catch (error) {
    checkMessage(error, path);
    return;
  }
  if (input.kind === 'counts') {
    for (const count of input.data.counts) if (!Number.isInteger(count) || count < 0) throw new Error(`count ${count}`);
    expect(input.data.counts.length).toBe(input.data.sequences * input.data.bins * input.data.neurons);
  } else {
    await input.source.forEachSpike((unit, time) => {
      if (!(time >= 0 && Number.isFinite(time)) || unit < 0 || unit >= input.source.unitCount) throw new Error(`spike ${unit}, ${time}`);
    });
  }
  try {
    const { binned } = await binInput(input, { ...BIN_FLAGS, spikes: path });
    expect(binned.counts.length).toBe(binned.sequences * binned.bins * binned.neurons);
  } catch (error) {
    // Binning may refuse what reads (a time of 1e300 is too many bins): with the same clean errors.
    checkMessage(error, path);
  }
}

/** Mutations of a valid file: bytes replaced, 32-bit words set to extremes, a cut, bytes inserted. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('word' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff, 0x80000000, 0xfffffffe) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(seed: Uint8Array, mutations: { kind: 'byte' | 'word' | 'cut' | 'insert'; at: number; value: number }[]): Uint8Array {
  let bytes = new Uint8Array(seed);
  for (const { kind, at, value } of mutations) {
    const position = bytes.length === 0 ? 0 : at % bytes.length;
    if (kind === 'byte') bytes[position] = value;
    else if (kind === 'word') new DataView(bytes.buffer).setUint32(Math.min(position, Math.max(0, bytes.length - 4)), value, true);
    else if (kind === 'cut') bytes = bytes.slice(0, position);
    else bytes = new Uint8Array([...bytes.subarray(0, position), value, ...bytes.subarray(position)]);
    if (bytes.length < 4) break;
  }
  return bytes;
}

const MAGIC: Record<string, number[]> = {
  npy: [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00],
  npz: [0x50, 0x4b, 0x03, 0x04],
  mat: [...Buffer.from('MATLAB 5.0 MAT-file'.padEnd(116, ' ')), ...new Array(8).fill(0), 0x00, 0x01, 0x49, 0x4d],
  nwb: [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a],
};

describe('random bytes', () => {
  it('give a clean error from every reader, bare or behind the format magic', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<SpikeFormat | undefined>('npy', 'npz', 'mat', 'nwb', undefined), fc.boolean(), fc.uint8Array({ maxLength: 1500 }), async (format, withMagic, body) => {
        const magic = withMagic && format ? MAGIC[format] : [];
        await checkFile(new Uint8Array([...magic, ...body]), `random.${format ?? 'bin'}`, format);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('mutated valid files', () => {
  for (const [name, format] of Object.entries(SEED_NAMES)) {
    const hdf5 = name.endsWith('.nwb') || name.includes('73');
    it(`${name} (${format}) reads, or fails cleanly, after its bytes are changed`, async () => {
      // The valid file itself reads.
      await checkFile(seeds[name], name, undefined);
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), async (mutations, forced) => {
          await checkFile(mutate(seeds[name], mutations), `mutated-${name}`, forced ? format : undefined);
        }),
        { seed: SEED, numRuns: hdf5 ? 400 : 700 },
      );
    });
  }
});

// The spike-file readers (src/io/) on files written by independent tools: scipy.io.savemat (MATLAB v5, compressed
// and not), h5py (NWB units tables with ragged spike times and trials; MATLAB v7.3 with cell arrays as object
// references), numpy (np.save, np.savez, np.savez_compressed). Each file must bin to exactly the counts of
// numpy.histogram with explicit edges on the same spike times, including times on, and one double beside, the
// edges. Then `poglm bin` as users run it: splits, the manifest, and the errors for files that are wrong.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binInput, openSpikeInput, type BinValues } from '../src/cli/bin.js';
import { DataError } from '../src/model/data.js';
import { UsageError } from '../src/cli/files.js';
import { runPython } from './helpers/python-writers.js';

let folder = '';
const at = (name: string): string => join(folder, name);

/** Every flag of `poglm bin` undefined but those given, as the CLI would read them. */
function flags(given: Partial<BinValues> & { spikes: string }): BinValues {
  const none = {
    format: undefined, variable: undefined, timeUnit: undefined, frameRate: undefined, binWidth: undefined, binFrames: undefined,
    out: undefined, trainOut: undefined, testOut: undefined, manifest: undefined, neurons: undefined, units: undefined,
    duration: undefined, sequenceBins: undefined, align: undefined, testFraction: undefined, testRange: undefined,
    testTrials: undefined, splitSeed: undefined,
  };
  return { ...none, ...given };
}

/** Bins a file through the CLI's own path (read, then bin) and returns the counts nested, with the units kept. */
async function bin(given: Partial<BinValues> & { spikes: string }): Promise<{ counts: number[][][]; units: (string | number)[]; notes: string[] }> {
  const values = flags(given);
  const input = await openSpikeInput(values.spikes, { format: values.format, variable: values.variable, units: values.units, neurons: values.neurons });
  const { binned, units, notes } = await binInput(input, values);
  const counts = Array.from({ length: binned.sequences }, (_, s) =>
    Array.from({ length: binned.bins }, (_, t) => Array.from(binned.counts.subarray((s * binned.bins + t) * binned.neurons, (s * binned.bins + t + 1) * binned.neurons))),
  );
  return { counts, units, notes };
}

/** The error binning `given` throws, which must be a DataError or UsageError. */
async function binError(given: Partial<BinValues> & { spikes: string }): Promise<string> {
  const error = await bin(given).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error instanceof DataError || error instanceof UsageError, `binning ${given.spikes} should fail cleanly, got ${String(error)}`).toBe(true);
  return (error as Error).message;
}

interface Case {
  path: string;
  expected: number[][][];
  [key: string]: unknown;
}
let cases: Record<string, Case> = {};

// Every fixture is written in one Python run (scipy and h5py load once); each case carries numpy's counts.
const FIXTURES = String.raw`
import scipy.io as sio
request = json.load(sys.stdin)
folder = request['folder']
rng = np.random.default_rng(20260601)
out = {}

def case(name, path, units_times, w, bins, sequence_bins, start=0.0, **extra):
    out[name] = dict(path=path, expected=histogram_counts(units_times, w, bins, sequence_bins, start), duration=float(bins * w), **extra)

# MATLAB v5: a cell of column vectors (SpTimesRGC.mat's layout), one neuron silent, compressed and not; a cell of rows.
w, bins = 0.01, 500
units = [near_edges(rng, w, 300, bins * w) for _ in range(3)] + [np.zeros(0)]
sio.savemat(f'{folder}/cells.mat', {'SpTimes': cell_of(units)}, do_compression=True)
sio.savemat(f'{folder}/cells-plain.mat', {'SpTimes': cell_of(units)}, do_compression=False)
sio.savemat(f'{folder}/cells-rows.mat', {'SpTimes': cell_of(units, column=False).T})
for name in ['cells', 'cells-plain', 'cells-rows']:
    case(name, f'{folder}/{name}.mat', units, w, bins, 50)

# MATLAB v5: wave_clus's cluster_class [spikes x 2] of (cluster, time in ms), beside waveforms and a struct.
w, bins = 0.02, 1000
seconds = [near_edges(rng, w, 400, bins * w) for _ in range(3)]
clusters = np.concatenate([np.full(len(t), c, np.float64) for c, t in zip([0, 2, 5], seconds)])
times_ms = np.concatenate(seconds) * 1000.0
order = np.argsort(times_ms, kind='stable')
cluster_class = np.column_stack([clusters[order], times_ms[order]])
by_cluster = [cluster_class[cluster_class[:, 0] == c, 1] / 1000.0 for c in [0, 2, 5]]
sio.savemat(f'{folder}/times_A.mat', {'cluster_class': cluster_class, 'spikes': rng.normal(size=(len(order), 8)), 'par': {'sr': 30000.0}}, do_compression=True)
sio.savemat(f'{folder}/times_B.mat', {'cluster_class': cluster_class}, do_compression=False)
case('times-compressed', f'{folder}/times_A.mat', by_cluster, w, bins, 100)
case('times-plain', f'{folder}/times_B.mat', by_cluster, w, bins, 100)

# MATLAB v7.3 (h5py in MATLAB's layout): the cluster_class matrix, and a cell array of vectors with an empty one.
write_mat73(f'{folder}/times_73.mat', {'cluster_class': ('matrix', cluster_class)})
case('mat73-matrix', f'{folder}/times_73.mat', by_cluster, w, bins, 100)
w, bins = 0.01, 500
cell_units = [near_edges(rng, w, 200, bins * w) for _ in range(2)] + [np.zeros(0), near_edges(rng, w, 50, bins * w)]
write_mat73(f'{folder}/cells_73.mat', {'SpTimes': ('cell', cell_units)})
case('mat73-cells', f'{folder}/cells_73.mat', cell_units, w, bins, 50)

# NWB-shaped (h5py): a units table with ragged spike times, ids that are not 0..N-1, gzip, an int32 index; trials.
w, bins = 0.005, 2000
ids = [3, 7, 12, 20]
nwb_units = [near_edges(rng, w, 500, bins * w) for _ in ids]
trials = [(0.5, 1.7), (2.0, 3.1), (3.05, 4.0), (6.123, 7.5)]
write_nwb(f'{folder}/session.nwb', ids, nwb_units, trials=trials, compression='gzip', index_dtype='int32')
case('nwb', f'{folder}/session.nwb', nwb_units, w, bins, 100)
case('nwb-units', f'{folder}/session.nwb', [nwb_units[2], nwb_units[0]], w, bins, 100)
# One sequence of T bins from each trial start: a trial shorter than T bins (3.05 to 4.0 s) is left out.
w, T = 0.01, 100
aligned = [histogram_counts(nwb_units, w, T, T, start)[0] for start, stop in trials if start + T * w <= stop]
out['nwb-trials'] = dict(path=f'{folder}/session.nwb', expected=aligned, kept=[i for i, (a, b) in enumerate(trials) if a + T * w <= b])

# NumPy: a [spikes x 2] float array of (unit, time) rows, the same in Fortran order, a structured array, pairs.
w, bins = 0.01, 400
np_units = [near_edges(rng, w, 200, bins * w) for _ in range(3)]
rows = np.concatenate([np.column_stack([np.full(len(t), u, np.float64), t]) for u, t in enumerate(np_units)])
rows = rows[rng.permutation(len(rows))]
np.save(f'{folder}/rows.npy', rows)
np.save(f'{folder}/rows-fortran.npy', np.asfortranarray(rows))
table = np.zeros(len(rows), dtype=[('unit', '<i8'), ('time', '<f8')])
table['unit'], table['time'] = rows[:, 0], rows[:, 1]
np.save(f'{folder}/table.npy', table)
np.savez(f'{folder}/pair.npz', units=rows[:, 0].astype(np.int32), times=rows[:, 1])
np.savez_compressed(f'{folder}/kilosort.npz', spike_clusters=rows[:, 0].astype(np.int64), spike_times=rows[:, 1], amplitudes=rng.uniform(size=(7, 3)).astype(np.float32))
for name in ['rows.npy', 'rows-fortran.npy', 'table.npy', 'pair.npz', 'kilosort.npz']:
    case(name, f'{folder}/{name}', np_units, w, bins, 40)

# NumPy counts: [sequence][bin][neuron] integers go straight through; [bin][neuron] floats of whole counts are cut.
counts3 = rng.poisson(0.7, size=(6, 30, 4)).astype(np.int16)
np.save(f'{folder}/counts3.npy', counts3)
out['counts3'] = dict(path=f'{folder}/counts3.npy', expected=counts3.tolist(), reordered=counts3[:, :, [3, 1]].tolist())
counts2 = rng.poisson(1.5, size=(95, 3)).astype(np.float64)
np.savez(f'{folder}/counts2.npz', counts=counts2)
out['counts2'] = dict(path=f'{folder}/counts2.npz', expected=counts2[:90].reshape(3, 30, 3).astype(int).tolist())

# Frames: spike times in frames of a 120 Hz stimulus, binned in seconds (t / 120) and in frames of 6.
w, bins = 0.05, 300
frame_units = [near_edges(rng, 1.0, 300, bins * w * 120) for _ in range(2)]
sio.savemat(f'{folder}/frames.mat', {'SpTimes': cell_of(frame_units)})
case('frames-seconds', f'{folder}/frames.mat', [t / 120.0 for t in frame_units], w, bins, 30)
# Bins of 6 frames over the same 1800 frames (15 s): 300 bins.
case('frames-frames', f'{folder}/frames.mat', frame_units, 6.0, 300, 30)

print(json.dumps(out))
`;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'poglm-formats-'));
  cases = runPython(FIXTURES, { folder });
}, 120_000);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('MATLAB v5 (scipy.io.savemat)', () => {
  it('reads a cell array of spike-time vectors, compressed or not, columns or rows, as numpy bins it', async () => {
    for (const name of ['cells', 'cells-plain', 'cells-rows']) {
      const { path, expected, duration } = cases[name];
      const { counts, units, notes } = await bin({ spikes: path, binWidth: 0.01, duration: duration as number, sequenceBins: 50 });
      expect(counts, name).toEqual(expected);
      expect(units).toEqual([0, 1, 2, 3]);
      expect(notes.join('\n')).toMatch(/read variable SpTimes, a (1x4|4x1) cell array of spike-time vectors \(units 0 to 3\)/);
    }
  });

  it('reads cluster_class in ms beside other variables, and says it took the times as ms', async () => {
    for (const name of ['times-compressed', 'times-plain']) {
      const { path, expected, duration } = cases[name];
      const { counts, units, notes } = await bin({ spikes: path, binWidth: 0.02, duration: duration as number, sequenceBins: 100 });
      expect(counts, name).toEqual(expected);
      expect(units).toEqual([0, 2, 5]);
      expect(notes.join('\n')).toMatch(/times read in ms, as its layout keeps them/);
    }
  });

  it('keeps the units --units lists, in that order', async () => {
    const { path, duration } = cases['times-compressed'];
    const all = await bin({ spikes: path, binWidth: 0.02, duration: duration as number, sequenceBins: 100 });
    const picked = await bin({ spikes: path, binWidth: 0.02, duration: duration as number, sequenceBins: 100, units: ['5', '0'] });
    expect(picked.units).toEqual([5, 0]);
    expect(picked.counts).toEqual(all.counts.map((sequence) => sequence.map((row) => [row[2], row[0]])));
  });

  it('bins frame times in seconds (t / rate) or in frames, exactly', async () => {
    const seconds = cases['frames-seconds'];
    expect((await bin({ spikes: seconds.path, binWidth: 0.05, timeUnit: 'frames', frameRate: 120, duration: seconds.duration as number, sequenceBins: 30 })).counts).toEqual(seconds.expected);
    const frames = cases['frames-frames'];
    expect((await bin({ spikes: frames.path, binFrames: 6, timeUnit: 'frames', frameRate: 120, duration: 15, sequenceBins: 30 })).counts).toEqual(frames.expected);
  });
});

describe('MATLAB v7.3 (HDF5 in MATLAB’s layout, written by h5py)', () => {
  it('reads the cluster_class matrix (dimensions stored reversed)', async () => {
    const { path, expected, duration } = cases['mat73-matrix'];
    const { counts, units, notes } = await bin({ spikes: path, binWidth: 0.02, duration: duration as number, sequenceBins: 100 });
    expect(counts).toEqual(expected);
    expect(units).toEqual([0, 2, 5]);
    expect(notes.join('\n')).toMatch(/read variable cluster_class, a \d+x2 matrix of \(cluster, time in ms\) rows \(3 clusters\)/);
  });

  it('reads a cell array through its object references into #refs#, an empty cell included', async () => {
    const { path, expected, duration } = cases['mat73-cells'];
    const { counts, units } = await bin({ spikes: path, binWidth: 0.01, duration: duration as number, sequenceBins: 50 });
    expect(counts).toEqual(expected);
    expect(units).toEqual([0, 1, 2, 3]);
  });
});

describe('NWB (units table written by h5py)', () => {
  it('cuts the flat spike times by the ragged index, gzip-compressed, ids from /units/id', async () => {
    const { path, expected, duration } = cases.nwb;
    const { counts, units, notes } = await bin({ spikes: path, binWidth: 0.005, duration: duration as number, sequenceBins: 100 });
    expect(counts).toEqual(expected);
    expect(units).toEqual([3, 7, 12, 20]);
    expect(notes).toEqual([]);
  });

  it('reads only the units --units lists, in that order', async () => {
    const { path, expected, duration } = cases['nwb-units'];
    const { counts, units } = await bin({ spikes: path, binWidth: 0.005, duration: duration as number, sequenceBins: 100, units: ['12', '3'] });
    expect(units).toEqual([12, 3]);
    expect(counts).toEqual(expected);
  });

  it('aligns one sequence to each trial start (edges start + k w), leaving out a trial shorter than a sequence', async () => {
    const { path, expected } = cases['nwb-trials'];
    const values = flags({ spikes: path, binWidth: 0.01, sequenceBins: 100, align: 'trials' });
    const { binned } = await binInput(await openSpikeInput(path, {}), values);
    expect(Array.from(binned.trialOf!)).toEqual(cases['nwb-trials'].kept);
    expect(binned.leftOutTrials).toEqual([2]);
    const { counts } = await bin({ spikes: path, binWidth: 0.01, sequenceBins: 100, align: 'trials' });
    expect(counts).toEqual(expected);
  });

  it('names what is wrong: an unknown unit, trials asked of a file without them', async () => {
    expect(await binError({ spikes: cases.nwb.path, binWidth: 0.01, units: ['4'] })).toMatch(/--units: --spikes file .*session\.nwb has no unit 4; its units are 3, 7, 12, 20 \(4 units\)/);
    expect(await binError({ spikes: cases.cells.path, binWidth: 0.01, align: 'trials' })).toMatch(/--align trials: --spikes file .*cells\.mat has no trials/);
  });
});

describe('NumPy (np.save, np.savez, np.savez_compressed)', () => {
  it('reads (unit, time) rows, in C or Fortran order, a structured array, and pairs of 1-D arrays', async () => {
    for (const name of ['rows.npy', 'rows-fortran.npy', 'table.npy', 'pair.npz', 'kilosort.npz']) {
      const { path, expected, duration } = cases[name];
      const { counts, units } = await bin({ spikes: path, binWidth: 0.01, duration: duration as number, sequenceBins: 40 });
      expect(counts, name).toEqual(expected);
      expect(units, name).toEqual([0, 1, 2]);
    }
    const { notes } = await bin({ spikes: cases['kilosort.npz'].path, binWidth: 0.01, sequenceBins: 40 });
    expect(notes.join('\n')).toMatch(/read the unit ids from "spike_clusters" and the spike times from "spike_times"/);
  });

  it('passes count arrays straight through, [sequence][bin][neuron] and [bin][neuron] cut into sequences', async () => {
    const three = cases.counts3;
    expect((await bin({ spikes: three.path })).counts).toEqual(three.expected);
    expect((await bin({ spikes: three.path, units: ['3', '1'] })).counts).toEqual(three.reordered);
    expect((await bin({ spikes: cases.counts2.path, sequenceBins: 30 })).counts).toEqual(cases.counts2.expected);
    expect(await binError({ spikes: three.path, sequenceBins: 10 })).toMatch(/holds 6 sequences of 30 bins: --sequence-bins 10 would cut them/);
  });
});

describe('files that are wrong give a short DataError naming the file and the place in it', () => {
  it('refuses ambiguous or missing variables, listing what the file holds', async () => {
    const both = at('both.mat');
    runPython(String.raw`
import scipy.io as sio
sio.savemat(json.load(sys.stdin)['path'], {'a': cell_of([[0.1, 0.2]]), 'b': cell_of([[0.3]])})
print('{}')`, { path: both });
    expect(await binError({ spikes: both, binWidth: 0.1 })).toMatch(/both\.mat holds several variables that could be spike times: a \(1x1 cell\), b \(1x1 cell\): choose one with --variable/);
    expect(await binError({ spikes: both, binWidth: 0.1, variable: 'c' })).toMatch(/--variable: --spikes file .*both\.mat has no variable "c"; it holds a \(1x1 cell\), b \(1x1 cell\)/);
    // 0.3 s is just below the edge 3 x 0.1 = 0.30000000000000004: bin 2, as numpy puts it.
    expect((await bin({ spikes: both, binWidth: 0.1, variable: 'b' })).counts).toEqual([[[0], [0], [1]]]);
  });

  it('names a negative spike time by its cell and element, and a decreasing NWB index by its dataset', async () => {
    const negative = at('negative.mat');
    const bad = at('bad-index.nwb');
    runPython(String.raw`
import scipy.io as sio
request = json.load(sys.stdin)
sio.savemat(request['mat'], {'SpTimes': cell_of([[0.1], [0.2, -0.5]])})
write_nwb(request['nwb'], [0, 1], [[0.1, 0.2], [0.3]])
import h5py
with h5py.File(request['nwb'], 'a') as f:
    f['units/spike_times_index'][...] = np.array([2, 1])
print('{}')`, { mat: negative, nwb: bad });
    expect(await binError({ spikes: negative, binWidth: 0.1 })).toMatch(/negative\.mat: SpTimes\{2\} \(unit 1\)\[1\] is -0\.5: spike times must be finite and not negative/);
    expect(await binError({ spikes: bad, binWidth: 0.1 })).toMatch(/bad-index\.nwb: \/units\/spike_times_index\[1\] is 1: the index must hold non-decreasing ends/);
  });

  it('refuses NumPy object arrays, an HDF5 file without a units table, and truncated files', async () => {
    const objects = at('objects.npy');
    const other = at('other.h5');
    runPython(String.raw`
request = json.load(sys.stdin)
np.save(request['npy'], np.array([{'a': 1}], dtype=object), allow_pickle=True)
import h5py
with h5py.File(request['h5'], 'w') as f:
    f['acquisition/raw'] = np.zeros(4)
print('{}')`, { npy: objects, h5: other });
    expect(await binError({ spikes: objects, binWidth: 0.1 })).toMatch(/objects\.npy holds Python objects \(a pickle\), which are not read/);
    expect(await binError({ spikes: other, binWidth: 0.1 })).toMatch(/other\.h5 has no units table at \/units \(its top level holds acquisition\)/);
    const truncated = at('truncated.mat');
    writeFileSync(truncated, readFileSync(cases['times-plain'].path).subarray(0, 400));
    expect(await binError({ spikes: truncated, binWidth: 0.1 })).toMatch(/truncated\.mat: .*(runs past the end|truncated)/);
  });
});

describe('poglm bin, run as users run it', () => {
  const BIN = new URL('../bin/poglm.js', import.meta.url).pathname;
  const poglm = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: folder, encoding: 'utf8', timeout: 120_000 });

  beforeAll(() => {
    expect(existsSync(new URL('../dist/cli/main.js', import.meta.url)), 'run `npm run build` first (npm test does)').toBe(true);
  });

  it('splits an NWB recording into train and test files and writes a manifest that traces every sequence', async () => {
    const { path, duration } = cases.nwb;
    const run = poglm('bin', '--spikes', path, '--bin-width', '0.005', '--duration', String(duration), '--sequence-bins', '100', '--test-fraction', '0.25', '--train-out', 'train.json', '--test-out', 'test.json');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^wrote train\.json: 15 sequences x 100 bins x 4 neurons; .*\nwrote test\.json: 5 sequences x 100 bins x 4 neurons; .*\n$/);
    expect(run.stderr).toMatch(/poglm: wrote the manifest train\.manifest\.json/);
    const all = cases.nwb.expected;
    expect(JSON.parse(readFileSync(at('train.json'), 'utf8'))).toEqual(all.slice(0, 15));
    expect(JSON.parse(readFileSync(at('test.json'), 'utf8'))).toEqual(all.slice(15));
    const manifest = JSON.parse(readFileSync(at('train.manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      format: 'poglm-gpu.bin-manifest',
      source: { path, format: 'nwb', dataset: '/units/spike_times', timeUnit: 's', sha256: createHash('sha256').update(readFileSync(path)).digest('hex') },
      units: [3, 7, 12, 20],
      binWidth: 0.005,
      sequenceBins: 100,
      outputs: { train: 'train.json', test: 'test.json' },
    });
    expect(manifest.sequences).toHaveLength(20);
    expect(manifest.sequences[0]).toEqual({ start: 0, end: 0.5, split: 'train', row: 0 });
    expect(manifest.sequences[19]).toEqual({ start: 19 * 100 * 0.005, end: 20 * 100 * 0.005, split: 'test', row: 4 });
  });

  it('takes a --test-range in seconds from a MATLAB v7.3 file, leaving out sequences that straddle it', () => {
    const { path, duration, expected } = cases['mat73-matrix'];
    const run = poglm('bin', '--spikes', path, '--bin-width', '0.02', '--duration', String(duration), '--sequence-bins', '100', '--test-range', '5:11', '--train-out', 'tr.json', '--test-out', 'te.json', '--manifest', 'split.json');
    expect(run.status, run.stderr).toBe(0);
    // Sequences of 2 s: [6, 8) and [8, 10) lie inside [5, 11); [4, 6) and [10, 12) straddle it.
    expect(JSON.parse(readFileSync(at('te.json'), 'utf8'))).toEqual(expected.slice(3, 5));
    expect(JSON.parse(readFileSync(at('tr.json'), 'utf8'))).toEqual([...expected.slice(0, 2), ...expected.slice(6)]);
    expect(run.stdout).toMatch(/2 sequences straddle --test-range and are in neither file/);
    const manifest = JSON.parse(readFileSync(at('split.json'), 'utf8'));
    expect(manifest.sequences.map((sequence: { split: string }) => sequence.split).join(',')).toBe('train,train,none,test,test,none,train,train,train,train');
  });

  it('exits 2 with one short line for a file that is not what its name says, and reads it with --format', () => {
    writeFileSync(at('noise.mat'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256)));
    const run = poglm('bin', '--spikes', 'noise.mat', '--bin-width', '0.1', '--out', 'x.json');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^poglm: error: --spikes file noise\.mat is not a MATLAB v5\/v7 MAT-file/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    writeFileSync(at('session.dat'), readFileSync(cases.nwb.path));
    const forced = poglm('bin', '--spikes', 'session.dat', '--format', 'nwb', '--bin-width', '0.005', '--duration', String(cases.nwb.duration), '--sequence-bins', '100', '--out', 'forced.json');
    expect(forced.status, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(at('forced.json'), 'utf8'))).toEqual(cases.nwb.expected);
  });

  it('refuses conflicting flags before reading the file', () => {
    for (const [args, message] of [
      [['--test-fraction', '0.2', '--out', 'x.json'], /a split .* writes two files: give --train-out and --test-out instead of --out/],
      [['--train-out', 'a.json', '--test-out', 'b.json'], /--train-out and --test-out need a split/],
      [['--split-seed', '3', '--out', 'x.json'], /--split-seed shuffles the sequences of --test-fraction/],
      [['--time-unit', 'frames', '--out', 'x.json'], /--time-unit frames needs --frame-rate/],
      [['--bin-frames', '2', '--out', 'x.json'], /--bin-frames bins frame times: add --time-unit frames/],
      [['--align', 'sideways', '--out', 'x.json'], /--align "sideways" is not one of recording, trials/],
    ] as const) {
      const width = (args as readonly string[]).includes('--bin-frames') ? [] : ['--bin-width', '0.1'];
      const run = poglm('bin', '--spikes', 'missing-file.nwb', ...width, ...args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
  });
});

// `poglm bin`'s reader and binning (src/cli/spikes.ts): bin edges held to numpy's histogram, rows read exactly,
// every line ending, the size checked before anything is allocated, interrupts, and a file of millions of spikes
// binned by the built CLI under a small heap.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/files.js';
import { InterruptedExit } from '../src/cli/runner.js';
import { countsJson } from '../src/cli/counts-json.js';
import { binIndex, binSpikeFile, binsBefore, describeBinned, MAX_CELLS, type BinOptions, type ReadOptions } from '../src/cli/spikes.js';
import { runNumpy } from './helpers/numpy.js';

let folder = '';
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'poglm-binning-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Writes `text` (or bytes) to a file in the test folder and bins it; the counts come back nested, as JSON has them. */
async function binText(text: string | Buffer, options: BinOptions, read: ReadOptions = {}, name = 'spikes.csv') {
  const path = join(folder, name);
  writeFileSync(path, text);
  const binned = await binSpikeFile(path, options, read);
  return { ...binned, nested: JSON.parse([...countsJson(binned)].join('')) as number[][][], path };
}

/** The error binning `text` throws: a UsageError, whose message the caller checks. */
async function binError(text: string, options: BinOptions, read: ReadOptions = {}): Promise<string> {
  const error = await binText(text, options, read).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, `binning ${JSON.stringify(text.slice(0, 80))} should fail`).toBeInstanceOf(UsageError);
  return (error as Error).message;
}

describe('bin edges: half-open [k w, (k+1) w), as numpy.histogram with edges np.arange(n + 1) * w', () => {
  // Python builds the adversarial times (edges, edges +- 1e-12, the doubles next to the edges) and the oracle, so the
  // times are the same doubles in both languages (JSON carries them exactly).
  const ORACLE = String.raw`
import json, sys
import numpy as np

def near_edges(w, ks):
    times = []
    for k in ks:
        edge = np.float64(k) * w
        times += [edge, edge + 1e-12, edge - 1e-12, np.nextafter(edge, np.inf), np.nextafter(edge, -np.inf)]
    return np.array([t for t in times if t >= 0], dtype=np.float64)

def bin_of(times, w):
    # The k with edge k <= t < edge k+1, from a few edges around floor(t / w) (the edges computed as numpy does).
    k0 = np.floor(times / w).astype(np.int64)
    out = []
    for t, k in zip(times, k0):
        edges = np.arange(k - 3, k + 4).astype(np.float64) * w
        out.append(int(k - 3 + np.searchsorted(edges, t, side='right') - 1))
    return out

request = json.load(sys.stdin)
cases = []
for w in request['widths']:
    times = near_edges(w, request['ks'])
    bins = bin_of(times, w)
    n = max(bins) + 1
    # np.histogram's last bin is closed: one extra edge keeps every bin that counts half-open.
    counts, _ = np.histogram(times, bins=np.arange(n + 2) * w)
    assert counts[:n].sum() == len(times)
    durations = []
    for k in request['durationKs']:
        edge = np.float64(k) * w
        for d in [edge, np.nextafter(edge, np.inf), np.nextafter(edge, -np.inf)]:
            kept = int(np.count_nonzero(np.arange(k + 3) * w < d))
            inside, _ = np.histogram(times[times < d], bins=np.arange(kept + 2) * w)
            durations.append({'duration': float(d), 'bins': kept, 'counts': inside[:kept].tolist()})
    floors = np.floor(times / w).astype(np.int64).tolist() if w in (0.5, 0.125) else None
    cases.append({'w': w, 'times': times.tolist(), 'bins': bins, 'counts': counts[:n].tolist(), 'durations': durations, 'floors': floors})
large_times = near_edges(request['largeWidth'], request['largeKs'])
large = {'w': request['largeWidth'], 'times': large_times.tolist(), 'bins': bin_of(large_times, request['largeWidth'])}
print(json.dumps({'cases': cases, 'large': large}))
`;
  let oracle: {
    cases: { w: number; times: number[]; bins: number[]; counts: number[]; durations: { duration: number; bins: number; counts: number[] }[]; floors: number[] | null }[];
    large: { w: number; times: number[]; bins: number[] };
  };
  beforeAll(() => {
    oracle = runNumpy(ORACLE, {
      widths: [0.1, 0.001, 0.5, 1 / 3, 0.125],
      ks: [0, 1, 2, 3, 5, 7, 10, 29, 30, 100, 999, 1000, 1001, 4097],
      durationKs: [1, 3, 10, 30, 1000],
      largeWidth: 1e-4,
      largeKs: [1e10, 1e10 + 1, 1e10 - 1, 12345678901, 9999999999, 3e9, 7e9 + 3],
    });
  });

  it('puts a spike on an edge in the bin that starts there, and the default duration keeps the last spike', async () => {
    // The defect: 0.5 with 0.5 s bins was left out (the default duration ended at the last spike, excluding it).
    expect((await binText('0,0\n0,0.5\n', { binWidth: 0.5 })).nested).toEqual([[[1], [1]]]);
    // The edges are float64 products: edge 3 is 3 * 0.1 = 0.30000000000000004, above the double nearest 0.3, which so
    // lies in bin 2 (as in numpy, and as with the exact 3 x the double 0.1); 0.2 is on edge 2 = 2 * 0.1 exactly.
    expect(binIndex(0.3, 0.1)).toBe(2);
    expect(binIndex(0.2, 0.1)).toBe(2);
    expect((await binText('0,0.2\n', { binWidth: 0.1 })).nested).toEqual([[[0], [0], [1]]]);
  });

  it('finds the same bin as numpy for every time next to an edge', () => {
    for (const { w, times, bins, floors } of oracle.cases) {
      const ours = times.map((time) => binIndex(time, w));
      const wrong = times.map((time, i) => ({ time, ours: ours[i], numpy: bins[i] })).filter((entry) => entry.ours !== entry.numpy);
      expect(wrong, `w = ${w}`).toEqual([]);
      // Where w is a power of two, t / w is exact and the bin is its floor.
      if (floors) expect(ours, `w = ${w}`).toEqual(floors);
    }
  });

  it('finds the same bin as numpy at a million seconds in 0.1 ms bins', () => {
    const { w, times, bins } = oracle.large;
    expect(times.length).toBeGreaterThan(20);
    expect(times.map((time) => binIndex(time, w))).toEqual(bins);
  });

  it('counts a file of those times as numpy.histogram does, with and without --duration', async () => {
    for (const { w, times, counts, durations } of oracle.cases) {
      const text = times.map((time) => `0,${time}`).join('\n');
      const binned = await binText(text, { binWidth: w });
      expect(binned.nested[0].map((bin) => bin[0]), `w = ${w}`).toEqual(counts);
      for (const { duration, bins, counts: inside } of durations) {
        expect(binsBefore(duration, w), `w = ${w}, duration ${duration}`).toBe(bins);
        const cut = await binText(text, { binWidth: w, duration });
        expect(cut.nested[0].map((bin) => bin[0]), `w = ${w}, duration ${duration}`).toEqual(inside);
        expect(cut.dropped, `w = ${w}, duration ${duration}`).toBe(times.filter((time) => time >= duration).length);
      }
    }
  });

  it('ends --duration before a spike on it (half-open) and says how many spikes it dropped', async () => {
    const binned = await binText('0,0.1\n1,0.95\n0,1\n1,1.5\n', { binWidth: 0.5, duration: 1 });
    expect(binned.nested).toEqual([[[1, 0], [0, 1]]]);
    expect(binned.dropped).toBe(2);
    expect(describeBinned(binned, 1)).toBe('1 sequences x 2 bins x 2 neurons; mean count per bin by neuron: 0.500 0.500; 2 of 4 spikes at or after --duration 1 s dropped');
    // A duration inside a bin keeps that bin, and the spikes in it before the duration.
    expect((await binText('0,0.1\n0,0.7\n0,0.8\n', { binWidth: 0.5, duration: 0.75 })).nested).toEqual([[[1], [1]]]);
  });
});

describe('rows are read exactly', () => {
  it('takes a header only where every field is a name, and follows its order of columns', async () => {
    const expected = [[[1, 0], [0, 1]]];
    for (const header of ['neuron,time', 'unit,spike_time', 'Neuron , Time', 'cluster,timestamp', 'id,t', 'channel,seconds', 'neuron,time (s)', '"neuron","time"']) {
      expect((await binText(`${header}\n0,0.2\n1,1.7\n`, { binWidth: 1 })).nested, header).toEqual(expected);
    }
    for (const header of ['time,neuron', 'spike_time,unit', 't_s,cluster']) {
      expect((await binText(`${header}\n0.2,0\n1.7,1\n`, { binWidth: 1 })).nested, header).toEqual(expected);
    }
  });

  it('refuses a first row that is neither a header nor a spike, instead of skipping it as a header', async () => {
    expect(await binError('a,0.1\n0,0.2\n', { binWidth: 1 })).toMatch(/spikes\.csv:1: neuron "a" must be a non-negative integer index/);
    expect(await binError('0,abc\n0,0.2\n', { binWidth: 1 })).toMatch(/spikes\.csv:1: time "abc" must be a non-negative number of seconds/);
    expect(await binError('foo,bar\n0,0.2\n', { binWidth: 1 })).toMatch(/spikes\.csv:1: the header "foo,bar" must name two columns/);
    expect(await binError('neuron,time,amplitude\n0,0.2,3\n', { binWidth: 1 })).toMatch(/spikes\.csv:1: the header .* must name two columns/);
    expect(await binError('neuron,time_ms\n0,200\n', { binWidth: 1 })).toMatch(/spikes\.csv:1: the column "time_ms" holds times that are not in seconds/);
    expect(await binError('neuron,time\n0,0.1\nneuron,time\n', { binWidth: 1 })).toMatch(/spikes\.csv:3: neuron "neuron"/);
  });

  it('refuses empty fields, which Number() reads as 0', async () => {
    expect(await binError('neuron,time\n0,0.1\n,0.2\n', { binWidth: 1 })).toMatch(/spikes\.csv:3: the neuron field is empty/);
    expect(await binError('neuron,time\n1,\n', { binWidth: 1 })).toMatch(/spikes\.csv:2: the time field is empty/);
    expect(await binError('0,0.1\n0, \n', { binWidth: 1 })).toMatch(/spikes\.csv:2: the time field is empty/);
  });

  it('takes plain digits for neurons and decimals for times, not the other forms Number() reads', async () => {
    expect((await binText(' 3 , 1.5e-1 \n0,.5\n2,+1.\n', { binWidth: 1 })).nested).toEqual([[[1, 0, 0, 1], [0, 0, 1, 0]]]);
    for (const [row, message] of [
      ['0x10,0.1', /neuron "0x10" must be a non-negative integer/],
      ['1e3,0.1', /neuron "1e3" must be a non-negative integer/],
      ['1.0,0.1', /neuron "1.0" must be a non-negative integer/],
      ['-1,0.1', /neuron "-1" must be a non-negative integer/],
      ['99999999999999999999,0.1', /neuron "99999999999999999999" is too large/],
      ['0,0x10', /time "0x10" must be a non-negative number of seconds \(a decimal/],
      ['0,Infinity', /time "Infinity" must be a non-negative number/],
      ['0,NaN', /time "NaN" must be a non-negative number/],
      ['0,1e999', /time "1e999" is too large/],
      ['0,-0.5', /time "-0.5" must be a non-negative number of seconds: times count from the start/],
      ['0,0.1,7', /expected 2 fields "neuron,time" separated by a comma, got 3/],
      ['0 0.1', /expected a neuron index and a time in seconds separated by a comma, tab or semicolon/],
      ['0;0,5', /the row "0;0,5" mixes commas and semicolons/],
    ] as const) {
      expect(await binError(`${row}\n`, { binWidth: 1 }), row).toMatch(new RegExp(`spikes\\.csv:1: ${message.source}`));
    }
    expect(await binError('0;0.5\n1;0,5\n', { binWidth: 1 })).toMatch(/spikes\.csv:2: time "0,5" must be a non-negative number of seconds \(write decimals with a point\)/);
  });

  it('reads tab- and semicolon-separated files, with comments and blank lines anywhere', async () => {
    const expected = [[[1, 0], [0, 1]]];
    expect((await binText('# units from kilosort\nneuron\ttime\n\n0\t0.2\n# a comment\n1\t1.7\n', { binWidth: 1 })).nested).toEqual(expected);
    expect((await binText('time;unit\n0.2;0\n  \n1.7;1\n', { binWidth: 1 })).nested).toEqual(expected);
    expect(await binError('neuron\ttime\n0,0.2\n', { binWidth: 1 })).toMatch(/spikes\.csv:2: expected 2 fields "neuron\ttime" separated by a tab, got 1/);
  });

  it('refuses a neuron at or above --neurons, naming its line', async () => {
    expect(await binError('0,0.1\n4,0.2\n', { binWidth: 1, neurons: 4 })).toMatch(/spikes\.csv:2: neuron 4 is not below --neurons 4 .*raise --neurons to at least 5/);
    expect((await binText('0,0.1\n', { binWidth: 1, neurons: 3 })).nested).toEqual([[[1, 0, 0]]]);
  });

  it('says what is missing when the file holds no spikes, and writes zeros when told the shape', async () => {
    expect(await binError('neuron,time\n', { binWidth: 1 })).toMatch(/spikes\.csv holds no spikes and no --neurons/);
    expect(await binError('# nothing\n', { binWidth: 1, neurons: 2 })).toMatch(/spikes\.csv holds no spikes: give --duration/);
    expect((await binText('', { binWidth: 1, neurons: 2, duration: 2 })).nested).toEqual([[[0, 0], [0, 0]]]);
  });

  it('cuts sequences of --sequence-bins and counts the spikes of the partial last one as dropped', async () => {
    const binned = await binText('0,0.05\n1,0.15\n0,0.25\n1,0.35\n0,0.45\n', { binWidth: 0.1, sequenceBins: 2 });
    expect(binned.nested).toEqual([[[1, 0], [0, 1]], [[1, 0], [0, 1]]]);
    expect(binned.cut).toBe(1);
    expect(describeBinned(binned)).toMatch(/^2 sequences x 2 bins x 2 neurons; .*; 1 spikes in the partial last sequence dropped$/);
    expect(await binError('0,0.05\n', { binWidth: 0.1, sequenceBins: 2 })).toMatch(/spikes\.csv: the recording has 1 bins .* fewer than one sequence of --sequence-bins 2/);
  });

  it('writes the same JSON as JSON.stringify of the nested counts, in pieces', async () => {
    const binned = await binText('0,0.05\n2,0.15\n2,0.17\n', { binWidth: 0.1 });
    const pieces = [...countsJson(binned, 3)];
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe(`${JSON.stringify([[[1, 0, 0], [0, 0, 2]]])}\n`);
  });
});

describe('line endings, byte order marks and chunks', () => {
  const rows = ['neuron,time', '0,0.05', '1,0.15', '# é, a comment', '0,0.25'];
  const expected = [[[1, 0], [0, 1], [1, 0]]];

  it('reads LF, CRLF and CR-only files (CR-only read as no spikes before), with or without a UTF-8 BOM', async () => {
    for (const ending of ['\n', '\r\n', '\r']) {
      for (const bom of ['', '\uFEFF']) {
        for (const last of ['', ending]) {
          const text = `${bom}${rows.join(ending)}${last}`;
          expect((await binText(text, { binWidth: 0.1 })).nested, JSON.stringify(text)).toEqual(expected);
        }
      }
    }
  });

  it('puts lines, CRLFs and UTF-8 characters split across chunks back together, and keeps line numbers', async () => {
    const text = `\uFEFF${rows.join('\r\n')}\r\n0,-1\r\n`;
    for (const chunkBytes of [1, 2, 3, 5, 7, 16]) {
      expect((await binText(text.replace('0,-1\r\n', ''), { binWidth: 0.1 }, { chunkBytes })).nested, `chunks of ${chunkBytes}`).toEqual(expected);
      expect(await binError(text, { binWidth: 0.1 }, { chunkBytes }), `chunks of ${chunkBytes}`).toMatch(/spikes\.csv:6: time "-1"/);
    }
    expect(await binError('0,0.1\r\r0,x\r', { binWidth: 0.1 }, { chunkBytes: 1 })).toMatch(/spikes\.csv:3: time "x"/);
  });

  it('refuses a line too long to be a row instead of holding it in memory', async () => {
    expect(await binError(`0,0.1\n${'7'.repeat(200_000)}`, { binWidth: 0.1 }, { chunkBytes: 4096 })).toMatch(/spikes\.csv:2: a line of more than 65536 characters/);
  });

  it('refuses bytes that are not UTF-8 with their line', async () => {
    const path = join(folder, 'latin1.csv');
    writeFileSync(path, Buffer.from('neuron,time\n0,0.1\n0,0.2\xb5\n', 'latin1'));
    await expect(binSpikeFile(path, { binWidth: 0.1 })).rejects.toThrow(/latin1\.csv:3: time "0\.2\uFFFD"/);
  });

  it('names a --spikes file it cannot read', async () => {
    await expect(binSpikeFile(join(folder, 'missing.csv'), { binWidth: 0.1 })).rejects.toThrow(/cannot read --spikes file .*missing\.csv: ENOENT/);
    await expect(binSpikeFile(folder, { binWidth: 0.1 })).rejects.toThrow(/cannot read --spikes file .*: EISDIR/);
  });
});

describe('the size of the counts is checked before they are allocated', () => {
  it('refuses a neuron index of 1e9 (heap out of memory before) and names the line and the flags', async () => {
    const message = await binError('0,0.1\n1000000000,0.2\n', { binWidth: 0.1 });
    expect(message).toMatch(new RegExp(`spikes\\.csv: the counts would be 1000000001 neurons x 3 bins = 3000000003 cells, more than the ${MAX_CELLS} a counts file can hold`));
    expect(message).toMatch(/--bin-width \(now 0\.1 s\)/);
    expect(message).toMatch(/--duration \(now to the last spike, 0\.2 s at .*spikes\.csv:2\)/);
    expect(message).toMatch(/the highest index is 1000000000, at .*spikes\.csv:2/);
    expect(await binError('0,0.1\n', { binWidth: 0.1, neurons: 2e9 })).toMatch(/lower --neurons \(now 2000000000/);
  });

  it('refuses a time of 1e12 s ("Invalid array length" before), and one whose bin is not even finite', async () => {
    expect(await binError('0,0.1\n1,1e12\n', { binWidth: 0.001 })).toMatch(
      /spikes\.csv: the counts would be 2 neurons x 1000000000000001 bins .* widen --bin-width \(now 0\.001 s\), shorten --duration \(now to the last spike, 1000000000000 s at .*spikes\.csv:2\)/,
    );
    expect(await binError('0,1e300\n', { binWidth: 1e-10 })).toMatch(/spikes\.csv: the counts would be 1 neurons x Infinity bins/);
    expect(await binError('0,0.1\n', { binWidth: 1e-9, duration: 1 })).toMatch(/shorten --duration \(now 1 s\)/);
  });

  it('refuses one cell over the bound', async () => {
    expect(await binError('0,0.1\n', { binWidth: 1, neurons: MAX_CELLS / 2 + 1, duration: 2 })).toMatch(
      new RegExp(`the counts would be ${MAX_CELLS / 2 + 1} neurons x 2 bins = ${MAX_CELLS + 2} cells, more than the ${MAX_CELLS}`),
    );
  });

  it('refuses an out-of-range flag passed to the library directly', async () => {
    expect(await binError('0,0.1\n', { binWidth: 0 })).toMatch(/--bin-width must be a positive number/);
    expect(await binError('0,0.1\n', { binWidth: 1, sequenceBins: 0.5 })).toMatch(/--sequence-bins must be an integer/);
  });
});

describe('interrupts', () => {
  it('stops between chunks when the signal is aborted, with an InterruptedExit', async () => {
    const path = join(folder, 'interrupted.csv');
    writeFileSync(path, '0,0.1\n'.repeat(10_000));
    // Aborted before it starts: the binning runs until its first turn of the event loop, before the first chunk.
    const before = new AbortController();
    const binning = binSpikeFile(path, { binWidth: 0.1 }, { signal: before.signal, chunkBytes: 1024 });
    before.abort();
    await expect(binning).rejects.toThrow(InterruptedExit);
    await expect(binning).rejects.toThrow('interrupted: nothing was written');
    // Aborted by a timer, which only fires because the reading yields to the event loop between its 60 chunks a pass.
    const during = new AbortController();
    setTimeout(() => during.abort(), 1);
    await expect(binSpikeFile(path, { binWidth: 0.1 }, { signal: during.signal, chunkBytes: 1024 })).rejects.toThrow(InterruptedExit);
  });
});

describe('poglm bin, run as users run it', () => {
  const BIN = new URL('../bin/poglm.js', import.meta.url).pathname;
  const big = (): string => join(folder, 'five-million.csv');
  const SPIKES = 5_000_000;

  beforeAll(() => {
    expect(existsSync(new URL('../dist/cli/main.js', import.meta.url)), 'run `npm run build` first (npm test does)').toBe(true);
    // 5 M spikes of 4 neurons over 250 s, written in pieces (the whole text would be 58 MB in one string).
    const descriptor = openSync(big(), 'w');
    writeSync(descriptor, 'neuron,time\n');
    let piece = '';
    for (let i = 0; i < SPIKES; i++) {
      piece += `${i % 4},${(i * 5e-5).toFixed(5)}\n`;
      if (piece.length > 1 << 20) {
        writeSync(descriptor, piece);
        piece = '';
      }
    }
    writeSync(descriptor, piece);
    closeSync(descriptor);
  });

  it('bins 5 M spikes into 0.1 ms bins within a 64 MB heap (the spikes as objects needed several hundred MB)', () => {
    const out = join(folder, 'five-million.json');
    const run = spawnSync(process.execPath, ['--max-old-space-size=64', BIN, 'bin', '--spikes', big(), '--bin-width', '1e-4', '--out', out], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^wrote .*five-million\.json: 1 sequences x 2500000 bins x 4 neurons; mean count per bin by neuron: 0\.500 0\.500 0\.500 0\.500\n$/);
    const counts = JSON.parse(readFileSync(out, 'utf8')) as number[][][];
    expect(counts[0]).toHaveLength(2_500_000);
    expect(counts[0].flat().reduce((sum, count) => sum + count, 0)).toBe(SPIKES);
  });

  it('stops at Ctrl-C while reading, exits 130 and writes nothing', async () => {
    const out = join(folder, 'interrupted.json');
    const child = spawn(process.execPath, [BIN, 'bin', '--spikes', big(), '--bin-width', '1e-4', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Ctrl-C once the file is open: the command is running (the runner listens), and reading has begun.
    await waitFor(() => openFiles(child.pid!).includes(big()), 30_000);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/poglm: interrupted: nothing was written/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(folder).filter((name) => name.startsWith('interrupted.json'))).toEqual([]);
  });

  it('refuses an --out that is the --spikes file (the counts would replace the spike times) before reading it', () => {
    const path = join(folder, 'precious.csv');
    writeFileSync(path, 'neuron,time\n0,0.1\n');
    const run = spawnSync(process.execPath, [BIN, 'bin', '--spikes', path, '--bin-width', '0.1', '--out', path], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/--out .*precious\.csv is also the --spikes file/);
    expect(readFileSync(path, 'utf8')).toBe('neuron,time\n0,0.1\n');
  });

  it('refuses a neuron index of 1e9 with exit 2 and a message, not a crash', () => {
    const path = join(folder, 'huge-id.csv');
    writeFileSync(path, 'neuron,time\n0,0.1\n1000000000,0.2\n');
    const run = spawnSync(process.execPath, [BIN, 'bin', '--spikes', path, '--bin-width', '0.1', '--out', join(folder, 'huge-id.json')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/poglm: error: .*huge-id\.csv: the counts would be 1000000001 neurons x 3 bins/);
  });
});

/** The files process `pid` and its descendants have open, from /proc (Linux, as CI): bin/poglm.js runs the CLI in a child. */
function openFiles(pid: number): string[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    const own = readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
      } catch {
        return [];
      }
    });
    return [...own, ...children.flatMap(openFiles)];
  } catch {
    return [];
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`waited ${timeoutMs} ms in vain`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

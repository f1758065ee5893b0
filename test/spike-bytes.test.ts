// Spike files read from bytes in memory (src/io/spike-bytes.ts), as the live page reads a dropped file: NWB and
// MATLAB v7.3 through h5wasm's ES module build and its in-memory file system, MATLAB v5 and NumPy from the bytes,
// CSV through the rows `poglm bin` reads. Each file, written by h5py, scipy and numpy, must give exactly what the
// readers of files on disk give, and its problems the same messages but for how the file is named. No GPU.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binSpikes, spikeTimesSource } from '../src/io/binning.js';
import { detectSpikeFormat, readSpikeFile } from '../src/io/read-spikes.js';
import { readSpikeBytes } from '../src/io/spike-bytes.js';
import type { SpikeData } from '../src/io/spike-data.js';
import { binSpikeFile } from '../src/cli/spikes.js';
import { DataError } from '../src/model/data.js';
import { runPython } from './helpers/python-writers.js';

const WRITE = String.raw`
import json, sys
import scipy.io as sio
folder = json.load(sys.stdin)['folder']
units = [[0.01, 0.25, 0.26], [0.5], [0.02, 0.91, 1.5, 1.75]]
write_nwb(f'{folder}/units.nwb', [4, 7, 9], units, trials=[(0.0, 1.0), (1.0, 2.0)])
write_mat73(f'{folder}/cells73.mat', {'SpTimes': ('cell', units)})
sio.savemat(f'{folder}/cells.mat', {'SpTimes': cell_of(units)}, do_compression=True)
rows = np.array([[u, t] for u, times in enumerate(units) for t in times], np.float64)
np.save(f'{folder}/rows.npy', rows)
np.savez(f'{folder}/pair.npz', units=rows[:, 0].astype(np.int64), times=rows[:, 1])
np.save(f'{folder}/counts.npy', np.array([[[0, 1], [2, 0]], [[1, 1], [0, 3]]], np.int32))
print(json.dumps({}))
`;

/** What a reader returned, without how it named the file (a path on disk, a name in a page). */
function content(data: SpikeData): unknown {
  if (data.kind === 'counts') return { counts: Array.from(data.counts), shape: [data.sequences, data.bins, data.neurons], sequenced: data.sequenced };
  return { units: data.units.map((unit) => ({ id: unit.id, times: Array.from(unit.times) })), trials: data.trials, timeUnit: data.timeUnit, container: data.container, dataset: data.dataset };
}

describe('spike files read from bytes, as a page reads them', () => {
  let folder: string;
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'poglm-spike-bytes-'));
    runPython(WRITE, { folder });
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  for (const name of ['units.nwb', 'cells73.mat', 'cells.mat', 'rows.npy', 'pair.npz', 'counts.npy']) {
    it(`reads ${name} from its bytes exactly as from disk`, async () => {
      const path = join(folder, name);
      const fromDisk = await readSpikeFile(path, detectSpikeFormat(path, `--spikes file ${path}`));
      const fromBytes = await readSpikeBytes(readFileSync(path), name);
      expect(fromBytes.kind).toBe(fromDisk.kind);
      expect(content(fromBytes as SpikeData)).toEqual(content(fromDisk));
      expect(fromBytes.source).toBe(`the file ${name}`);
    });
  }

  it('bins CSV bytes to the counts poglm bin gives the same file', async () => {
    const text = 'neuron,time\r\n0,0.01\n2,0.5\r# a comment\n1,0.93\n0,1.21\n';
    const path = join(folder, 'times.csv');
    writeFileSync(path, `\ufeff${text}`);
    const fromDisk = await binSpikeFile(path, { binWidth: 0.1, sequenceBins: 4 });
    const read = await readSpikeBytes(new TextEncoder().encode(`\ufeff${text}`), 'times.csv');
    if (read.kind !== 'csv') throw new Error(`read as ${read.kind}, not CSV`);
    const binned = await binSpikes(read.source, { binWidth: 0.1, timeScale: 1, binUnit: 's', sequences: { align: 'recording', sequenceBins: 4 }, maxCells: 2 ** 26 });
    expect([binned.sequences, binned.bins, binned.neurons]).toEqual([fromDisk.sequences, fromDisk.bins, fromDisk.neurons]);
    expect(Array.from(binned.counts)).toEqual(Array.from(fromDisk.counts));
    expect([binned.spikes, binned.cut]).toEqual([4, 1]);
  });

  it('refuses a bad CSV row as a DataError naming the file and the line', async () => {
    const read = readSpikeBytes(new TextEncoder().encode('0,0.1\n1,-0.2\n'), 'bad.csv');
    await expect(read).rejects.toBeInstanceOf(DataError);
    await expect(read).rejects.toThrow(/^bad\.csv:2: time "-0\.2" must be a non-negative number of seconds/);
  });

  it('refuses a damaged HDF5 file with a DataError, and reads the next file afterwards', async () => {
    const bytes = readFileSync(join(folder, 'units.nwb'));
    const damaged = bytes.slice(0, 600);
    await expect(readSpikeBytes(damaged, 'cut.nwb')).rejects.toThrow(/^the file cut\.nwb cannot be opened as HDF5.*: the file is damaged, truncated or not HDF5$/);
    const again = await readSpikeBytes(bytes, 'units.nwb');
    expect(again.kind === 'times' && again.units.map((unit) => unit.id)).toEqual([4, 7, 9]);
  });

  it('bins NWB bytes by trial as poglm bin does from the file', async () => {
    const read = await readSpikeBytes(readFileSync(join(folder, 'units.nwb')), 'units.nwb');
    if (read.kind !== 'times') throw new Error(`read as ${read.kind}`);
    const binned = await binSpikes(spikeTimesSource(read), { binWidth: 0.25, timeScale: 1, binUnit: 's', sequences: { align: 'trials', trials: read.trials! }, maxCells: 2 ** 26 });
    expect([binned.sequences, binned.bins, binned.neurons]).toEqual([2, 4, 3]);
    expect(binned.spikes).toBe(8);
  });
});

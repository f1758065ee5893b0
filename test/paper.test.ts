// `poglm paper rgc|pvc5 --prepare`, held count for count to the paper's own preprocessing, computed in Python in this
// test: scipy.io.loadmat, then scipy.stats.binned_statistic on unit-width frame bins [0, 1, ..., 144000] for the RGC
// data (as the paper's script does, cell by cell), and numpy.histogram on linspace(0, 900, 45001) of the times in
// seconds for PVC-5. The files are written by scipy.io.savemat in the layouts of SpTimesRGC.mat and wave_clus's
// times_*.mat, with spikes on bin edges, beside them, on the last edge and past it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPython } from './helpers/python-writers.js';

// The built command in a child process, registered on a program of its own, so that the test runs the command as
// users do whether or not src/cli/commands.ts has it wired in yet.
const PAPER_MODULE = new URL('../dist/cli/paper.js', import.meta.url).href;
const COMMANDER = new URL('../node_modules/commander/esm.mjs', import.meta.url).href;
const PROGRAM = `
const { Command } = await import(${JSON.stringify(COMMANDER)});
const { registerPaperCommand } = await import(${JSON.stringify(PAPER_MODULE)});
const program = new Command('poglm').exitOverride();
registerPaperCommand(program);
try { await program.parseAsync(process.argv.slice(1), { from: 'user' }); } catch (error) { process.exitCode = error.exitCode ?? 1; }
`;
let folder = '';
const at = (name: string): string => join(folder, name);
const poglm = (...args: string[]) =>
  spawnSync(process.execPath, ['--input-type=module', '-e', PROGRAM, '--', ...args], { cwd: folder, encoding: 'utf8', timeout: 400_000 });
const json = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

// The paper's preprocessing, as its scripts do it, on files this script writes first.
const PAPER = String.raw`
import scipy.io as sio
from scipy.io import loadmat
from scipy.stats import binned_statistic
request = json.load(sys.stdin)
folder = request['folder']
rng = np.random.default_rng(7)

# SpTimesRGC.mat: a 1 x N cell of column vectors of spike times in frames.
frames = 20 * 60 * 120
cells = []
for i in range(3):
    t = np.concatenate([rng.uniform(0, frames, 4000), rng.integers(0, frames, 300).astype(np.float64)])
    edges = rng.integers(1, frames, 50).astype(np.float64)
    t = np.concatenate([t, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
    cells.append(np.sort(t))
# The last edge, inside scipy's 6-decimal tolerance of it, just past it, and far past it.
cells[0] = np.sort(np.concatenate([cells[0], [144000.0, 144000.0000004, 143999.9999999, 144000.000001, 150000.0]]))
sio.savemat(f'{folder}/SpTimesRGC.mat', {'SpTimes': cell_of(cells)})

temp = loadmat(f'{folder}/SpTimesRGC.mat', squeeze_me=False, struct_as_record=False)['SpTimes'][0]
n_time_bins = 20 * 60 * 120
time_bins = np.linspace(1, n_time_bins, n_time_bins)
spikes = np.zeros((n_time_bins, len(temp)))
for i in range(len(temp)):
    spikes[:, i] = binned_statistic(temp[i][:, 0], None, bins=np.hstack(([0], time_bins)), statistic='count')[0].T
rgc = spikes.astype(int)
rgc_train, rgc_test = rgc[:96000].reshape(960, 100, -1), rgc[96000:].reshape(480, 100, -1)

# times_X.mat: cluster_class rows of (cluster, time in ms), cluster 0 (unassigned) included, beside waveforms.
n = 30000
clusters = rng.integers(0, 4, n).astype(np.float64)
ms = np.concatenate([rng.uniform(0, 900000, n - 400), 20.0 * rng.integers(0, 45000, 200), np.nextafter(20.0 * rng.integers(1, 45000, 200), -np.inf)])
ms[:4] = [900000.0, 900000.0001, 899999.9999, 0.0]
order = np.argsort(ms, kind='stable')
cluster_class = np.column_stack([clusters, ms])[order]
sio.savemat(f'{folder}/times_X.mat', {'cluster_class': cluster_class, 'spikes': rng.normal(size=(n, 4)), 'par': {'sr': 24000.0}}, do_compression=True)

data = loadmat(f'{folder}/times_X.mat')['cluster_class']
bins = np.linspace(0, 900, 45001)
ids = np.unique(data[:, 0])
pvc = np.stack([np.histogram(data[data[:, 0] == c, 1] / 1000, bins=bins)[0] for c in ids], axis=1)
pvc_train, pvc_test = pvc[:22500].reshape(225, 100, -1), pvc[22500:].reshape(225, 100, -1)

print(json.dumps({
    'rgc': {'train': rgc_train.tolist(), 'test': rgc_test.tolist(), 'last': int(rgc[-1, 0]), 'total': int(rgc.sum())},
    'pvc5': {'train': pvc_train.tolist(), 'test': pvc_test.tolist(), 'ids': ids.tolist(), 'last': pvc[-1].tolist()},
}))
`;

let paper: {
  rgc: { train: number[][][]; test: number[][][]; last: number; total: number };
  pvc5: { train: number[][][]; test: number[][][]; ids: number[]; last: number[] };
};

beforeAll(() => {
  expect(existsSync(new URL('../dist/cli/paper.js', import.meta.url)), 'run `npm run build` first (npm test does)').toBe(true);
  folder = mkdtempSync(join(tmpdir(), 'poglm-paper-'));
  paper = runPython(PAPER, { folder });
}, 120_000);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('poglm paper rgc --prepare', () => {
  it("equals the paper's binned_statistic on frame bins, count for count: 960 train and 480 test sequences of 100 bins", () => {
    const run = poglm('paper', 'rgc', '--data', 'SpTimesRGC.mat', '--prepare', '--out', 'rgc');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^wrote rgc\/train\.json: 960 sequences x 100 bins x 3 neurons; .*\nwrote rgc\/test\.json: 480 sequences x 100 bins x 3 neurons; .*; 2 of \d+ spikes after the paper's 144000 frames left out\nwrote rgc\/manifest\.json\n$/);
    expect(run.stderr).toMatch(/read variable SpTimes, a 1x3 cell array of spike-time vectors \(units 0 to 2\)/);
    expect(json(at('rgc/train.json'))).toEqual(paper.rgc.train);
    expect(json(at('rgc/test.json'))).toEqual(paper.rgc.test);
    // The last frame holds the spikes at 143999.9999999, at 144000 and within scipy's rounding of it.
    expect((json(at('rgc/test.json')) as number[][][])[479][99][0]).toBe(paper.rgc.last);
    expect(paper.rgc.last).toBeGreaterThanOrEqual(3);
  });

  it('writes a manifest of the frames binned, the units and every sequence', () => {
    const manifest = json(at('rgc/manifest.json')) as { [key: string]: any };
    expect(manifest).toMatchObject({ source: { format: 'mat', container: 'MATLAB v5', dataset: 'SpTimes', timeUnit: 'frames' }, units: [0, 1, 2], binFrames: 1, frameRate: 120, sequenceBins: 100 });
    expect(manifest.binWidth).toBeCloseTo(1 / 120, 15);
    expect(manifest.sequences).toHaveLength(1440);
    expect(manifest.sequences[960]).toMatchObject({ frames: [96000, 96100], split: 'test', row: 0 });
  });
});

describe('poglm paper pvc5 --prepare', () => {
  it("equals the paper's numpy.histogram on linspace(0, 900, 45001), count for count: 225 and 225 sequences of 100 bins", () => {
    const run = poglm('paper', 'pvc5', '--data', 'times_X.mat', '--prepare', '--out', 'pvc5', '--json');
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ experiment: 'pvc5', train: 225, test: 225, bins: 100, neurons: 4 });
    expect(run.stderr).toMatch(/cluster 0 \(wave_clus: spikes not assigned to a cluster\) is kept as a neuron/);
    expect(json(at('pvc5/train.json'))).toEqual(paper.pvc5.train);
    expect(json(at('pvc5/test.json'))).toEqual(paper.pvc5.test);
    expect((json(at('pvc5/manifest.json')) as { units: number[] }).units).toEqual(paper.pvc5.ids);
  });

  // Ten fits (the GLM and H = 1..9) of one epoch on 225 sequences and their evaluation: about 90 s on two cores.
  it("without --prepare fits the paper's grid with its PVC-5 settings, picks H, and draws the sweep", { timeout: 400_000 }, () => {
    const run = poglm('paper', 'pvc5', '--data', 'times_X.mat', '--schemes', 'F', '--methods', 'poisson', '--epochs', '1', '--eval-mc', '4', '--out', 'pvc5-run');
    expect(run.status, run.stderr).toBe(0);
    const summary = readFileSync(at('pvc5-run/grid/summary.csv'), 'utf8').trim().split('\n');
    // The GLM (H = 0) and the paper's H = 1..9.
    expect(summary.slice(1).map((line) => Number(line.split(',')[2]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const model = json(at('pvc5-run/grid/models/pvc5_seed0_F_poisson_H3.json')) as { basis: number[]; training: { batchSize: number; samples: number } };
    expect(model.basis).toHaveLength(10);
    expect(model.training).toMatchObject({ batchSize: 25, samples: 10 });
    expect(readFileSync(at('pvc5-run/grid/summary.md'), 'utf8')).toMatch(/## Choice of H[\s\S]*Picked H = \d/);
    expect(readFileSync(at('pvc5-run/sweep.svg'), 'utf8')).toMatch(/^<svg/);
  });

  it('refuses a missing file with exit 2, before any work', () => {
    const run = poglm('paper', 'pvc5', '--data', 'no-such-file.mat', '--out', 'elsewhere');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/cannot read --data file no-such-file\.mat|no-such-file\.mat/);
    expect(existsSync(at('elsewhere'))).toBe(false);
  });
});

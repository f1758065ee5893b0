// Spike files written by independent tools, for the format tests: scipy.io.savemat (MATLAB v5, compressed or not),
// h5py (NWB-shaped units tables with ragged spike times and trials; MATLAB v7.3 with its user block, MATLAB_class
// attributes and cell arrays as object references into "#refs#"), and numpy (np.save, np.savez,
// np.savez_compressed). The oracle is numpy.histogram with explicit edges, as the paper's code bins. A missing
// python3 or module fails the test with the Debian package to install: CI installs them (scripts/setup.sh --tests),
// and a test that skipped itself would hide a broken oracle.
import { spawnSync } from 'node:child_process';

const PYTHON = process.env.POGLM_PYTHON ?? '/usr/bin/python3';

/** The Debian package of each module the writers import. */
const PACKAGES: Record<string, string> = { numpy: 'python3-numpy', scipy: 'python3-scipy', h5py: 'python3-h5py' };

/** Python functions the test scripts call: writers of each format and the histogram oracle. */
export const WRITERS = String.raw`
import json, sys
import numpy as np

def histogram_counts(units_times, w, bins, sequence_bins, start=0.0):
    """Counts [S][T][N] in half-open bins start + k*w (k < bins), as numpy.histogram with those explicit edges."""
    edges = start + np.arange(bins + 1) * w
    columns = []
    for times in units_times:
        t = np.asarray(times, dtype=np.float64)
        # numpy's last bin is closed: a time on the last edge is outside the half-open bins binned here.
        t = t[(t >= edges[0]) & (t < edges[-1])]
        columns.append(np.histogram(t, bins=edges)[0])
    counts = np.stack(columns, axis=1) if columns else np.zeros((bins, 0), np.int64)
    sequences = bins // sequence_bins
    return counts[: sequences * sequence_bins].reshape(sequences, sequence_bins, len(units_times)).tolist()

def near_edges(rng, w, count, end):
    """Times on bin edges, next to them, and uniform, in [0, end)."""
    k = rng.integers(0, int(end / w), count)
    edge = k.astype(np.float64) * w
    kinds = rng.integers(0, 4, count)
    times = np.where(kinds == 0, edge, np.where(kinds == 1, np.nextafter(edge, np.inf), np.where(kinds == 2, np.nextafter(edge, -np.inf), rng.uniform(0, end, count))))
    return np.sort(times[(times >= 0) & (times < end)])

def write_nwb(path, ids, units_times, trials=None, compression=None, index_dtype='int64'):
    import h5py
    with h5py.File(path, 'w') as f:
        f.attrs['nwb_version'] = '2.6.0'
        units = f.create_group('units')
        flat = np.concatenate([np.asarray(t, np.float64) for t in units_times]) if units_times else np.zeros(0)
        units.create_dataset('spike_times', data=flat, compression=compression)
        units.create_dataset('spike_times_index', data=np.cumsum([len(t) for t in units_times]).astype(index_dtype))
        units.create_dataset('id', data=np.asarray(ids, dtype=np.int64))
        if trials is not None:
            group = f.create_group('intervals/trials')
            group.create_dataset('start_time', data=np.array([a for a, b in trials], np.float64))
            group.create_dataset('stop_time', data=np.array([b for a, b in trials], np.float64))

def write_mat73(path, variables):
    """MATLAB v7.3: HDF5 after a 512-byte user block holding MATLAB's header; dimensions reversed; cells as references."""
    import h5py
    with h5py.File(path, 'w', userblock_size=512) as f:
        for name, (kind, value) in variables.items():
            if kind == 'matrix':
                dataset = f.create_dataset(name, data=np.asarray(value, np.float64).T)
                dataset.attrs['MATLAB_class'] = np.bytes_('double')
                continue
            refs = f.require_group('#refs#')
            cell = f.create_dataset(name, shape=(len(value), 1), dtype=h5py.ref_dtype)
            for i, vector in enumerate(value):
                vector = np.asarray(vector, np.float64)
                if vector.size == 0:
                    element = refs.create_dataset(f'{name}_{i}', data=np.array([0, 0], np.uint64))
                    element.attrs['MATLAB_empty'] = np.uint8(1)
                else:
                    element = refs.create_dataset(f'{name}_{i}', data=vector.reshape(1, -1))
                element.attrs['MATLAB_class'] = np.bytes_('double')
                cell[i, 0] = element.ref
            cell.attrs['MATLAB_class'] = np.bytes_('cell')
    with open(path, 'r+b') as handle:
        header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 2026 HDF5 schema 1.00 .'
        handle.write(header.ljust(116, b' ') + b'\x00' * 8 + b'\x00\x02IM')

def cell_of(vectors, column=True):
    """A MATLAB cell array (1 x N) of spike-time vectors, columns as SpTimesRGC.mat keeps them."""
    cell = np.empty((1, len(vectors)), dtype=object)
    for i, v in enumerate(vectors):
        v = np.asarray(v, np.float64)
        cell[0, i] = v.reshape(-1, 1) if column else v.reshape(1, -1)
    return cell
`;

/**
 * Runs `script` after the writers with `input` as JSON on stdin and returns what it prints as JSON. A missing module
 * is an error that names its package.
 */
export function runPython(script: string, input: unknown = {}): any {
  const result = spawnSync(PYTHON, ['-c', `${WRITERS}\n${script}`], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000 });
  if (result.error) throw new Error(`${PYTHON} is needed for this test (apt-get install python3 python3-numpy python3-scipy python3-h5py, or set POGLM_PYTHON): ${String(result.error)}`);
  if (result.status !== 0) {
    const missing = /No module named '([\w.]+)'/.exec(result.stderr)?.[1]?.split('.')[0];
    if (missing) {
      throw new Error(`${PYTHON} has no module ${missing}, which writes this test's files: apt-get install ${PACKAGES[missing] ?? `python3-${missing}`} (bash scripts/setup.sh --tests installs it)`);
    }
    throw new Error(`the Python writer failed: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return JSON.parse(result.stdout);
}

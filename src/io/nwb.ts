// NWB files (HDF5): the units table, /units by default (--variable names another). Its spike times are one flat
// dataset, spike_times, cut into units by the ragged index spike_times_index (each entry the end of a unit's
// spikes, cumulative), with the unit ids in id; times are in seconds, as NWB prescribes. Trials, when the file has
// them, come from /intervals/trials/start_time and stop_time. With a list of units, only their spike times are read.
import { DataError } from '../model/data.js';
import type { Hdf5File } from './hdf5-file.js';
import { checkSpikeTimes, checkTrials, describeIds, printable, type SpikeOrigin, type SpikeTimes, type SpikeUnit, type Trial, type UnitId } from './spike-data.js';

const TRIALS = '/intervals/trials';

/** A 1-D dataset of numbers at `path`, read whole. */
function vector(file: Hdf5File, path: string, what: string): Float64Array {
  const { shape } = file.describe(path);
  if (shape.length !== 1) throw new DataError(`${file.where}: ${path} (${what}) has shape (${shape.join(', ')}), not a 1-D array`);
  return file.numbers(path, what);
}

/** The ends of each unit's spikes in spike_times, checked: non-decreasing integers ending at the number of spikes. */
function raggedEnds(file: Hdf5File, table: string, spikes: number): Float64Array {
  const path = `${table}/spike_times_index`;
  if (file.kind(path) !== 'dataset') {
    throw new DataError(`${file.where} has ${table}/spike_times but no ${path}: the ragged index that cuts the spike times into units is missing (write the units with pynwb, or add the index)`);
  }
  const ends = vector(file, path, 'the ragged index of the spike times');
  let previous = 0;
  ends.forEach((end, i) => {
    if (!(Number.isSafeInteger(end) && end >= previous && end <= spikes)) {
      throw new DataError(`${file.where}: ${path}[${i}] is ${end}: the index must hold non-decreasing ends of each unit's spikes, from 0 to the ${spikes} spike times`);
    }
    previous = end;
  });
  if (ends.length > 0 && previous !== spikes) {
    throw new DataError(`${file.where}: ${path} ends at ${previous} but ${table}/spike_times holds ${spikes} times: the index and the times disagree`);
  }
  return ends;
}

function unitIds(file: Hdf5File, table: string, units: number, notes: string[]): UnitId[] {
  const path = `${table}/id`;
  if (file.kind(path) !== 'dataset') {
    notes.push(`${file.where}: ${table} has no id column: its units are numbered 0 to ${units - 1}`);
    return Array.from({ length: units }, (_, i) => i);
  }
  const ids = Array.from(vector(file, path, 'the unit ids'));
  if (ids.length !== units) throw new DataError(`${file.where}: ${path} lists ${ids.length} units but ${table}/spike_times_index has ${units}: the table's columns disagree`);
  const seen = new Set<number>();
  ids.forEach((id, i) => {
    if (!Number.isSafeInteger(id)) throw new DataError(`${file.where}: ${path}[${i}] is ${id}: unit ids must be integers`);
    if (seen.has(id)) throw new DataError(`${file.where}: ${path}[${i}] repeats the unit id ${id}: ids must be unique`);
    seen.add(id);
  });
  return ids;
}

/** The indices of the units to read: all, or those `wanted` names (ids as text), in the file's order. */
function wantedIndices(ids: UnitId[], wanted: string[] | undefined, where: string): number[] {
  if (wanted === undefined) return ids.map((_, i) => i);
  const known = new Set(ids.map(String));
  const missing = wanted.filter((id) => !known.has(id));
  if (missing.length > 0) {
    throw new DataError(`--units: ${where} has no unit ${missing.slice(0, 8).map((id) => printable(id, 20)).join(', ')}; its units are ${describeIds(ids)}`);
  }
  const asked = new Set(wanted);
  return ids.flatMap((id, i) => (asked.has(String(id)) ? [i] : []));
}

function readTrials(file: Hdf5File): Trial[] | undefined {
  if (file.kind(TRIALS) !== 'group') return undefined;
  const [startPath, stopPath] = [`${TRIALS}/start_time`, `${TRIALS}/stop_time`];
  if (file.kind(startPath) !== 'dataset' || file.kind(stopPath) !== 'dataset') {
    throw new DataError(`${file.where} has ${TRIALS} without start_time and stop_time: the trials table is incomplete`);
  }
  const [starts, stops] = [vector(file, startPath, 'the trial starts'), vector(file, stopPath, 'the trial stops')];
  if (starts.length !== stops.length) throw new DataError(`${file.where}: ${startPath} has ${starts.length} trials but ${stopPath} has ${stops.length}`);
  const trials = Array.from(starts, (start, i) => ({ start, stop: stops[i] }));
  checkTrials(trials, `${file.where}: ${TRIALS}`);
  return trials;
}

function readUnitsTable(file: Hdf5File, table: string, wanted: string[] | undefined, notes: string[]): SpikeUnit[] {
  if (file.kind(table) !== 'group') {
    const top = file.keys('/').slice(0, 10).map((key) => printable(key, 30));
    throw new DataError(
      `${file.where} has no units table at ${printable(table, 80)} (its top level holds ${top.join(', ') || 'nothing'}): an NWB file of sorted units has /units; give --variable PATH where the table is elsewhere`,
    );
  }
  const timesPath = `${table}/spike_times`;
  if (file.kind(timesPath) !== 'dataset') throw new DataError(`${file.where}: the units table ${printable(table, 80)} has no spike_times column`);
  const { shape } = file.describe(timesPath);
  if (shape.length !== 1) throw new DataError(`${file.where}: ${timesPath} has shape (${shape.join(', ')}), not a 1-D array of times`);
  const ends = raggedEnds(file, table, shape[0]);
  const ids = unitIds(file, table, ends.length, notes);
  const indices = wantedIndices(ids, wanted, file.where);
  // All spike times in one read, unless only some units are wanted: then only theirs, a slice each.
  const all = wanted === undefined ? vector(file, timesPath, 'the spike times') : undefined;
  return indices.map((i) => {
    const [start, end] = [i === 0 ? 0 : ends[i - 1], ends[i]];
    const times = all ? all.slice(start, end) : file.numbers(timesPath, 'the spike times', [start, end]);
    checkSpikeTimes(times, `${file.where}: ${timesPath} (unit ${ids[i]}, from element ${start})`);
    return { id: ids[i], times };
  });
}

/** Spike times (and trials) from an open NWB file's units table (opened from disk or from bytes: src/io/hdf5*.ts). */
export function nwbSpikes(file: Hdf5File, base: Omit<SpikeOrigin, 'dataset' | 'notes'>, table = '/units', wanted?: string[]): SpikeTimes {
  const path = table.startsWith('/') ? table : `/${table}`;
  const notes: string[] = [];
  const units = readUnitsTable(file, path, wanted, notes);
  const trials = readTrials(file);
  return { ...base, kind: 'times', dataset: `${path}/spike_times`, notes, units, trials, timeUnit: 's' };
}

// Spike times or counts from NumPy files. Layouts:
//   spike times: a [spikes x 2] float array of (unit, time) rows; a structured array with a unit and a time field;
//     or, in a .npz, two 1-D arrays of the same length (unit ids and times: np.savez(f, units=..., times=...));
//   counts: an integer (or whole-valued) array [sequence][bin][neuron] or [bin][neuron], which goes straight to counts.
// --variable names the array ("counts") or the two arrays, units first ("clusters,times"); otherwise the layout is
// found from the names, shapes and dtypes, and a note says which arrays were read.
import { DataError } from '../model/data.js';
import { columnOf, describeArray, parseNpy, valuesOf, type NpyArray, type NpyField } from './npy.js';
import { listNpz, readNpzArrays, type NpzMember } from './npz.js';
import { groupByUnit, printable, type ReadSpikeOptions, type SpikeCountArray, type SpikeData, type SpikeOrigin, type SpikeTimes } from './spike-data.js';

const UNIT_NAMES = new Set(['unit', 'units', 'unit_id', 'unit_ids', 'cluster', 'clusters', 'cluster_id', 'spike_clusters', 'spike_units', 'neuron', 'neurons', 'id', 'ids', 'cell', 'cells', 'channel']);
const TIME_NAMES = new Set(['time', 'times', 't', 'spike_time', 'spike_times', 'spiketimes', 'timestamp', 'timestamps', 'seconds']);

const isUnitName = (name: string): boolean => UNIT_NAMES.has(name.toLowerCase());
const isTimeName = (name: string): boolean => TIME_NAMES.has(name.toLowerCase());
const isIntegral = (array: NpyArray): boolean => array.type !== undefined && array.type.kind !== 'f';

/** What one array is on its own: spike times, counts, or undefined (a 1-D array needs a partner). */
function layoutOf(array: NpyArray): 'times' | 'counts' | undefined {
  if (array.fields) return array.shape.length === 1 && array.fields.length === 2 ? 'times' : undefined;
  if (array.shape.length === 3) return 'counts';
  if (array.shape.length !== 2) return undefined;
  // A float [n x 2] array is (unit, time) rows; an integer 2-D array is counts [bin][neuron].
  return array.type!.kind === 'f' && array.shape[1] === 2 ? 'times' : 'counts';
}

function origin(path: string, source: string, format: 'npy' | 'npz', dataset: string): SpikeOrigin {
  return { path, source, format, container: format === 'npy' ? 'NumPy .npy' : 'NumPy .npz', dataset, notes: [] };
}

// ---- Spike times ----

function tableFields(array: NpyArray): { unit: NpyField; time: NpyField } {
  const fields = array.fields!;
  const unit = fields.find((field) => isUnitName(field.name)) ?? (fields.filter((field) => field.type.kind !== 'f').length === 1 ? fields.find((field) => field.type.kind !== 'f') : undefined);
  const time = fields.find((field) => field !== unit && isTimeName(field.name)) ?? fields.find((field) => field !== unit);
  if (!unit || !time) {
    const names = fields.map((field) => `"${printable(field.name, 20)}"`).join(', ');
    throw new DataError(`${array.name} has the fields ${names}: name them "unit" and "time" (or give the unit ids an integer dtype)`);
  }
  return { unit, time };
}

function timesFromTable(array: NpyArray, base: SpikeOrigin): SpikeTimes {
  if (array.fields) {
    const { unit, time } = tableFields(array);
    const units = groupByUnit(columnOf(array, { field: unit }), columnOf(array, { field: time }), {
      units: `${array.name}: field "${printable(unit.name, 20)}"`,
      times: `${array.name}: field "${printable(time.name, 20)}"`,
    });
    return { ...base, kind: 'times', units };
  }
  const units = groupByUnit(columnOf(array, { column: 0 }), columnOf(array, { column: 1 }), {
    units: `${array.name}: column 0 (unit ids)`,
    times: `${array.name}: column 1 (times)`,
  });
  return { ...base, kind: 'times', units };
}

function timesFromPair(unitArray: NpyArray, timeArray: NpyArray, base: SpikeOrigin): SpikeTimes {
  for (const array of [unitArray, timeArray]) {
    if (array.shape.length !== 1 || !array.type) throw new DataError(`${array.name} is ${describeArray(array)}: unit ids and spike times must be 1-D arrays of numbers`);
  }
  if (unitArray.count !== timeArray.count) {
    throw new DataError(`${unitArray.name} has ${unitArray.count} unit ids but ${timeArray.name} has ${timeArray.count} times: give one unit id per spike`);
  }
  const units = groupByUnit(valuesOf(unitArray), valuesOf(timeArray), { units: unitArray.name, times: timeArray.name });
  return { ...base, kind: 'times', units };
}

// ---- Counts ----

function countsFromArray(array: NpyArray, base: SpikeOrigin): SpikeCountArray {
  if (!array.type) throw new DataError(`${array.name} is a structured array, not counts`);
  const sequenced = array.shape.length === 3;
  const [sequences, bins, neurons] = sequenced ? array.shape : [1, ...array.shape];
  if (sequences * bins * neurons === 0) throw new DataError(`${array.name} is ${describeArray(array)}: it holds no counts`);
  const values = valuesOf(array);
  const counts = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const count = values[i];
    if (!(Number.isInteger(count) && count >= 0 && count <= 0xffffffff)) {
      const at = sequenced ? `[${Math.floor(i / (bins * neurons))}][${Math.floor(i / neurons) % bins}][${i % neurons}]` : `[${Math.floor(i / neurons)}][${i % neurons}]`;
      throw new DataError(`${array.name}${at} is ${count}: counts must be whole numbers >= 0 (a float array of spike times needs 2 columns, unit and time)`);
    }
    counts[i] = count;
  }
  return { ...base, kind: 'counts', counts, sequences, bins, neurons, sequenced };
}

function fromArray(array: NpyArray, base: SpikeOrigin): SpikeData {
  const layout = layoutOf(array);
  if (layout === 'times') return timesFromTable(array, base);
  if (layout === 'counts') return countsFromArray(array, base);
  throw new DataError(
    `${array.name} is ${describeArray(array)}: give spike times as a [spikes x 2] float array of (unit, time) rows or a structured array with unit and time fields, ` +
      'two 1-D arrays in a .npz (np.savez(f, units=..., times=...)), or counts as [sequence][bin][neuron] or [bin][neuron]',
  );
}

// ---- Files' bytes ----

/** Spike times or counts from a .npy file's bytes (`path` and `source` name it in messages). */
export function npySpikes(bytes: Uint8Array, path: string, source: string): SpikeData {
  return fromArray(parseNpy(bytes, source), origin(path, source, 'npy', 'the array'));
}

/** The arrays --variable names in the archive: one, or two (units first) separated by a comma. */
function namedMembers(members: NpzMember[], variable: string, where: string): NpzMember[] {
  const names = variable.split(',').map((name) => name.trim().replace(/\.npy$/, ''));
  if (names.length > 2 || names.some((name) => name === '')) throw new DataError(`--variable "${printable(variable, 60)}" must name one array of ${where}, or two (unit ids, then times) separated by a comma`);
  return names.map((name) => {
    const member = members.find((candidate) => candidate.name === name);
    if (!member) throw new DataError(`--variable: ${where} has no array "${printable(name, 40)}"; it holds ${members.slice(0, 8).map((m) => `"${printable(m.name, 30)}"`).join(', ')}${members.length > 8 ? `, ... (${members.length} arrays)` : ''}`);
    return member;
  });
}

type Named = [name: string, array: NpyArray];

/** The pair of 1-D arrays (units, times) an archive holds by name or, failing names, by dtype; undefined when none. */
function findPair(arrays: Map<string, NpyArray>): { units: Named; times: Named; byName: boolean } | undefined {
  const vectors = [...arrays.entries()].filter(([, array]) => array.shape.length === 1 && array.type);
  const [units, times] = [vectors.filter(([name]) => isUnitName(name)), vectors.filter(([name]) => isTimeName(name))];
  if (units.length === 1 && times.length === 1) return { units: units[0], times: times[0], byName: true };
  if (vectors.length === 2 && vectors[0][1].count === vectors[1][1].count) {
    const integral = vectors.filter(([, array]) => isIntegral(array));
    if (integral.length === 1) return { units: integral[0], times: vectors.find((entry) => entry !== integral[0])!, byName: false };
  }
  return undefined;
}

/** Whether an array could be counts: integers, or floats that are all whole and not negative. */
function couldBeCounts(array: NpyArray): boolean {
  if (!array.type) return false;
  if (array.type.kind !== 'f') return true;
  return valuesOf(array).every((value) => Number.isInteger(value) && value >= 0);
}

/** Spike times or counts from a .npz archive's bytes. */
export function npzSpikes(bytes: Uint8Array, path: string, source: string, options: ReadSpikeOptions): SpikeData {
  const members = listNpz(bytes, source);
  if (options.variable !== undefined) {
    const chosen = namedMembers(members, options.variable, source);
    const arrays = [...readNpzArrays(bytes, source, chosen).values()];
    const base = origin(path, source, 'npz', chosen.map((member) => member.name).join(', '));
    return arrays.length === 2 ? timesFromPair(arrays[0], arrays[1], base) : fromArray(arrays[0], base);
  }
  const arrays = readNpzArrays(bytes, source, members);
  const pair = findPair(arrays);
  // Arrays named as unit ids and times are the spike times, whatever else the archive holds (amplitudes, templates).
  const alone = pair?.byName ? [] : [...arrays.entries()].filter(([, array]) => layoutOf(array) === 'times' || (layoutOf(array) === 'counts' && couldBeCounts(array)));
  if (pair && alone.length === 0) {
    const base = origin(path, source, 'npz', `${pair.units[0]}, ${pair.times[0]}`);
    if (arrays.size > 2 || !isUnitName(pair.units[0]) || !isTimeName(pair.times[0])) {
      base.notes.push(`${source}: read the unit ids from "${printable(pair.units[0], 40)}" and the spike times from "${printable(pair.times[0], 40)}"`);
    }
    return timesFromPair(pair.units[1], pair.times[1], base);
  }
  if (!pair && alone.length === 1) {
    const [name, array] = alone[0];
    const base = origin(path, source, 'npz', name);
    if (arrays.size > 1) base.notes.push(`${source}: read the array "${printable(name, 40)}", the only one that holds spike times or counts`);
    return fromArray(array, base);
  }
  const named = alone.map(([name]) => `"${printable(name, 30)}"`);
  if (pair) named.push('a pair of unit ids and times');
  const entries = [...arrays.entries()];
  const listing = entries.slice(0, 8).map(([name, array]) => `"${printable(name, 30)}" ${describeArray(array)}`).join(', ') + (entries.length > 8 ? `, ... (${entries.length} arrays)` : '');
  const why = named.length > 1 ? `several of its arrays could be the spike data (${named.join(', ')})` : 'none of its arrays is spike times or counts';
  throw new DataError(`${source}: ${why}; it holds ${listing}: choose with --variable NAME, or --variable UNITS,TIMES for two 1-D arrays`);
}

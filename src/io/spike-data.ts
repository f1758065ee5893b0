// What every reader of a spike file returns: spike times per unit (with trials where the file has them), or, for a
// NumPy array of counts, the counts themselves. Readers check what they return (times finite and not negative, ids
// unique), so that binning needs no checks of its own; every problem is a DataError that names the file, the place
// inside it (a variable, an HDF5 dataset, an array) and the fix, and never shows the file's bytes.
import { DataError, describeValue } from '../model/data.js';

export const SPIKE_FORMATS = ['csv', 'nwb', 'mat', 'npy', 'npz'] as const;
export type SpikeFormat = (typeof SPIKE_FORMATS)[number];

export const TIME_UNITS = ['s', 'ms', 'us', 'frames'] as const;
/** The unit of the times in a file: seconds, milliseconds, microseconds, or frames of a stimulus (with a frame rate). */
export type TimeUnit = (typeof TIME_UNITS)[number];

export type UnitId = string | number;

export interface SpikeUnit {
  id: UnitId;
  /** Spike times in the file's unit, in the file's order (not necessarily sorted). */
  times: Float64Array;
}

/** A trial's interval [start, stop) in the file's time unit. */
export interface Trial {
  start: number;
  stop: number;
}

/** Where the spikes came from: for messages, notes and the manifest. */
export interface SpikeOrigin {
  path: string;
  format: SpikeFormat;
  /** How the file is stored: "MATLAB v5", "MATLAB v7.3 (HDF5)", "NWB (HDF5)", "NumPy .npz", "CSV". */
  container: string;
  /** What was read inside it: a variable ("SpTimes"), datasets ("/units/spike_times"), arrays ("units, times"). */
  dataset: string;
  /** How messages name the file: "--spikes file rec.nwb". */
  source: string;
  /** Choices the reader made that the user should hear of ("read SpTimes, the only cell array of spike times"). */
  notes: string[];
}

export interface SpikeTimes extends SpikeOrigin {
  kind: 'times';
  units: SpikeUnit[];
  trials?: Trial[];
  /** The time unit the layout implies (NWB: seconds; a cluster_class matrix: ms); undefined where the file does not say. */
  timeUnit?: TimeUnit;
}

/** Counts read as they are stored, [sequence][bin][neuron] row-major (a [bin][neuron] array is one sequence). */
export interface SpikeCountArray extends SpikeOrigin {
  kind: 'counts';
  counts: Uint32Array;
  sequences: number;
  bins: number;
  neurons: number;
  /** True for a [sequence][bin][neuron] array, false for [bin][neuron]. */
  sequenced: boolean;
}

export type SpikeData = SpikeTimes | SpikeCountArray;

export interface ReadSpikeOptions {
  /** The flag that named the file, for messages (default --spikes). */
  flag?: string;
  /** The reader to use, when the extension and the first bytes should not decide. */
  format?: SpikeFormat;
  /** The variable (MATLAB), array(s) (NumPy: "times" or "units,times") or units table (NWB, default /units) to read. */
  variable?: string;
  /** Only these units are needed (NWB reads only their spike times); others may still be returned. */
  units?: string[];
}

/** The first entry of `times` that is not a finite number >= 0, as a DataError naming `where[i]`; none when all are. */
export function checkSpikeTimes(times: Float64Array, where: string): void {
  for (let i = 0; i < times.length; i++) {
    const time = times[i];
    if (time >= 0 && time !== Infinity) continue;
    throw new DataError(
      `${where}[${i}] is ${describeValue(time)}: spike times must be finite and not negative (counted from the start of the recording)`,
    );
  }
}

/** Checks trial intervals: finite, not negative, start <= stop; `where` names the two columns. */
export function checkTrials(trials: Trial[], where: string): void {
  trials.forEach(({ start, stop }, i) => {
    if (!(start >= 0 && stop !== Infinity && stop >= start)) {
      throw new DataError(`${where}: trial ${i} runs from ${describeValue(start)} to ${describeValue(stop)}: a trial needs finite times with 0 <= start <= stop`);
    }
  });
}

/** Spike times grouped by unit from two parallel columns, units in ascending order of id (as numpy.unique sorts them). */
export function groupByUnit(unitColumn: Float64Array, timeColumn: Float64Array, where: { units: string; times: string }): SpikeUnit[] {
  const counts = new Map<number, number>();
  for (let i = 0; i < unitColumn.length; i++) {
    const unit = unitColumn[i];
    if (!Number.isSafeInteger(unit)) {
      throw new DataError(`${where.units}[${i}] is ${describeValue(unit)}: unit ids must be integers (a cluster or unit number per spike)`);
    }
    counts.set(unit, (counts.get(unit) ?? 0) + 1);
  }
  checkSpikeTimes(timeColumn, where.times);
  const ids = [...counts.keys()].sort((a, b) => a - b);
  const units = ids.map((id) => ({ id, times: new Float64Array(counts.get(id)!) }));
  const byId = new Map(units.map((unit) => [unit.id, { unit, filled: 0 }]));
  for (let i = 0; i < unitColumn.length; i++) {
    const slot = byId.get(unitColumn[i])!;
    slot.unit.times[slot.filled++] = timeColumn[i];
  }
  return units;
}

/** "0, 1, 2, ... (27 units)": ids for a message, cut short. */
export function describeIds(ids: readonly UnitId[], shown = 8): string {
  const listed = ids.slice(0, shown).map(String).join(', ');
  return ids.length > shown ? `${listed}, ... (${ids.length} units)` : `${listed} (${ids.length} unit${ids.length === 1 ? '' : 's'})`;
}

/** A name read from a file (a variable, array or field), safe to print: other characters than printable ASCII as '?', cut short. */
export function printable(name: string, most = 40): string {
  const clean = name.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > most ? `${clean.slice(0, most - 3)}...` : clean;
}

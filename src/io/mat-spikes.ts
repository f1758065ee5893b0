// Spike times from a MATLAB file, v5/v7 or v7.3 alike, in the two layouts labs keep:
//   a cell array (1 x N or N x 1) of per-neuron spike-time vectors, as SpTimesRGC.mat holds (units 0 to N-1, in the
//     cell's order; the times in the file's unit, which the layout does not say: seconds unless --time-unit says);
//   a [spikes x 2] numeric matrix of (cluster, time) rows, as wave_clus's times_*.mat holds in cluster_class (times in
//     ms; units are the cluster numbers, in ascending order).
// --variable names the variable; without it the only variable of either layout is read (cluster_class first when
// several matrices have two columns), and a note says which.
import { DataError } from '../model/data.js';
import type { MatValue, MatVariableInfo } from './mat5.js';
import { checkSpikeTimes, groupByUnit, printable, type SpikeOrigin, type SpikeTimes, type SpikeUnit, type TimeUnit } from './spike-data.js';

/** A MATLAB file's variables and a way to read one: what both the v5 and the v7.3 readers give. */
export interface MatFile {
  variables: MatVariableInfo[];
  read(name: string): MatValue;
}

const NUMERIC = new Set(['double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);
const CLUSTER_CLASS = 'cluster_class';

const dimsText = (dims: number[]): string => dims.join('x');
const describe = (info: MatVariableInfo): string => `${printable(info.name)} (${dimsText(info.dims)} ${info.className})`;

function isCellVector(info: MatVariableInfo): boolean {
  return info.className === 'cell' && info.dims.length === 2 && (info.dims[0] === 1 || info.dims[1] === 1) && info.dims[0] * info.dims[1] >= 1;
}

function isPairMatrix(info: MatVariableInfo): boolean {
  return NUMERIC.has(info.className) && info.dims.length === 2 && info.dims[1] === 2;
}

const LAYOUTS = 'a cell array of spike-time vectors (one per neuron) or a [spikes x 2] matrix of (cluster, time) rows such as cluster_class';

/** The variable to read: the one --variable names, or the only one of a spike layout. */
function chooseVariable(variables: MatVariableInfo[], variable: string | undefined, source: string): { info: MatVariableInfo; chosen: boolean } {
  const listing = variables.slice(0, 8).map(describe).join(', ') + (variables.length > 8 ? `, ... (${variables.length} variables)` : '');
  if (variable !== undefined) {
    const info = variables.find((candidate) => candidate.name === variable);
    if (!info) throw new DataError(`--variable: ${source} has no variable "${printable(variable)}"; it holds ${listing || 'no variables'}`);
    if (!isCellVector(info) && !isPairMatrix(info)) throw new DataError(`--variable: ${describe(info)} in ${source} is not ${LAYOUTS}`);
    return { info, chosen: false };
  }
  const cells = variables.filter(isCellVector);
  const matrices = variables.filter(isPairMatrix);
  if (cells.length + matrices.length === 1) return { info: [...cells, ...matrices][0], chosen: true };
  const clusterClass = matrices.find((info) => info.name === CLUSTER_CLASS);
  if (cells.length === 0 && clusterClass) return { info: clusterClass, chosen: true };
  if (cells.length + matrices.length === 0) throw new DataError(`${source} holds no variable of spike times (${LAYOUTS}); it holds ${listing || 'no variables'}`);
  throw new DataError(`${source} holds several variables that could be spike times: ${[...cells, ...matrices].map(describe).join(', ')}: choose one with --variable`);
}

/** A vector (or an empty array): at most one dimension other than 1. */
const isVector = (dims: number[]): boolean => dims.filter((size) => size !== 1).length <= 1 || dims.includes(0);

function unitsFromCells(value: MatValue, info: MatVariableInfo, source: string): SpikeUnit[] {
  if (value.kind !== 'cell') throw new DataError(`${source}: variable ${printable(info.name)} is not a cell array`);
  return value.cells.map((cell, i) => {
    const where = `${source}: ${printable(info.name)}{${i + 1}} (unit ${i})`;
    if (cell.kind !== 'numeric' || !isVector(cell.dims)) {
      const what = `a ${dimsText(cell.dims)} ${cell.kind === 'numeric' ? 'matrix' : cell.kind === 'cell' ? 'cell' : cell.className}`;
      throw new DataError(`${where} is ${what}: each cell must hold one neuron's spike times as a vector of numbers`);
    }
    checkSpikeTimes(cell.data, where);
    return { id: i, times: cell.data };
  });
}

function unitsFromMatrix(value: MatValue, info: MatVariableInfo, source: string): SpikeUnit[] {
  if (value.kind !== 'numeric' || value.dims.length !== 2 || value.dims[1] !== 2) throw new DataError(`${source}: variable ${printable(info.name)} is not a [spikes x 2] matrix`);
  const rows = value.dims[0];
  // Column-major: the first column (the cluster of each spike), then the second (its time).
  const name = printable(info.name);
  return groupByUnit(value.data.subarray(0, rows), value.data.subarray(rows, 2 * rows), { units: `${source}: ${name}(:, 1) (clusters)`, times: `${source}: ${name}(:, 2) (times)` });
}

/** Spike times from a MATLAB file; `base` says where it came from. */
export function spikesFromMat(mat: MatFile, base: Omit<SpikeOrigin, 'dataset' | 'notes'>, variable: string | undefined): SpikeTimes {
  const { info, chosen } = chooseVariable(mat.variables, variable, base.source);
  const value = mat.read(info.name);
  const cells = isCellVector(info);
  const units = cells ? unitsFromCells(value, info, base.source) : unitsFromMatrix(value, info, base.source);
  const timeUnit: TimeUnit | undefined = !cells && info.name === CLUSTER_CLASS ? 'ms' : undefined;
  const layout = cells
    ? `a ${dimsText(info.dims)} cell array of spike-time vectors (units 0 to ${units.length - 1})`
    : `a ${dimsText(info.dims)} matrix of (cluster, time${timeUnit === 'ms' ? ' in ms' : ''}) rows (${units.length} clusters)`;
  const notes = chosen ? [`${base.source}: read variable ${printable(info.name)}, ${layout}`] : [];
  return { ...base, kind: 'times', dataset: info.name, notes, units, timeUnit };
}

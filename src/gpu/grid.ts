// Dispatch-shape maths, pure and tested without a GPU. A kernel with `count` independent items and workgroups of
// `workgroupSize` threads needs ceil(count / workgroupSize) workgroups; WebGPU caps each dimension (65535 by
// default), so large counts fold into y and z. Shaders undo the fold with `linearWorkgroup` in shaders/grid.wgsl.

export type Dispatch = [number, number, number];

export function workgroupsFor(count: number, workgroupSize: number): number {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`item count ${count} must be a non-negative integer`);
  if (!Number.isInteger(workgroupSize) || workgroupSize <= 0) {
    throw new RangeError(`workgroup size ${workgroupSize} must be a positive integer`);
  }
  return Math.ceil(count / workgroupSize);
}

/** Folds `workgroups` into x, y, z, each at most `maxPerDimension`, with x*y*z >= workgroups and little waste. */
export function foldWorkgroups(workgroups: number, maxPerDimension: number): Dispatch {
  if (!Number.isInteger(workgroups) || workgroups < 0) {
    throw new RangeError(`workgroup count ${workgroups} must be a non-negative integer`);
  }
  if (workgroups <= maxPerDimension) return [workgroups, 1, 1];
  const y = Math.ceil(workgroups / maxPerDimension);
  if (y <= maxPerDimension) return [Math.ceil(workgroups / y), y, 1];
  const z = Math.ceil(workgroups / (maxPerDimension * maxPerDimension));
  if (z > maxPerDimension) {
    throw new RangeError(`${workgroups} workgroups exceed ${maxPerDimension}^3, the most one dispatch can address`);
  }
  const perZ = Math.ceil(workgroups / z);
  const yy = Math.ceil(perZ / maxPerDimension);
  return [Math.ceil(perZ / yy), yy, z];
}

/** The dispatch for `count` items at `workgroupSize` threads per workgroup. */
export function dispatchFor(count: number, workgroupSize: number, maxPerDimension: number): Dispatch {
  return foldWorkgroups(workgroupsFor(count, workgroupSize), maxPerDimension);
}

export function totalWorkgroups(dispatch: Dispatch): number {
  return dispatch[0] * dispatch[1] * dispatch[2];
}

/**
 * A "rows" dispatch: `rows` independent rows of `perRow` items each; x covers one row's items and y (folded into z
 * past the per-dimension limit) counts rows. A row's index comes from workgroup ids alone (`rowOfWorkgroup` in
 * shaders/grid.wgsl), so it is the same for every thread of a workgroup and costs no per-thread division.
 */
export function dispatchRows(rows: number, perRow: number, workgroupSize: number, maxPerDimension: number): Dispatch {
  const x = workgroupsFor(perRow, workgroupSize);
  if (x > maxPerDimension) throw new RangeError(`a row of ${perRow} items needs ${x} workgroups, over the limit of ${maxPerDimension}`);
  if (rows === 0 || x === 0) return [0, 1, 1];
  const [y, z] = foldWorkgroups(rows, maxPerDimension);
  return [x, y, z];
}

/** Workgroup size for rows of `perRow` items: the row rounded up to 8 (a CPU SIMD width), capped at 256. */
export function rowWorkgroupSize(perRow: number): number {
  return Math.min(256, Math.max(8, Math.ceil(perRow / 8) * 8));
}

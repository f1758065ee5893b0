// The flat parameter vector of one model, as the GPU stores it (one row per model) and as the reference
// differentiates it: theta = (W, b) first, then phi = (forward weights, backward weights, bias).
import type { GenerativeParams, Scheme, VariationalParams } from './types.js';

export interface ParamLayout {
  visible: number;
  hidden: number;
  neurons: number;
  scheme: Scheme;
  /** Columns of the forward weight: V (F, FB) or N (FS). */
  forwardColumns: number;
  weightOffset: number;
  biasOffset: number;
  forwardOffset: number;
  /** Equals variationalBiasOffset when the scheme has no backward weight. */
  backwardOffset: number;
  variationalBiasOffset: number;
  /** Entries of theta; phi starts here. */
  generativeCount: number;
  total: number;
}

export function paramLayout(visible: number, hidden: number, scheme: Scheme): ParamLayout {
  const neurons = visible + hidden;
  const forwardColumns = scheme === 'FS' ? neurons : visible;
  const weightOffset = 0;
  const biasOffset = neurons * neurons;
  const forwardOffset = biasOffset + neurons;
  const backwardOffset = forwardOffset + hidden * forwardColumns;
  const variationalBiasOffset = backwardOffset + (scheme === 'FB' ? hidden * visible : 0);
  return {
    visible,
    hidden,
    neurons,
    scheme,
    forwardColumns,
    weightOffset,
    biasOffset,
    forwardOffset,
    backwardOffset,
    variationalBiasOffset,
    generativeCount: forwardOffset,
    total: variationalBiasOffset + hidden,
  };
}

function checkMatrix(name: string, matrix: number[][] | undefined, rows: number, columns: number): number[][] {
  if (!Array.isArray(matrix) || matrix.length !== rows) {
    throw new Error(`${name} must be a ${rows} x ${columns} matrix (got ${Array.isArray(matrix) ? matrix.length : typeof matrix} rows)`);
  }
  matrix.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== columns) {
      throw new Error(`${name}[${r}] must have ${columns} entries (got ${Array.isArray(row) ? row.length : typeof row})`);
    }
    row.forEach((value, c) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new Error(`${name}[${r}][${c}] must be a finite number (got ${String(value)})`);
      }
    });
  });
  return matrix;
}

function checkVector(name: string, vector: number[] | undefined, length: number): number[] {
  return checkMatrix(name, vector === undefined ? undefined : [vector], 1, length)[0];
}

export function flattenParams(
  layout: ParamLayout,
  generative: GenerativeParams,
  variational?: VariationalParams,
): Float64Array {
  const flat = new Float64Array(layout.total);
  const { neurons: N, visible: V, hidden: H } = layout;
  checkMatrix('generative.weight', generative.weight, N, N).forEach((row, n) => flat.set(row, layout.weightOffset + n * N));
  flat.set(checkVector('generative.bias', generative.bias, N), layout.biasOffset);
  if (!variational) return flat;
  if (variational.scheme !== layout.scheme) {
    throw new Error(`variational.scheme is ${variational.scheme} but the layout is for ${layout.scheme}`);
  }
  checkMatrix('variational.forwardWeight', variational.forwardWeight, H, layout.forwardColumns).forEach((row, h) =>
    flat.set(row, layout.forwardOffset + h * layout.forwardColumns),
  );
  if (layout.scheme === 'FB') {
    checkMatrix('variational.backwardWeight', variational.backwardWeight, H, V).forEach((row, h) =>
      flat.set(row, layout.backwardOffset + h * V),
    );
  }
  flat.set(checkVector('variational.bias', variational.bias, H), layout.variationalBiasOffset);
  return flat;
}

function rows(flat: ArrayLike<number>, offset: number, count: number, columns: number): number[][] {
  return Array.from({ length: count }, (_, r) => Array.from({ length: columns }, (_, c) => Number(flat[offset + r * columns + c])));
}

export function unflattenParams(
  layout: ParamLayout,
  flat: ArrayLike<number>,
): { generative: GenerativeParams; variational: VariationalParams } {
  const { neurons: N, visible: V, hidden: H } = layout;
  const variational: VariationalParams = {
    scheme: layout.scheme,
    forwardWeight: rows(flat, layout.forwardOffset, H, layout.forwardColumns),
    bias: rows(flat, layout.variationalBiasOffset, 1, H)[0],
  };
  if (layout.scheme === 'FB') variational.backwardWeight = rows(flat, layout.backwardOffset, H, V);
  return {
    generative: { weight: rows(flat, layout.weightOffset, N, N), bias: rows(flat, layout.biasOffset, 1, N)[0] },
    variational,
  };
}

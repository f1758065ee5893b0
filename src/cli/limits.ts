// Limits of what the CLI writes, checked before any work. Counts go out as JSON that the other commands read back
// whole (JSON.parse of one string, then nested arrays): V8 strings end near 2^29 characters and each cell takes at
// least two ("0,"), and the nested arrays of 2^26 numbers already take gigabytes of heap. An output of billions of
// cells would exhaust memory or the file system long after the user could have been told.
import { UsageError } from './files.js';
import { maxHiddenFor, MAX_HIDDEN, MAX_HIDDEN_HISTORY } from '../engine/sizing.js';

/** Counts one JSON output may hold: 2^26 (67 million) cells, at least 134 MB of JSON. */
export const MAX_OUTPUT_CELLS = 2 ** 26;

/** Refuses an output of `cells` counts over the limit, naming the flags that set its size. */
export function checkOutputCells(cells: number, shape: string, fix: string): void {
  if (cells > MAX_OUTPUT_CELLS) {
    throw new UsageError(`${shape} is ${cells.toLocaleString('en')} counts, more than the ${MAX_OUTPUT_CELLS.toLocaleString('en')} one output file may hold: ${fix}`);
  }
}

/** The hidden count the kernels allow with a basis of `basisLength` lags, as an error naming `flag`. */
export function checkHiddenCount(flag: string, hidden: number, basisLength: number): void {
  const most = maxHiddenFor(basisLength);
  if (hidden > most) {
    throw new UsageError(
      `${flag} ${hidden} is more hidden neurons than the kernels hold with a basis of ${basisLength} lags: at most ${most}` +
        (most < MAX_HIDDEN ? ` (${MAX_HIDDEN} with a basis of ${Math.floor(MAX_HIDDEN_HISTORY / MAX_HIDDEN)} lags or fewer)` : ''),
    );
  }
}

/** The history basis must be shorter than a sequence (L < T): `what` names where the bins come from. */
export function checkBasisFits(what: string, bins: number, basisLength: number, fix: string): void {
  if (basisLength >= bins) throw new UsageError(`the basis has ${basisLength} lags but ${what} has only ${bins} bins: use a shorter basis (L < T) or ${fix}`);
}

// Counts held in one flat array written as JSON [sequence][bin][neuron], in pieces, so that a large output is never
// one string and never a nested JS array (poglm bin, simulate).

/** Counts [sequence][bin][neuron], row-major: cell (s * bins + t) * neurons + n. */
export interface CountsArray {
  counts: ArrayLike<number>;
  sequences: number;
  bins: number;
  neurons: number;
}

/**
 * The counts as JSON [sequence][bin][neuron], the same text as JSON.stringify of the nested arrays plus a newline, in
 * pieces of about `pieceChars` characters, so that a large file is never one string (for writeAtomically).
 */
export function* countsJson(binned: CountsArray, pieceChars = 1 << 16): Generator<string> {
  const { counts, sequences, bins, neurons } = binned;
  let piece = '[';
  let cell = 0;
  for (let s = 0; s < sequences; s++) {
    piece += s === 0 ? '[' : ',[';
    for (let t = 0; t < bins; t++) {
      piece += t === 0 ? '[' : ',[';
      for (let n = 0; n < neurons; n++) {
        piece += n === 0 ? `${counts[cell++]}` : `,${counts[cell++]}`;
        if (piece.length >= pieceChars) {
          yield piece;
          piece = '';
        }
      }
      piece += ']';
    }
    piece += ']';
  }
  yield `${piece}]\n`;
}

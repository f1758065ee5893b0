// Spike times in CSV to counts, for `poglm bin`. The file is read twice, in chunks, so that memory does not grow with
// it: pass 1 checks every row and finds the neuron count and the last spike; the size of the counts is checked
// before anything is allocated; pass 2 counts into one typed array. The rows are read by src/io/csv-spikes.ts (which
// a page shares, on bytes in memory); this file feeds it the file's lines. The two passes are a SpikeSource
// (openCsvSpikes), which src/io/binning.ts bins as it bins every other format: half-open bins [k w, (k+1) w) on
// edges k w computed in float64, so that a spike on an edge lands where numpy's histogram with the same edges puts it.
import { closeSync, openSync, readSync } from 'node:fs';
import { UsageError } from './files.js';
import { InterruptedExit } from './runner.js';
import { MAX_OUTPUT_CELLS } from './limits.js';
import { describeCountsArray } from './describe.js';
import { binSpikes, type SpikeSource } from '../io/binning.js';
import { LineSplitter, openCsvLines } from '../io/csv-spikes.js';

export { binIndex, binsBefore } from '../io/bin-edges.js';

export interface BinOptions {
  /** Bin width in seconds. */
  binWidth: number;
  /** Number of neurons (default: the highest index in the file + 1). */
  neurons?: number;
  /** Recording length in seconds; spikes at or after it are dropped (default: up to and including the last spike). */
  duration?: number;
  /** Bins per sequence (default: one sequence of all bins); a partial last sequence is dropped. */
  sequenceBins?: number;
}

export interface ReadOptions {
  /** Checked between chunks; when aborted, reading stops with an InterruptedExit. */
  signal?: AbortSignal;
  /** Bytes read at a time (tests make it small to split lines, CRLFs and UTF-8 characters across chunks). */
  chunkBytes?: number;
}

export interface BinnedCounts {
  /** Counts [sequence][bin][neuron], row-major: cell (s * bins + t) * neurons + n. */
  counts: Uint32Array | Float64Array;
  sequences: number;
  /** Bins per sequence. */
  bins: number;
  neurons: number;
  /** Spikes (data rows) in the file. */
  spikes: number;
  /** Spikes at or after --duration. */
  dropped: number;
  /** Spikes in the partial last sequence, which is not written. */
  cut: number;
}

const CHUNK_BYTES = 1 << 20;
/** The most cells a counts file may hold (src/cli/limits.ts says why). */
export const MAX_CELLS = MAX_OUTPUT_CELLS;

/** `poglm bin` reports a bad row as a usage error (exit 2), naming file:line. */
const usageError = (message: string): Error => new UsageError(message);

/** Reads spike times (rows "neuron,time" in seconds) from `path` and counts them in bins. */
export async function binSpikeFile(path: string, options: BinOptions, read: ReadOptions = {}): Promise<BinnedCounts> {
  checkOptions(options);
  const source = await openCsvSpikes(path, { neurons: options.neurons }, read);
  const binned = await binSpikes(source, {
    binWidth: options.binWidth,
    timeScale: 1,
    binUnit: 's',
    sequences: { align: 'recording', duration: options.duration, sequenceBins: options.sequenceBins },
    maxCells: MAX_CELLS,
    error: (message) => new UsageError(message),
  });
  const { counts, sequences, bins, neurons, spikes, dropped, cut } = binned;
  return { counts, sequences, bins, neurons, spikes, dropped, cut };
}

/** The options as the library takes them (bin.ts has checked the flags' text); a --neurons too large to count is left to the size check. */
function checkOptions(options: BinOptions): void {
  const { binWidth, neurons, duration, sequenceBins } = options;
  if (!(binWidth > 0) || !Number.isFinite(binWidth)) throw new UsageError(`--bin-width must be a positive number of seconds, got ${binWidth}`);
  if (neurons !== undefined && !(Number.isInteger(neurons) && neurons >= 1)) throw new UsageError(`--neurons must be an integer of at least 1, got ${neurons}`);
  if (duration !== undefined && !(duration > 0 && Number.isFinite(duration))) throw new UsageError(`--duration must be a positive number of seconds, got ${duration}`);
  if (sequenceBins !== undefined && !(Number.isInteger(sequenceBins) && sequenceBins >= 1)) {
    throw new UsageError(`--sequence-bins must be an integer of at least 1, got ${sequenceBins}`);
  }
}

// ---- Lines ----

/**
 * Calls `onLine` with each line of the file and its number, reading `chunkBytes` at a time (LineSplitter puts lines,
 * CRLFs and UTF-8 characters split across chunks back together; the decoder drops a UTF-8 byte order mark).
 * Given a signal, it yields to the event loop between chunks, so that a Ctrl-C is delivered, and stops once it is aborted.
 */
async function forEachLine(path: string, read: ReadOptions, onLine: (line: string, number: number) => void): Promise<void> {
  const descriptor = openSpikeFile(path);
  try {
    const buffer = Buffer.allocUnsafe(read.chunkBytes ?? CHUNK_BYTES);
    // Not fatal: a byte that is not UTF-8 becomes U+FFFD, and the row that holds it is refused with its line number.
    const decoder = new TextDecoder('utf-8');
    const lines = new LineSplitter(path, onLine, usageError);
    for (;;) {
      await checkInterrupt(read.signal);
      const bytes = readChunk(descriptor, buffer, path);
      lines.push(bytes === 0 ? decoder.decode() : decoder.decode(buffer.subarray(0, bytes), { stream: true }));
      if (bytes === 0) break;
    }
    lines.end();
  } finally {
    closeSync(descriptor);
  }
}

function openSpikeFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (error) {
    throw new UsageError(`cannot read --spikes file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function readChunk(descriptor: number, buffer: Buffer, path: string): number {
  try {
    return readSync(descriptor, buffer, 0, buffer.length, null);
  } catch (error) {
    throw new UsageError(`cannot read --spikes file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

async function checkInterrupt(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  // Reading is synchronous: without this turn of the event loop, a Ctrl-C would wait until the whole file was read.
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal.aborted) throw new InterruptedExit('interrupted: nothing was written');
}

// ---- The two passes as a SpikeSource ----

/**
 * A CSV file of spike times as a SpikeSource (src/io/csv-spikes.ts): pass 1 checks every row and finds the extent;
 * forEachSpike is pass 2, which reads the file again and refuses it if it changed meanwhile.
 */
export function openCsvSpikes(path: string, options: { neurons?: number }, read: ReadOptions = {}): Promise<SpikeSource> {
  return openCsvLines(path, (onLine) => forEachLine(path, read, onLine), options, usageError);
}

// ---- Output ----

/** "S sequences x T bins x N neurons; mean count per bin by neuron: ...; what was left out", one line. */
export function describeBinned(binned: BinnedCounts, duration?: number): string {
  return [describeCountsArray(binned), ...describeLeftOut(binned, duration)].join('; ');
}

/** What binning left out, as clauses: spikes at or after --duration, spikes in the partial last sequence. */
export function describeLeftOut(binned: Pick<BinnedCounts, 'spikes' | 'dropped' | 'cut'>, duration?: number): string[] {
  const parts: string[] = [];
  if (binned.dropped > 0) parts.push(`${binned.dropped} of ${binned.spikes} spikes at or after --duration${duration === undefined ? '' : ` ${duration} s`} dropped`);
  if (binned.cut > 0) parts.push(`${binned.cut} spikes in the partial last sequence dropped`);
  return parts;
}

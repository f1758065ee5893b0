// Spike times in CSV to counts, for `poglm bin`. The file is read twice, in chunks, so that memory does not grow with
// it: pass 1 checks every row and finds the neuron count and the last spike; the size of the counts is checked
// before anything is allocated; pass 2 counts into one typed array. The two passes are a SpikeSource
// (openCsvSpikes), which src/io/binning.ts bins as it bins every other format: half-open bins [k w, (k+1) w) on
// edges k w computed in float64, so that a spike on an edge lands where numpy's histogram with the same edges puts it.
import { closeSync, openSync, readSync } from 'node:fs';
import { UsageError } from './files.js';
import { InterruptedExit } from './runner.js';
import { MAX_OUTPUT_CELLS } from './limits.js';
import { describeCountsArray } from './describe.js';
import { binSpikes, type SpikeSource } from '../io/binning.js';

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
/** A line this long is not a row of "neuron,time": refusing it keeps a file without line breaks from filling memory. */
const MAX_LINE_CHARS = 1 << 16;
/** The most cells a counts file may hold (src/cli/limits.ts says why). */
export const MAX_CELLS = MAX_OUTPUT_CELLS;

const DELIMITERS = [',', '\t', ';'] as const;
const DELIMITER_NAMES: Record<string, string> = { ',': 'comma', '\t': 'tab', ';': 'semicolon' };
/** Plain decimal digits: no sign, point, exponent, hex or spaces, which Number() would also take. */
const NEURON = /^\d+$/;
/** A decimal number with an optional exponent: no hex, Infinity or NaN. */
const TIME = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
/** A header field: a name, not a number. */
const NAME = /^[A-Za-z_][\w .()[\]/-]*$/;
const NEURON_COLUMNS = new Set(['neuron', 'neurons', 'neuron_id', 'unit', 'units', 'unit_id', 'cluster', 'clusters', 'cluster_id', 'id', 'channel', 'cell', 'cell_id']);
const TIME_COLUMNS = new Set(['time', 'times', 't', 'spike_time', 'spike_times', 'spiketime', 'spiketimes', 'timestamp', 'timestamps', 'seconds']);
const SECONDS = new Set(['s', 'sec', 'secs', 'second', 'seconds']);

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
 * Calls `onLine` with each line of the file and its number, reading `chunkBytes` at a time. Lines end in LF, CRLF or
 * CR; a CRLF or a UTF-8 character split across two chunks is put back together; a UTF-8 byte order mark is dropped.
 * Given a signal, it yields to the event loop between chunks, so that a Ctrl-C is delivered, and stops once it is aborted.
 */
async function forEachLine(path: string, read: ReadOptions, onLine: (line: string, number: number) => void): Promise<void> {
  const descriptor = openSpikeFile(path);
  try {
    const buffer = Buffer.allocUnsafe(read.chunkBytes ?? CHUNK_BYTES);
    // Not fatal: a byte that is not UTF-8 becomes U+FFFD, and the row that holds it is refused with its line number.
    const decoder = new TextDecoder('utf-8');
    let partial = ''; // the start of a line that the chunks so far have not ended
    let number = 1;
    let afterCarriageReturn = false; // the last chunk ended in CR: an LF starting this one belongs to it (CRLF)
    for (;;) {
      await checkInterrupt(read.signal);
      const bytes = readChunk(descriptor, buffer, path);
      const text = bytes === 0 ? decoder.decode() : decoder.decode(buffer.subarray(0, bytes), { stream: true });
      let start = afterCarriageReturn && text.charCodeAt(0) === 10 ? 1 : 0;
      if (text.length > 0) afterCarriageReturn = false;
      for (let i = start; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code !== 10 && code !== 13) continue;
        onLine(partial === '' ? text.slice(start, i) : partial + text.slice(start, i), number++);
        partial = '';
        if (code === 13) {
          if (i + 1 === text.length) afterCarriageReturn = true;
          else if (text.charCodeAt(i + 1) === 10) i++;
        }
        start = i + 1;
      }
      partial += text.slice(start);
      if (partial.length > MAX_LINE_CHARS) {
        throw new UsageError(`${path}:${number}: a line of more than ${MAX_LINE_CHARS} characters is not a row "neuron,time"; is this a CSV of spike times?`);
      }
      if (bytes === 0) break;
    }
    if (partial !== '') onLine(partial, number);
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

// ---- Rows ----

interface RowFormat {
  delimiter: string;
  /** 0 when rows are "neuron,time", 1 when a header put the time first. */
  neuronColumn: number;
}

/**
 * Reads rows one line at a time. The first row that is not blank or a comment sets the delimiter, and is a header
 * when every field is a name; its names give the order of the columns. After it every row must be exactly a neuron
 * index and a time.
 */
class RowReader {
  neuron = 0;
  time = 0;
  private format: RowFormat | undefined;

  constructor(private readonly path: string) {}

  /** True with `neuron` and `time` set for a spike; false for a blank line, a comment or the header. */
  read(line: string, number: number): boolean {
    const row = line.trim();
    if (row === '' || row.charCodeAt(0) === 35 /* # */) return false;
    if (this.format === undefined) {
      const { format, header } = readFormat(row, this.where(number));
      this.format = format;
      if (header) return false;
    }
    const { delimiter, neuronColumn } = this.format;
    const cut = row.indexOf(delimiter);
    if (cut < 0 || row.indexOf(delimiter, cut + 1) >= 0) {
      const fields = cut < 0 ? 1 : row.split(delimiter).length;
      const order = neuronColumn === 0 ? `neuron${delimiter}time` : `time${delimiter}neuron`;
      throw new UsageError(`${this.where(number)}: expected 2 fields "${order}" separated by a ${DELIMITER_NAMES[delimiter]}, got ${fields}: "${clip(row)}"`);
    }
    const first = row.slice(0, cut).trim();
    const second = row.slice(cut + 1).trim();
    const neuron = readNeuron(neuronColumn === 0 ? first : second);
    const time = readTime(neuronColumn === 0 ? second : first);
    if (typeof neuron === 'string') throw new UsageError(`${this.where(number)}: ${neuron}`);
    if (typeof time === 'string') throw new UsageError(`${this.where(number)}: ${time}${timeHint(neuronColumn === 0 ? second : first, delimiter)}`);
    this.neuron = neuron;
    this.time = time;
    return true;
  }

  /** "file:line", built only for a message: building it for every row would be most of the time spent reading. */
  private where(number: number): string {
    return `${this.path}:${number}`;
  }
}

function readFormat(row: string, where: string): { format: RowFormat; header: boolean } {
  const found = DELIMITERS.filter((delimiter) => row.includes(delimiter));
  if (found.length === 0) {
    throw new UsageError(`${where}: expected a neuron index and a time in seconds separated by a comma, tab or semicolon, got "${clip(row)}"`);
  }
  if (found.length > 1) {
    throw new UsageError(`${where}: the row "${clip(row)}" mixes ${found.map((d) => `${DELIMITER_NAMES[d]}s`).join(' and ')}: separate the fields with one of them (and write decimals with a point)`);
  }
  const delimiter = found[0];
  const fields = row.split(delimiter).map((field) => unquote(field.trim()));
  const header = fields.every((field) => NAME.test(field));
  return { format: { delimiter, neuronColumn: header ? neuronColumnOf(fields, where) : 0 }, header };
}

/** Which column of a header names the neurons; the other must name the times, in seconds. */
function neuronColumnOf(names: string[], where: string): number {
  const kinds = names.map(columnKind);
  const unit = kinds.findIndex((kind) => kind === 'time-not-seconds');
  if (unit >= 0) throw new UsageError(`${where}: the column "${names[unit]}" holds times that are not in seconds: convert them to seconds (poglm bin reads seconds)`);
  if (names.length !== 2 || !kinds.includes('neuron') || !kinds.includes('time')) {
    throw new UsageError(
      `${where}: the header "${clip(names.join(','))}" must name two columns, a neuron index (neuron, unit, cluster, id or channel) and a time in seconds (time, t, spike_time, timestamp or seconds), in either order`,
    );
  }
  return kinds.indexOf('neuron');
}

/** What a header name says a column holds: "Neuron", "unit_id", "spike_time", "time (s)", "t_ms"... */
function columnKind(name: string): 'neuron' | 'time' | 'time-not-seconds' | undefined {
  const lower = name.toLowerCase();
  const unit = /(?:\s*[([]\s*([a-z]+)\s*[)\]]|_(s|sec|ms|msec|us|usec))$/.exec(lower);
  const base = (unit ? lower.slice(0, unit.index) : lower).replace(/[\s.-]+/g, '_');
  if (NEURON_COLUMNS.has(base) && !unit) return 'neuron';
  if (!TIME_COLUMNS.has(base)) return undefined;
  const unitName = unit?.[1] ?? unit?.[2];
  return unitName === undefined || SECONDS.has(unitName) ? 'time' : 'time-not-seconds';
}

// The two readers below return a number, or what is wrong with the field (the caller adds where), so that the
// common case builds no strings.

function readNeuron(field: string): number | string {
  if (field === '') return 'the neuron field is empty: every row needs a neuron index and a time';
  if (!NEURON.test(field)) return `neuron "${clip(field)}" must be a non-negative integer index (plain digits, like 0 or 12)`;
  const neuron = Number(field);
  return Number.isSafeInteger(neuron) ? neuron : `neuron "${clip(field)}" is too large to be an index`;
}

function readTime(field: string): number | string {
  if (field === '') return 'the time field is empty: every row needs a neuron index and a time';
  if (!TIME.test(field)) return `time "${clip(field)}" must be a non-negative number of seconds`;
  const time = Number(field) + 0; // + 0 turns -0 into 0
  if (time < 0) return `time "${clip(field)}" must be a non-negative number of seconds: times count from the start of the recording`;
  return Number.isFinite(time) ? time : `time "${clip(field)}" is too large`;
}

/** How to write a time that is not a number: with a point, where a decimal comma was taken for one. */
function timeHint(field: string, delimiter: string): string {
  if (field === '' || TIME.test(field)) return '';
  return delimiter !== ',' && /^\d+,\d+$/.test(field) ? ' (write decimals with a point)' : ' (a decimal like 0.25 or 2.5e-3)';
}

function unquote(field: string): string {
  return field.length >= 2 && field.startsWith('"') && field.endsWith('"') ? field.slice(1, -1).trim() : field;
}

/** A field or row short enough for a message, its control characters (a binary file's bytes) written as \xNN. */
function clip(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return shown.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (character) => `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

// ---- Pass 1: check every row, find the extent ----

interface SpikeScan {
  spikes: number;
  /** Highest neuron index (-1 without spikes) and the line it is on. */
  highestNeuron: number;
  highestNeuronLine: number;
  /** Last spike time (-1 without spikes) and the line it is on. */
  lastTime: number;
  lastTimeLine: number;
}

async function scanSpikes(path: string, options: { neurons?: number }, read: ReadOptions): Promise<SpikeScan> {
  const rows = new RowReader(path);
  const scan: SpikeScan = { spikes: 0, highestNeuron: -1, highestNeuronLine: 0, lastTime: -1, lastTimeLine: 0 };
  await forEachLine(path, read, (line, number) => {
    if (!rows.read(line, number)) return;
    scan.spikes++;
    if (options.neurons !== undefined && rows.neuron >= options.neurons) {
      throw new UsageError(
        `${path}:${number}: neuron ${rows.neuron} is not below --neurons ${options.neurons} (indices run from 0): raise --neurons to at least ${rows.neuron + 1}, or leave it out to count the neurons in the file`,
      );
    }
    if (rows.neuron > scan.highestNeuron) [scan.highestNeuron, scan.highestNeuronLine] = [rows.neuron, number];
    if (rows.time > scan.lastTime) [scan.lastTime, scan.lastTimeLine] = [rows.time, number];
  });
  return scan;
}

// ---- The two passes as a SpikeSource ----

/**
 * A CSV file of spike times as a SpikeSource: pass 1 (here) checks every row and finds the extent; forEachSpike is
 * pass 2, which reads the file again and refuses it if it changed meanwhile. Units are the neuron indices 0 to
 * --neurons - 1 (default: the highest index + 1), silent ones included.
 */
export async function openCsvSpikes(path: string, options: { neurons?: number }, read: ReadOptions = {}): Promise<SpikeSource> {
  const scan = await scanSpikes(path, options, read);
  const unitCount = options.neurons ?? scan.highestNeuron + 1;
  return {
    where: path,
    unitCount,
    unitId: (index) => index,
    findUnit: (token) => (NEURON.test(token) && Number(token) < unitCount ? Number(token) : -1),
    spikes: scan.spikes,
    lastTime: scan.lastTime,
    lastTimeAt: `at ${path}:${scan.lastTimeLine}`,
    noUnits: `${path} holds no spikes and no --neurons was given: nothing to bin`,
    noSpikesFix: '--duration (and --neurons)',
    fewerUnits: (neurons) =>
      // --neurons cannot go below the highest index + 1: then the indices themselves must be renumbered.
      options.neurons === undefined || options.neurons === scan.highestNeuron + 1
        ? `number the neurons from 0 without gaps (--neurons is ${neurons} because the highest index is ${scan.highestNeuron}, at ${path}:${scan.highestNeuronLine})`
        : `lower --neurons (now ${neurons}${scan.spikes > 0 ? `; the highest index in the file is ${scan.highestNeuron}` : ''})`,
    forEachSpike: (visit) => countRows(path, read, unitCount, scan.spikes, visit),
  };
}

/** Pass 2: every spike to `visit`; the file must hold the rows pass 1 found. */
async function countRows(path: string, read: ReadOptions, unitCount: number, scanned: number, visit: (unit: number, time: number) => void): Promise<void> {
  const rows = new RowReader(path);
  let spikes = 0;
  await forEachLine(path, read, (line, number) => {
    if (!rows.read(line, number)) return;
    spikes++;
    if (rows.neuron >= unitCount) throw new UsageError(`${path}:${number}: neuron ${rows.neuron} appeared while the file was read again: it changed while it was read`);
    visit(rows.neuron, rows.time);
  });
  if (spikes !== scanned) {
    throw new UsageError(`${path} changed while it was read (${scanned} spikes, then ${spikes}): bin a file that is not being written, and not a pipe (it is read twice)`);
  }
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

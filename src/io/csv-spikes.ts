// Spike times in CSV, rows "neuron,time" in seconds (comma, tab or semicolon separated; an optional header names the
// columns in either order), read as lines in two passes: pass 1 checks every row and finds the neuron count and the
// last spike, pass 2 visits every spike. The lines come from anywhere: a file streamed in chunks (src/cli/spikes.ts)
// or bytes held in memory (csvLinesOfBytes, for a page), and LineSplitter puts lines back together across chunks.
// Every problem is an error made by the caller's `fail` (the CLI's UsageError, or a DataError), with "file:line".
import type { SpikeSource } from './binning.js';

/** Makes the error to throw from a message. */
export type Fail = (message: string) => Error;

/** One pass over the lines of a file: `onLine` with each line and its number, from 1. */
export type LinePass = (onLine: (line: string, number: number) => void) => Promise<void>;

/** A line this long is not a row of "neuron,time": refusing it keeps a file without line breaks from filling memory. */
const MAX_LINE_CHARS = 1 << 16;
/** Bytes decoded at a time from memory, so that a large file is never one string. */
const CHUNK_BYTES = 1 << 20;

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

// ---- Lines ----

/**
 * Text in chunks to numbered lines. Lines end in LF, CRLF or CR; a CRLF split across two chunks is one line end.
 * (UTF-8 characters split across chunks are the decoder's: TextDecoder with `stream`.)
 */
export class LineSplitter {
  /** The start of a line that the chunks so far have not ended. */
  private partial = '';
  private number = 1;
  /** The last chunk ended in CR: an LF starting the next one belongs to it (CRLF). */
  private afterCarriageReturn = false;

  constructor(
    private readonly where: string,
    private readonly onLine: (line: string, number: number) => void,
    private readonly fail: Fail,
  ) {}

  push(text: string): void {
    let start = this.afterCarriageReturn && text.charCodeAt(0) === 10 ? 1 : 0;
    if (text.length > 0) this.afterCarriageReturn = false;
    for (let i = start; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code !== 10 && code !== 13) continue;
      this.onLine(this.partial === '' ? text.slice(start, i) : this.partial + text.slice(start, i), this.number++);
      this.partial = '';
      if (code === 13) {
        if (i + 1 === text.length) this.afterCarriageReturn = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.partial += text.slice(start);
    if (this.partial.length > MAX_LINE_CHARS) {
      throw this.fail(`${this.where}:${this.number}: a line of more than ${MAX_LINE_CHARS} characters is not a row "neuron,time"; is this a CSV of spike times?`);
    }
  }

  /** The last line, when the text does not end in a line break. */
  end(): void {
    if (this.partial !== '') this.onLine(this.partial, this.number);
  }
}

/**
 * The lines of a file held in memory, decoded as UTF-8 a chunk at a time. Not fatal: a byte that is not UTF-8
 * becomes U+FFFD, and the row that holds it is refused with its line number; a byte order mark is dropped.
 */
export function csvLinesOfBytes(bytes: Uint8Array, where: string, fail: Fail): LinePass {
  return async (onLine) => {
    const decoder = new TextDecoder('utf-8');
    const lines = new LineSplitter(where, onLine, fail);
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) lines.push(decoder.decode(bytes.subarray(at, at + CHUNK_BYTES), { stream: true }));
    lines.push(decoder.decode());
    lines.end();
  };
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

  constructor(
    private readonly where: string,
    private readonly fail: Fail,
  ) {}

  /** True with `neuron` and `time` set for a spike; false for a blank line, a comment or the header. */
  read(line: string, number: number): boolean {
    const row = line.trim();
    if (row === '' || row.charCodeAt(0) === 35 /* # */) return false;
    if (this.format === undefined) {
      const { format, header } = readFormat(row, this.at(number), this.fail);
      this.format = format;
      if (header) return false;
    }
    const { delimiter, neuronColumn } = this.format;
    const cut = row.indexOf(delimiter);
    if (cut < 0 || row.indexOf(delimiter, cut + 1) >= 0) {
      const fields = cut < 0 ? 1 : row.split(delimiter).length;
      const order = neuronColumn === 0 ? `neuron${delimiter}time` : `time${delimiter}neuron`;
      throw this.fail(`${this.at(number)}: expected 2 fields "${order}" separated by a ${DELIMITER_NAMES[delimiter]}, got ${fields}: "${clip(row)}"`);
    }
    const first = row.slice(0, cut).trim();
    const second = row.slice(cut + 1).trim();
    const neuron = readNeuron(neuronColumn === 0 ? first : second);
    const time = readTime(neuronColumn === 0 ? second : first);
    if (typeof neuron === 'string') throw this.fail(`${this.at(number)}: ${neuron}`);
    if (typeof time === 'string') throw this.fail(`${this.at(number)}: ${time}${timeHint(neuronColumn === 0 ? second : first, delimiter)}`);
    this.neuron = neuron;
    this.time = time;
    return true;
  }

  /** "file:line", built only for a message: building it for every row would be most of the time spent reading. */
  private at(number: number): string {
    return `${this.where}:${number}`;
  }
}

function readFormat(row: string, where: string, fail: Fail): { format: RowFormat; header: boolean } {
  const found = DELIMITERS.filter((delimiter) => row.includes(delimiter));
  if (found.length === 0) {
    throw fail(`${where}: expected a neuron index and a time in seconds separated by a comma, tab or semicolon, got "${clip(row)}"`);
  }
  if (found.length > 1) {
    throw fail(`${where}: the row "${clip(row)}" mixes ${found.map((d) => `${DELIMITER_NAMES[d]}s`).join(' and ')}: separate the fields with one of them (and write decimals with a point)`);
  }
  const delimiter = found[0];
  const fields = row.split(delimiter).map((field) => unquote(field.trim()));
  const header = fields.every((field) => NAME.test(field));
  return { format: { delimiter, neuronColumn: header ? neuronColumnOf(fields, where, fail) : 0 }, header };
}

/** Which column of a header names the neurons; the other must name the times, in seconds. */
function neuronColumnOf(names: string[], where: string, fail: Fail): number {
  const kinds = names.map(columnKind);
  const unit = kinds.findIndex((kind) => kind === 'time-not-seconds');
  if (unit >= 0) throw fail(`${where}: the column "${names[unit]}" holds times that are not in seconds: convert them to seconds (poglm bin reads seconds)`);
  if (names.length !== 2 || !kinds.includes('neuron') || !kinds.includes('time')) {
    throw fail(
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

async function scanSpikes(where: string, eachLine: LinePass, options: { neurons?: number }, fail: Fail): Promise<SpikeScan> {
  const rows = new RowReader(where, fail);
  const scan: SpikeScan = { spikes: 0, highestNeuron: -1, highestNeuronLine: 0, lastTime: -1, lastTimeLine: 0 };
  await eachLine((line, number) => {
    if (!rows.read(line, number)) return;
    scan.spikes++;
    if (options.neurons !== undefined && rows.neuron >= options.neurons) {
      throw fail(
        `${where}:${number}: neuron ${rows.neuron} is not below --neurons ${options.neurons} (indices run from 0): raise --neurons to at least ${rows.neuron + 1}, or leave it out to count the neurons in the file`,
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
 * pass 2, which reads the lines again and refuses them if they changed meanwhile. Units are the neuron indices 0 to
 * --neurons - 1 (default: the highest index + 1), silent ones included. `where` names the file in messages
 * ("spikes.csv", then "spikes.csv:12" for a row); every problem is `fail(message)`.
 */
export async function openCsvLines(where: string, eachLine: LinePass, options: { neurons?: number }, fail: Fail): Promise<SpikeSource> {
  const scan = await scanSpikes(where, eachLine, options, fail);
  const unitCount = options.neurons ?? scan.highestNeuron + 1;
  return {
    where,
    unitCount,
    unitId: (index) => index,
    findUnit: (token) => (NEURON.test(token) && Number(token) < unitCount ? Number(token) : -1),
    spikes: scan.spikes,
    lastTime: scan.lastTime,
    lastTimeAt: `at ${where}:${scan.lastTimeLine}`,
    noUnits: `${where} holds no spikes and no --neurons was given: nothing to bin`,
    noSpikesFix: '--duration (and --neurons)',
    fewerUnits: (neurons) =>
      // --neurons cannot go below the highest index + 1: then the indices themselves must be renumbered.
      options.neurons === undefined || options.neurons === scan.highestNeuron + 1
        ? `number the neurons from 0 without gaps (--neurons is ${neurons} because the highest index is ${scan.highestNeuron}, at ${where}:${scan.highestNeuronLine})`
        : `lower --neurons (now ${neurons}${scan.spikes > 0 ? `; the highest index in the file is ${scan.highestNeuron}` : ''})`,
    forEachSpike: (visit) => countRows(where, eachLine, unitCount, scan.spikes, visit, fail),
  };
}

/** Pass 2: every spike to `visit`; the lines must hold the rows pass 1 found. */
async function countRows(where: string, eachLine: LinePass, unitCount: number, scanned: number, visit: (unit: number, time: number) => void, fail: Fail): Promise<void> {
  const rows = new RowReader(where, fail);
  let spikes = 0;
  await eachLine((line, number) => {
    if (!rows.read(line, number)) return;
    spikes++;
    if (rows.neuron >= unitCount) throw fail(`${where}:${number}: neuron ${rows.neuron} appeared while the file was read again: it changed while it was read`);
    visit(rows.neuron, rows.time);
  });
  if (spikes !== scanned) {
    throw fail(`${where} changed while it was read (${scanned} spikes, then ${spikes}): bin a file that is not being written, and not a pipe (it is read twice)`);
  }
}

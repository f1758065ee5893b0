// poglm infer: the posterior of the hidden neurons of a fitted model on visible counts (src/api/infer.ts), written as
// JSON {"means": [sequence][bin][hidden], "samples"?: [sequence][sample][bin][hidden]} and, with --npy, as NumPy
// .npy files beside it (float64, written here: the format is a short header and the raw little-endian values).
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { inferHiddenArrays, type HiddenPosteriorArrays } from '../api/infer.js';
import { validateCounts } from '../model/data.js';
import { UsageError, writeAtomically } from './files.js';
import { countsInput, fittedModelInput, flagInput, integerInput, outputFileInput, checkWritable, type CommandInputs, type InputValues } from './inputs.js';
import { checkBasisFits, checkOutputCells } from './limits.js';
import { commandAction, type CliContext } from './runner.js';

const INFER_FLAGS = {
  samples: integerInput('--samples', { min: 1 }),
  keepSamples: integerInput('--keep-samples', { min: 0 }),
  seed: integerInput('--seed', { max: 2 ** 32 - 1 }),
  model: fittedModelInput('--model', 'infer with'),
  data: countsInput('--data', 'test'),
  out: outputFileInput('--out'),
  npy: flagInput('--npy'),
};

type InferValues = InputValues<typeof INFER_FLAGS>;

/** The .npy files written beside `out` (F.json -> F.means.npy, F.samples.npy). */
export function npyPaths(out: string): { means: string; samples: string } {
  const stem = out.replace(/\.json$/i, '');
  return { means: `${stem}.means.npy`, samples: `${stem}.samples.npy` };
}

const INFER_INPUTS: CommandInputs<typeof INFER_FLAGS> = {
  flags: INFER_FLAGS,
  relations: [
    ({ data, model }) => validateCounts(data.description, data.visible, { neurons: model.model.visible }),
    ({ data, model }) => checkBasisFits(data.description, data.visible[0].length, model.model.basis.length, 'longer sequences'),
    ({ samples, keepSamples }) => {
      if (keepSamples > samples) throw new UsageError(`--keep-samples ${keepSamples} is more than --samples ${samples}: keep at most the samples drawn`);
    },
    ({ data, model, keepSamples }) => {
      const [sequences, bins, hidden] = [data.visible.length, data.visible[0].length, model.model.hidden];
      const shape = `${sequences} sequences x ${bins} bins x ${hidden} hidden neurons`;
      checkOutputCells(sequences * bins * hidden, `the means, ${shape},`, 'infer fewer sequences at a time');
      checkOutputCells(sequences * keepSamples * bins * hidden, `the samples, ${shape} x --keep-samples ${keepSamples},`, 'keep fewer samples');
    },
    // The .npy paths are derived from --out, so the declared checks of written paths do not see them.
    ({ npy, out, keepSamples, model, data }) => {
      if (!npy) return;
      const paths = npyPaths(out);
      for (const path of keepSamples > 0 ? [paths.means, paths.samples] : [paths.means]) {
        checkWritable('--npy', path, false);
        for (const [flag, input] of [['--model', model.path], ['--data', data.path]]) {
          if (resolve(path) === resolve(input)) throw new UsageError(`--npy would write ${path}, which is the ${flag} file: choose another --out`);
        }
      }
    },
  ],
};

async function inferCommand(context: CliContext, options: InferValues): Promise<void> {
  const { model } = options.model;
  const posterior = await inferHiddenArrays(model, options.data.visible, {
    session: await context.session(),
    samples: options.samples,
    keepSamples: options.keepSamples,
    seed: options.seed,
    signal: context.signal,
  });
  writeAtomically(options.out, posteriorJson(posterior));
  const written = [options.out];
  if (options.npy) {
    const paths = npyPaths(options.out);
    writeNpy(paths.means, posterior.means, [posterior.sequences, posterior.bins, posterior.hidden]);
    written.push(paths.means);
    if (posterior.samples) {
      writeNpy(paths.samples, posterior.samples, [posterior.sequences, posterior.keptSamples, posterior.bins, posterior.hidden]);
      written.push(paths.samples);
    }
  }
  const averaged = model.variational!.scheme === 'FS' ? ` (FS: averaged over ${options.samples} samples)` : '';
  context.out(
    `wrote ${written.join(', ')}: q's Poisson mean of ${posterior.hidden} hidden neurons per bin${averaged} for ${posterior.sequences} sequences of ` +
      `${posterior.bins} bins` + (posterior.keptSamples > 0 ? `, and ${posterior.keptSamples} samples of their spikes per sequence` : ''),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Writers: JSON and .npy from the flat arrays, in pieces, so that a large output is never one string or one buffer.

/** A flat row-major array as JSON nested by `shape`, in pieces of about `pieceChars` characters. */
export function* nestedJson(values: ArrayLike<number>, shape: number[], pieceChars = 1 << 16): Generator<string> {
  let piece = '';
  let index = 0;
  function* level(depth: number): Generator<string> {
    piece += '[';
    for (let i = 0; i < shape[depth]; i++) {
      if (i > 0) piece += ',';
      if (depth === shape.length - 1) piece += String(values[index++]);
      else yield* level(depth + 1);
      if (piece.length >= pieceChars) {
        yield piece;
        piece = '';
      }
    }
    piece += ']';
  }
  yield* level(0);
  if (piece) yield piece;
}

function* posteriorJson(posterior: HiddenPosteriorArrays): Generator<string> {
  const { sequences, bins, hidden } = posterior;
  yield '{"means":';
  yield* nestedJson(posterior.means, [sequences, bins, hidden]);
  if (posterior.samples) {
    yield ',"samples":';
    yield* nestedJson(posterior.samples, [sequences, posterior.keptSamples, bins, hidden]);
  }
  yield '}\n';
}

/** The NPY 1.0 header of a C-ordered little-endian float64 array: magic, version, length, dict, padded to 64 bytes. */
export function npyHeader(shape: number[]): Uint8Array {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const prefix = 10; // \x93NUMPY, major, minor, header length (u16 LE)
  const length = Math.ceil((prefix + dict.length + 1) / 64) * 64 - prefix;
  if (length > 0xffff) throw new Error(`an NPY 1.0 header holds at most 65,535 bytes, this one needs ${length}`);
  const bytes = new Uint8Array(prefix + length);
  bytes.set([0x93, ...Buffer.from('NUMPY', 'latin1'), 1, 0, length & 0xff, length >> 8]);
  bytes.set(Buffer.from(dict.padEnd(length - 1, ' ') + '\n', 'latin1'), prefix);
  return bytes;
}

/** The header, then the values as little-endian float64, in pieces of `pieceValues`. */
export function* npyFloat64(values: ArrayLike<number>, shape: number[], pieceValues = 1 << 16): Generator<Uint8Array> {
  const count = shape.reduce((product, extent) => product * extent, 1);
  if (count !== values.length) throw new Error(`an array of shape (${shape.join(', ')}) holds ${count} values, not ${values.length}`);
  yield npyHeader(shape);
  for (let start = 0; start < count; start += pieceValues) {
    const size = Math.min(pieceValues, count - start);
    const view = new DataView(new ArrayBuffer(size * 8));
    for (let i = 0; i < size; i++) view.setFloat64(i * 8, values[start + i], true);
    yield new Uint8Array(view.buffer);
  }
}

function writeNpy(path: string, values: ArrayLike<number>, shape: number[]): void {
  writeAtomically(path, npyFloat64(values, shape));
}

export function registerInferCommand(program: Command): void {
  program
    .command('infer')
    .description("the posterior of the hidden neurons: q's mean per bin (Poisson rates) and samples of their spikes, for a fitted model")
    .requiredOption('--model <model.json>', 'a fitted model (poglm fit)')
    .requiredOption('--data <file.json>', 'visible counts [sequence][time][visible], or a `poglm synth` file (its test part)')
    .requiredOption('--out <file.json>', 'output: {"means": [sequence][bin][hidden], "samples"?: [sequence][sample][bin][hidden]}')
    .option('--samples <m>', 'Monte Carlo samples (FS means average over them; F and FB means do not depend on them)', '100')
    .option('--keep-samples <k>', 'samples of the hidden spikes to write per sequence', '0')
    .option('--seed <k>', 'noise stream', '0')
    .option('--npy', 'also write <out>.means.npy [S, T, H] and <out>.samples.npy [S, K, T, H] (float64), <out> without .json')
    .action(commandAction(INFER_INPUTS, inferCommand));
}

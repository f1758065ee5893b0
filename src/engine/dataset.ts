// Visible spike counts on the device: the counts, their causal and anti-causal convolutions with the basis
// (computed once by the convolve kernels), and each sequence's sum of ln x!. Rows are sequences; several datasets
// of the same shape (trials) are stacked as consecutive blocks of rows, split into shards where one binding cannot
// hold them all.
import { GpuValidationError } from '../gpu/errors.js';
import { DataError, flattenCounts, sequenceLogFactorials, validateCounts } from '../model/data.js';
import { convolveProgram } from './programs.js';
import type { GpuSession } from './session.js';
import { packRegions, type Region } from './workspace.js';

export type DatasetRegion = 'counts' | 'conv' | 'backConv' | 'logFactorial';
export type DatasetRegions = Record<DatasetRegion, Region>;

/**
 * Consecutive rows laid out by datasetRegions: in one f32 device buffer, or (a dataset the device cannot hold) in host
 * memory, from which a job writes each chunk's rows to the device as it runs.
 */
export interface DatasetShard {
  buffer?: GPUBuffer;
  host?: Float32Array;
  firstRow: number;
  rows: number;
  regions: DatasetRegions;
}

/** Where a dataset's shards live: on the device, in host memory, or on the device unless it runs out of memory. */
export type DataPlacement = 'device' | 'host' | 'auto';

export interface UploadOptions {
  /** Bytes one shard may take (default: the device's binding limit). */
  maxShardBytes?: number;
  /** Default 'auto'. */
  placement?: DataPlacement;
  /** Keep the anti-causal convolution rx (default true; only the FB scheme needs it). */
  antiCausal?: boolean;
}

export interface DeviceDataset {
  rows: number;
  bins: number;
  visible: number;
  /** The rows, in order, in shards that each fit one binding; stages bind a lone device shard directly. */
  shards: DatasetShard[];
  /** Whether the shards live in host memory (jobs then write each chunk's rows to the device before it runs). */
  onHost: boolean;
  /** Whether the rows hold the anti-causal convolution rx (which only FB reads). */
  antiCausal: boolean;
  /** Per-row constants in float64, for host-side metrics. */
  logFactorials: Float64Array;
  /** Reads one region back (tests, diagnostics); counts come back unpacked, [row][bin][visible]. */
  read(region: DatasetRegion): Promise<Float32Array>;
  release(): void;
}

/** Convolves rows x [row][bin][channel] with `basis` on the GPU (both directions). */
export async function convolveOnDevice(
  session: GpuSession,
  spikes: GPUBuffer,
  shape: { rows: number; bins: number; channels: number },
  basis: GPUBuffer,
  basisLength: number,
  outputs: { causal?: GPUBuffer; antiCausal?: GPUBuffer },
): Promise<void> {
  const uniforms = { rows: shape.rows, bins: shape.bins, channels: shape.channels, basisLength };
  const count = shape.rows * shape.bins * shape.channels;
  const kernels = await Promise.all(
    (['causal', 'antiCausal'] as const)
      .filter((direction) => outputs[direction])
      .map((direction) =>
        session.runtime.bind(convolveProgram(direction), {
          buffers: { basis, spikes, convolved: outputs[direction]! },
          uniforms,
        }),
      ),
  );
  try {
    await session.runtime.submit('convolve', (pass) => kernels.forEach((kernel) => kernel.encode(pass, kernel.dispatchFor(count))), kernels.map((k) => k.program.name));
  } finally {
    kernels.forEach((kernel) => kernel.release());
  }
}

export function checkBasis(basis: number[], bins: number): void {
  if (!Array.isArray(basis) || basis.length === 0) throw new DataError('basis must be a non-empty array of weights psi[0..L-1]');
  basis.forEach((value, index) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new DataError(`basis[${index}] must be a finite number, got ${String(value)}`);
  });
  if (basis.length >= bins) {
    throw new DataError(
      `the basis has ${basis.length} lags but sequences have only ${bins} bins: use a shorter basis (L < T) or longer sequences`,
    );
  }
}

/**
 * The regions of a block of rows, region-major: the layout of a shard and of a job's staging buffer alike. Only the
 * FB scheme reads the anti-causal convolution; without it, that region is empty (a third less memory).
 */
export function datasetRegions(rows: number, bins: number, visible: number, antiCausal = true): { regions: DatasetRegions; total: number } {
  const cells = rows * bins * visible;
  return packRegions({ counts: rows * countWordsPerRow(bins, visible), conv: cells, backConv: antiCausal ? cells : 0, logFactorial: rows });
}

/** The largest spike count per bin the device stores: counts are packed two to a 32-bit word. */
const MAX_COUNT = 0xffff;

/** 32-bit words of one row's counts, two 16-bit counts a word (twin of countRowWords in shaders/counts.wgsl). */
export function countWordsPerRow(bins: number, visible: number): number {
  return Math.ceil((bins * visible) / 2);
}

/** Rows of counts packed two to a word, each row starting on a word; refuses a count over MAX_COUNT, naming it. */
function packCounts(rows: number[][][], name: string, firstRow = 0): Uint32Array {
  const bins = rows[0].length;
  const visible = rows[0][0].length;
  const perRow = countWordsPerRow(bins, visible);
  const words = new Uint32Array(rows.length * perRow);
  rows.forEach((sequence, r) => {
    let index = 0;
    for (let t = 0; t < bins; t++) {
      for (let v = 0; v < visible; v++, index++) {
        const count = sequence[t][v];
        if (count > MAX_COUNT) {
          throw new DataError(
            `${name}[${firstRow + r}][${t}][${v}] is ${count} spikes in one bin; counts are stored in 16 bits (at most ${MAX_COUNT} per bin): use narrower bins`,
          );
        }
        words[r * perRow + (index >> 1)] |= count << (16 * (index & 1));
      }
    }
  });
  return words;
}

/** Unpacks rows of packed counts into f32 [row][bin][visible]. */
function unpackCounts(words: Uint32Array, rows: number, bins: number, visible: number): Float32Array {
  const perRow = countWordsPerRow(bins, visible);
  const out = new Float32Array(rows * bins * visible);
  for (let r = 0; r < rows; r++) {
    for (let index = 0; index < bins * visible; index++) out[r * bins * visible + index] = (words[r * perRow + (index >> 1)] >>> (16 * (index & 1))) & 0xffff;
  }
  return out;
}

/** Rows of `bins` x `visible` that one shard of at most `bytes` can hold. */
export function rowsPerShard(bins: number, visible: number, bytes: number, antiCausal = true): number {
  const perRow = (countWordsPerRow(bins, visible) + (antiCausal ? 2 : 1) * bins * visible + 1) * 4;
  // Four regions, each padded to 16 bytes.
  const rows = Math.floor((bytes - 4 * 16) / perRow);
  if (rows < 1) {
    throw new DataError(
      `one sequence of ${bins} bins x ${visible} neurons needs ${perRow} bytes on the device, over the limit of ${bytes} per buffer: ` +
        'use shorter sequences (split each into several)',
    );
  }
  return rows;
}

/**
 * Uploads `datasets` (each [sequence][bin][visible], all of one shape) as consecutive rows. The rows go into as many
 * shards as the device's binding limit (or `maxShardBytes`) needs; a job binds a lone shard directly and copies the
 * rows of each chunk out of several into a staging buffer of its own. A dataset the device cannot hold (placement
 * 'host', or 'auto' when the device runs out of memory) is convolved on the device shard by shard and kept in host
 * memory.
 */
export async function uploadDataset(
  session: GpuSession,
  datasets: number[][][][],
  basis: number[],
  name = 'data',
  expect: { visible?: number; bins?: number } = {},
  options: UploadOptions = {},
): Promise<DeviceDataset> {
  if (datasets.length === 0) throw new Error(`${name}: no datasets given`);
  let shape = validateCounts(datasets.length === 1 ? name : `${name}[0]`, datasets[0], { neurons: expect.visible, bins: expect.bins });
  datasets.slice(1).forEach((dataset, index) => {
    const next = validateCounts(`${name}[${index + 1}]`, dataset, { neurons: shape.neurons, bins: shape.bins, binsFrom: `${name}[0]` });
    shape = { ...shape, sequences: shape.sequences + next.sequences };
  });
  checkBasis(basis, shape.bins);
  const all = datasets.flat();
  const context = session.context;
  const limit = Math.min(context.limits.maxStorageBufferBindingSize, context.limits.maxBufferSize, options.maxShardBytes ?? Infinity);
  const antiCausal = options.antiCausal ?? true;
  const perShard = rowsPerShard(shape.bins, shape.neurons, limit, antiCausal);
  const logFactorials = sequenceLogFactorials(all);
  const upload = async (onHost: boolean): Promise<DatasetShard[]> => {
    const shards: DatasetShard[] = [];
    try {
      for (let firstRow = 0; firstRow < all.length; firstRow += perShard) {
        const rows = all.slice(firstRow, firstRow + perShard);
        const label = all.length > perShard ? `${name}.shard${shards.length}` : name;
        const shard = await uploadShard(session, rows, basis, label, firstRow, logFactorials.subarray(firstRow, firstRow + rows.length), antiCausal, name);
        if (onHost) {
          shard.host = await context.readF32(shard.buffer!);
          context.release(shard.buffer);
          delete shard.buffer;
        }
        shards.push(shard);
      }
    } catch (error) {
      for (const shard of shards) context.release(shard.buffer);
      throw error;
    }
    return shards;
  };
  const placement = options.placement ?? 'auto';
  let onHost = placement === 'host';
  let shards: DatasetShard[];
  try {
    shards = await upload(onHost);
  } catch (error) {
    // The device cannot hold the data: keep it in host memory and stream each chunk's rows.
    if (placement !== 'auto' || !(error instanceof GpuValidationError) || !/out of memory|out-of-memory|OutOfMemory/i.test(error.message)) throw error;
    onHost = true;
    shards = await upload(true);
  }
  return {
    rows: all.length,
    bins: shape.bins,
    visible: shape.neurons,
    shards,
    onHost,
    antiCausal,
    logFactorials,
    async read(region) {
      const parts = await Promise.all(
        shards.map(async (shard) => {
          const { offset, count } = shard.regions[region];
          const raw = shard.host ? shard.host.slice(offset, offset + count) : await context.readF32(shard.buffer!, offset, count);
          return region === 'counts' ? unpackCounts(new Uint32Array(raw.buffer, raw.byteOffset, raw.length), shard.rows, shape.bins, shape.neurons) : raw;
        }),
      );
      const out = new Float32Array(parts.reduce((total, part) => total + part.length, 0));
      let at = 0;
      for (const part of parts) {
        out.set(part, at);
        at += part.length;
      }
      return out;
    },
    release: () => shards.forEach((shard) => context.release(shard.buffer)),
  };
}

/** One shard: its rows' counts, both convolutions (computed on the device) and sums of ln x!. */
async function uploadShard(
  session: GpuSession,
  rows: number[][][],
  basis: number[],
  name: string,
  firstRow: number,
  logFactorials: Float64Array,
  antiCausal: boolean,
  dataName: string,
): Promise<DatasetShard> {
  const context = session.context;
  const bins = rows[0].length;
  const visible = rows[0][0].length;
  const cells = rows.length * bins * visible;
  const { regions, total } = datasetRegions(rows.length, bins, visible, antiCausal);
  // Inside error scopes, so that a device out of memory is told apart (uploadDataset then keeps the data on the host).
  const buffer = await context.scoped(`allocating ${name}`, undefined, () => context.createStorage(`${name}.dataset`, total * 4));
  const counts = flattenCounts(rows);
  try {
    context.write(buffer, packCounts(rows, dataName, firstRow), regions.counts.offset * 4);
  } catch (error) {
    context.release(buffer);
    throw error;
  }
  context.write(buffer, Float32Array.from(logFactorials), regions.logFactorial.offset * 4);
  // The convolve kernels read and write whole buffers; their results are copied into the dataset's regions.
  const spikes = context.upload(`${name}.counts`, counts);
  const conv = context.createStorage(`${name}.conv`, cells * 4);
  const backConv = antiCausal ? context.createStorage(`${name}.backConv`, cells * 4) : undefined;
  const basisBuffer = context.upload(`${name}.basis`, Float32Array.from(basis));
  try {
    await convolveOnDevice(session, spikes, { rows: rows.length, bins, channels: visible }, basisBuffer, basis.length, {
      causal: conv,
      antiCausal: backConv,
    });
    const encoder = context.device.createCommandEncoder({ label: `${name}: convolutions into the dataset` });
    encoder.copyBufferToBuffer(conv, 0, buffer, regions.conv.offset * 4, cells * 4);
    if (backConv) encoder.copyBufferToBuffer(backConv, 0, buffer, regions.backConv.offset * 4, cells * 4);
    context.device.queue.submit([encoder.finish()]);
  } catch (error) {
    context.release(buffer);
    throw error;
  } finally {
    for (const temporary of [spikes, conv, backConv, basisBuffer]) context.release(temporary);
  }
  return { buffer, firstRow, rows: rows.length, regions };
}

// Visible spike counts on the device: the counts, their causal and anti-causal convolutions with the basis
// (computed once by the convolve kernels), and each sequence's sum of ln x!. Rows are sequences; several datasets
// of the same shape (trials) are stacked as consecutive blocks of rows.
import { DataError, flattenCounts, sequenceLogFactorials, validateCounts } from '../model/data.js';
import { convolveProgram } from './programs.js';
import type { GpuSession } from './session.js';
import { packRegions, type Region } from './workspace.js';

export interface DeviceDataset {
  rows: number;
  bins: number;
  visible: number;
  /** One f32 buffer holding the regions below; stages bind it as `dataset`. */
  buffer: GPUBuffer;
  regions: { counts: Region; conv: Region; backConv: Region; logFactorial: Region };
  /** Per-row constants in float64, for host-side metrics. */
  logFactorials: Float64Array;
  /** Reads one region back (tests, diagnostics). */
  read(region: 'counts' | 'conv' | 'backConv' | 'logFactorial'): Promise<Float32Array>;
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

/** Uploads `datasets` (each [sequence][bin][visible], all of one shape) as consecutive rows. */
export async function uploadDataset(
  session: GpuSession,
  datasets: number[][][][],
  basis: number[],
  name = 'data',
  expect: { visible?: number; bins?: number } = {},
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
  const rows = all.length;
  const cells = rows * shape.bins * shape.neurons;
  const { regions, total } = packRegions({ counts: cells, conv: cells, backConv: cells, logFactorial: rows });
  const logFactorials = sequenceLogFactorials(all);
  const buffer = context.createStorage(`${name}.dataset`, total * 4);
  const counts = flattenCounts(all);
  context.write(buffer, counts, regions.counts.offset * 4);
  context.write(buffer, Float32Array.from(logFactorials), regions.logFactorial.offset * 4);
  // The convolve kernels read and write whole buffers; their results are copied into the dataset's regions.
  const spikes = context.upload(`${name}.counts`, counts);
  const conv = context.createStorage(`${name}.conv`, cells * 4);
  const backConv = context.createStorage(`${name}.backConv`, cells * 4);
  const basisBuffer = context.upload(`${name}.basis`, Float32Array.from(basis));
  try {
    await convolveOnDevice(session, spikes, { rows, bins: shape.bins, channels: shape.neurons }, basisBuffer, basis.length, {
      causal: conv,
      antiCausal: backConv,
    });
    const encoder = context.device.createCommandEncoder({ label: `${name}: convolutions into the dataset` });
    encoder.copyBufferToBuffer(conv, 0, buffer, regions.conv.offset * 4, cells * 4);
    encoder.copyBufferToBuffer(backConv, 0, buffer, regions.backConv.offset * 4, cells * 4);
    context.device.queue.submit([encoder.finish()]);
  } catch (error) {
    context.release(buffer);
    throw error;
  } finally {
    for (const temporary of [spikes, conv, backConv, basisBuffer]) context.release(temporary);
  }
  return {
    rows,
    bins: shape.bins,
    visible: shape.neurons,
    buffer,
    regions,
    logFactorials,
    read: (region) => context.readF32(buffer, regions[region].offset, regions[region].count),
    release: () => context.release(buffer),
  };
}

// Simulation of many POGLMs at once on the GPU: B models (same N and basis) x S sequences of T bins each, one thread
// per (model, sequence). When the output outgrows a binding, the job runs in chunks of sequences (and models) that
// draw exactly what one job would, because the noise counter carries the global sequence index.
import { paramLayout } from '../model/params.js';
import type { GenerativeParams } from '../model/types.js';
import { NoisePurpose } from '../model/philox.js';
import { checkBasis } from './dataset.js';
import { simulateProgram } from './programs.js';
import type { GpuSession } from './session.js';

export interface SimulationRequest {
  /** One entry per model; all share N and the basis. */
  models: GenerativeParams[];
  basis: number[];
  sequences: number;
  bins: number;
  /** One seed per model (the noise stream), or one for all. */
  seeds: number[] | number;
  /** Largest output buffer per dispatch, in bytes; defaults to the device's binding limit. */
  maxChunkBytes?: number;
  /** Raced against every chunk: when aborted, the simulation rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface SimulationResult {
  /** spikes [model][sequence][bin][neuron], counts as f32. */
  spikes: Float32Array;
  models: number;
  sequences: number;
  bins: number;
  neurons: number;
  /** How many dispatches the job was split into to fit the device. */
  chunks: number;
}

function checkGenerative(model: GenerativeParams, neurons: number, index: number): void {
  const where = `models[${index}]`;
  if (!Array.isArray(model.bias) || model.bias.length !== neurons) {
    throw new Error(`${where}.bias must have ${neurons} entries (got ${Array.isArray(model.bias) ? model.bias.length : typeof model.bias})`);
  }
  if (!Array.isArray(model.weight) || model.weight.length !== neurons) {
    throw new Error(`${where}.weight must be ${neurons} x ${neurons}`);
  }
  model.weight.forEach((row, n) => {
    if (!Array.isArray(row) || row.length !== neurons) throw new Error(`${where}.weight[${n}] must have ${neurons} entries`);
    row.forEach((value, m) => {
      if (!Number.isFinite(value)) throw new Error(`${where}.weight[${n}][${m}] must be a finite number`);
    });
  });
  model.bias.forEach((value, n) => {
    if (!Number.isFinite(value)) throw new Error(`${where}.bias[${n}] must be a finite number`);
  });
}

export async function simulateOnDevice(session: GpuSession, request: SimulationRequest): Promise<SimulationResult> {
  const { models, basis, sequences, bins } = request;
  if (models.length === 0) throw new Error('simulate: give at least one model');
  const neurons = models[0].bias?.length ?? 0;
  if (neurons < 1) throw new Error('simulate: models[0].bias must list at least one neuron');
  models.forEach((model, index) => checkGenerative(model, neurons, index));
  if (!Number.isInteger(sequences) || sequences < 1) throw new Error(`sequences must be a positive integer, got ${sequences}`);
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`bins must be a positive integer, got ${bins}`);
  checkBasis(basis, bins);
  const seeds = typeof request.seeds === 'number' ? models.map(() => request.seeds as number) : request.seeds;
  if (seeds.length !== models.length) throw new Error(`seeds: give one per model (${models.length}), got ${seeds.length}`);
  seeds.forEach((seed, index) => {
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`seeds[${index}] must be an integer in [0, 2^32)`);
  });

  const context = session.context;
  const layout = paramLayout(neurons, 0, 'F');
  // Spikes and the convolved history (the kernel's per-thread scratch) take a buffer of this size each.
  const perSequence = bins * neurons * 4;
  const limit = Math.min(
    context.limits.maxStorageBufferBindingSize,
    context.limits.maxBufferSize,
    request.maxChunkBytes ?? Infinity,
  );
  if (perSequence > limit) {
    throw new Error(
      `one sequence of ${bins} bins x ${neurons} neurons needs ${perSequence} bytes, over the limit of ${limit} ` +
        `(${request.maxChunkBytes !== undefined && request.maxChunkBytes === limit ? 'maxChunkBytes' : "the device's buffer binding limit"}): ` +
        'simulate fewer bins per sequence or fewer neurons',
    );
  }
  const sequencesPerChunk = Math.max(1, Math.min(sequences, Math.floor(limit / perSequence)));
  const modelsPerChunk = Math.max(1, Math.min(models.length, Math.floor(limit / (perSequence * sequencesPerChunk))));
  const spikes = new Float32Array(models.length * sequences * bins * neurons);
  const basisBuffer = context.upload('simulate.basis', Float32Array.from(basis));
  let chunks = 0;
  try {
    const program = simulateProgram();
    for (let firstModel = 0; firstModel < models.length; firstModel += modelsPerChunk) {
      const chunkModels = models.slice(firstModel, firstModel + modelsPerChunk);
      const params = new Float32Array(chunkModels.length * layout.total);
      chunkModels.forEach((model, b) => {
        model.weight.forEach((row, n) => params.set(row, b * layout.total + layout.weightOffset + n * neurons));
        params.set(model.bias, b * layout.total + layout.biasOffset);
      });
      const modelParams = context.upload('simulate.params', params);
      const modelSeeds = context.upload('simulate.seeds', Uint32Array.from(seeds.slice(firstModel, firstModel + modelsPerChunk)));
      try {
        for (let firstSequence = 0; firstSequence < sequences; firstSequence += sequencesPerChunk) {
          const count = Math.min(sequencesPerChunk, sequences - firstSequence);
          const bytes = chunkModels.length * count * perSequence;
          const out = context.createStorage('simulate.spikes', bytes);
          const history = context.createStorage('simulate.history', bytes);
          try {
            const kernel = await session.runtime.bind(program, {
              buffers: { basis: basisBuffer, modelParams, modelSeeds, spikes: out, history },
              uniforms: {
                models: chunkModels.length,
                sequences: count,
                bins,
                neurons,
                basisLength: basis.length,
                paramCount: layout.total,
                weightOffset: layout.weightOffset,
                biasOffset: layout.biasOffset,
                sequenceOffset: firstSequence,
                purpose: NoisePurpose.simulate,
              },
            });
            let chunk: Float32Array;
            try {
              request.signal?.throwIfAborted();
              await session.runtime.submit('simulate', (pass) => kernel.encode(pass, kernel.dispatchFor(chunkModels.length * count)), [program.name]);
              await context.settle('simulating', request.signal);
              chunk = await context.readF32(out, 0, bytes / 4);
            } finally {
              kernel.release();
            }
            const block = count * bins * neurons;
            chunkModels.forEach((_, b) => {
              const target = ((firstModel + b) * sequences + firstSequence) * bins * neurons;
              spikes.set(chunk.subarray(b * block, (b + 1) * block), target);
            });
            chunks++;
          } finally {
            context.release(out);
            context.release(history);
          }
        }
      } finally {
        context.release(modelParams);
        context.release(modelSeeds);
      }
    }
  } finally {
    context.release(basisBuffer);
  }
  return { spikes, models: models.length, sequences, bins, neurons, chunks };
}

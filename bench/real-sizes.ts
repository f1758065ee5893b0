// `tsx bench/real-sizes.ts`: the shapes of real recordings that once did not fit one 128 MiB binding, fitted for one
// epoch through the public API on this machine's adapter: the job plan (jobs, chunks, shards) and the time per step.
//   256 visible + 16 hidden, 64 sequences x 1,000 bins, batch 8     (the dataset alone is 196 MB)
//   the same at the paper's batch 32                                (one minibatch's workspace is 347 MB)
//   1,024 visible + 8 hidden, 8 sequences x 500 bins, batch 8      (290 MB of workspace)
//   40 neurons over 600 s at 1 ms bins: 480 training sequences of 1,000 bins (230 MB of data)
// Each is one epoch over its whole dataset (so the datasets over one binding are really uploaded in shards). Prints a
// table and, with --json FILE, writes it. No timing is asserted anywhere.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fitMany } from '../src/api/fit.js';
import { GpuSession } from '../src/engine/session.js';
import { PhiloxStream } from '../src/model/philox.js';

interface Shape {
  name: string;
  visible: number;
  hidden: number;
  sequences: number;
  bins: number;
  batchSize: number;
}

export const REAL_SHAPES: Shape[] = [
  { name: '256+16, 64 x 1000, batch 8', visible: 256, hidden: 16, sequences: 64, bins: 1000, batchSize: 8 },
  { name: '256+16, 64 x 1000, batch 32', visible: 256, hidden: 16, sequences: 64, bins: 1000, batchSize: 32 },
  { name: '1024+8, 8 x 500, batch 8', visible: 1024, hidden: 8, sequences: 8, bins: 500, batchSize: 8 },
  { name: '40+2, 480 x 1000 (600 s at 1 ms)', visible: 40, hidden: 2, sequences: 480, bins: 1000, batchSize: 10 },
];

/** Poisson-ish sparse counts at `rate` spikes per bin, from a seeded stream. */
function counts(shape: Shape, rate: number): number[][][] {
  const stream = new PhiloxStream(shape.visible * 7 + shape.bins, 3);
  return Array.from({ length: shape.sequences }, () =>
    Array.from({ length: shape.bins }, () => Array.from({ length: shape.visible }, () => (stream.nextUniform() < rate ? 1 : 0))),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string' }, only: { type: 'string' } }, strict: true });
  const session = await GpuSession.open();
  const rows: Record<string, unknown>[] = [];
  try {
    console.log(`adapter: ${session.adapter}; binding limit ${session.context.limits.maxStorageBufferBindingSize} bytes`);
    for (const shape of REAL_SHAPES.filter((_, i) => !values.only || values.only.split(',').includes(String(i)))) {
      const train = counts(shape, 0.05);
      const notes: string[] = [];
      const started = performance.now();
      const [result] = await fitMany(
        [{ train, hidden: shape.hidden, scheme: 'FB', method: 'exponential', epochs: 1, batchSize: shape.batchSize, samples: 5, seed: 1 }],
        { session, onProgress: (progress) => progress.note && !notes.includes(progress.note) && notes.push(progress.note) },
      );
      const seconds = (performance.now() - started) / 1000;
      const row = {
        shape: shape.name,
        steps: result.steps,
        secondsPerStep: seconds / result.steps,
        seconds,
        dispatchesPerStep: result.dispatchesPerStep,
        elbo: result.elboHistory[0],
        plan: notes.join('; ') || 'one job, whole minibatches',
      };
      rows.push(row);
      console.log(`${row.shape}: ${row.steps} steps in ${seconds.toFixed(1)} s, ${row.secondsPerStep.toFixed(2)} s/step (upload included), ${row.dispatchesPerStep} dispatches/step, ELBO ${row.elbo.toFixed(1)}; ${row.plan}`);
    }
  } finally {
    session.destroy();
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ adapter: 'see log', rows }, null, 2));
}

await main();

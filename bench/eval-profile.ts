// Evaluation's cost per sample-bin against training's cost per instance-bin, at the synthetic size (V=3, H=2, T=100;
// 20 test sequences, M = 2,000 samples in one chunk; training: 10 sequences x 5 samples per step).
//   npx tsx bench/eval-profile.ts [--models 10,210] [--schemes FB,FS,F] [--samples 2000]
// Each evaluation stage (drive, evaluateSamples, accumulateEvidence) is encoded k times into one compute pass, like
// the per-stage profile of bench/run.ts; the training step is timed as bench/wgsl.ts times it (k steps, one buffer).
import { uploadDataset } from '../src/engine/dataset.js';
import { VariationalJob } from '../src/engine/job.js';
import { GpuSession } from '../src/engine/session.js';
import { POISSON } from '../src/engine/evaluation.js';
import { initialParams } from '../src/model/schedule.js';
import { paramLayout } from '../src/model/params.js';
import { exponentialBasis } from '../src/model/basis.js';
import { NoisePurpose } from '../src/model/philox.js';
import type { Scheme } from '../src/model/types.js';
import { poissonCounts, seededUniform } from './problems.js';
import { timeSteps } from './timing.js';
import { createStepJob } from './wgsl.js';

const argument = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const MODELS = argument('models', '10,210').split(',').map(Number);
const SCHEMES = argument('schemes', 'FB').split(',') as Scheme[];
const SAMPLES = Number(argument('samples', '2000'));
const SKIP_TRAINING = process.argv.includes('--no-training');
const VISIBLE = 3;
const HIDDEN = 2;
const BINS = 100;
const TEST_SEQUENCES = 20;
const TRAIN = { slots: 10, samples: 5 };

const session = await GpuSession.open();
console.log(`adapter: ${session.adapter}`);
const basis = exponentialBasis(5);
const test = poissonCounts(TEST_SEQUENCES, BINS, VISIBLE, 0.2, 7);
const dataset = await uploadDataset(session, [test], basis, 'eval-profile');
const fmt = (x: number) => x.toPrecision(3);

for (const scheme of SCHEMES) {
  for (const B of MODELS) {
    const layout = paramLayout(VISIBLE, HIDDEN, scheme);
    const pipeline = await VariationalJob.create(session, dataset, {
      layout,
      basis,
      method: POISSON,
      models: B,
      slots: TEST_SEQUENCES,
      samples: SAMPLES,
      stepsPerEpoch: 1,
      noise: 'philox',
      mode: 'evaluate',
      purpose: NoisePurpose.evaluate,
    });
    // Fitted-looking models: the variational model as initialised, generative weights and biases drawn at random
    // (hidden columns included, so the samples' history matters), rates well below 1.
    const uniform = seededUniform(B);
    const params = new Float32Array(B * layout.total);
    for (let b = 0; b < B; b++) {
      const p = initialParams(layout, b);
      for (let i = 0; i < layout.generativeCount; i++) p[i] = 2 * uniform() - 1;
      for (let n = 0; n < layout.neurons; n++) p[layout.biasOffset + n] = -1.5 + uniform();
      params.set(Array.from(p), b * layout.total);
    }
    pipeline.writeParams(params);
    pipeline.writeSeeds(Uint32Array.from({ length: B }, (_, b) => b));
    pipeline.writeSchedule(Uint32Array.from({ length: B * TEST_SEQUENCES }, (_, i) => i % TEST_SEQUENCES));
    pipeline.setStep(0);
    pipeline.resetEvidence();
    pipeline.setEvaluationChunk(0, 0, SAMPLES);
    const sampleBins = B * TEST_SEQUENCES * SAMPLES * BINS;
    const stageMs: number[] = [];
    for (let stage = 0; stage < pipeline.stageNames.length; stage++) {
      const timing = await timeSteps(
        async (k) => {
          await session.runtime.submit('eval profile', (pass) => {
            for (let i = 0; i < k; i++) pipeline.encodeStage(pass, stage);
          });
          await session.context.finish('eval profile');
        },
        { targetMs: 600, repeats: 3, maxSteps: 200 },
      );
      stageMs.push(timing.stepMs);
    }
    const totalMs = stageMs.reduce((a, b) => a + b, 0);
    const stages = pipeline.stageNames.map((name, i) => `${name} ${fmt(stageMs[i])} ms`).join(', ');
    console.log(`evaluate ${scheme} B=${B} M=${SAMPLES}: ${stages}; chunk ${fmt(totalMs)} ms = ${fmt((totalMs * 1e6) / sampleBins)} ns per sample-bin (evaluateSamples alone ${fmt((stageMs[1] * 1e6) / sampleBins)})`);
    pipeline.destroy();
    if (SKIP_TRAINING) continue;
    const job = await createStepJob(session, { scheme, method: 'exponential', hidden: HIDDEN, data: test, models: B, ...TRAIN });
    const step = await timeSteps((k) => job.run(k), { targetMs: 600, repeats: 3 });
    job.dispose();
    const instanceBins = B * TRAIN.slots * TRAIN.samples * BINS;
    console.log(`train    ${scheme} B=${B} (exponential step, ${TRAIN.slots} x ${TRAIN.samples}): ${fmt(step.stepMs)} ms = ${fmt((step.stepMs * 1e6) / instanceBins)} ns per instance-bin`);
  }
}
dataset.release();
session.destroy();

// Float64 twin of the GPU training loop: the same minibatch schedule, the same Philox noise per step, the hand-
// derived ELBO gradient of src/reference/model.ts, and Adam with PyTorch's semantics, descending -ELBO.
import type { AdamSettings } from '../model/adam.js';
import { epochSchedule, stepsPerEpoch } from '../model/schedule.js';
import { NO_SEQUENCE } from '../model/schedule.js';
import { elboAndGradient, type ReferenceModel } from './model.js';
import { baseNoiseArray } from './noise.js';
import { NoisePurpose } from '../model/philox.js';

export class ReferenceAdam {
  private readonly first: Float64Array;
  private readonly second: Float64Array;
  private step = 0;
  constructor(
    private readonly settings: AdamSettings,
    private readonly generativeCount: number,
    size: number,
  ) {
    this.first = new Float64Array(size);
    this.second = new Float64Array(size);
  }

  /** One update of `params` in place with the ELBO gradient (ascending the ELBO, i.e. descending the loss). */
  update(params: Float64Array, elboGradient: ArrayLike<number>): void {
    this.step++;
    const { beta1, beta2, epsilon } = this.settings;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    for (let i = 0; i < params.length; i++) {
      const gradient = -elboGradient[i];
      this.first[i] = beta1 * this.first[i] + (1 - beta1) * gradient;
      this.second[i] = beta2 * this.second[i] + (1 - beta2) * gradient * gradient;
      const rate = i < this.generativeCount ? this.settings.learningRateGenerative : this.settings.learningRateVariational;
      params[i] -= (rate / correction1) * (this.first[i] / (Math.sqrt(this.second[i]) / Math.sqrt(correction2) + epsilon));
    }
  }
}

/** Trains one model on `sequences` for `epochs` as the GPU does, returning the parameters and per-step ELBOs. */
export function referenceTraining(
  model: ReferenceModel,
  init: ArrayLike<number>,
  sequences: number[][][],
  options: { seed: number; epochs: number; batchSize: number; samples: number; adam: AdamSettings },
): { params: Float64Array; elbos: number[] } {
  const params = Float64Array.from(init);
  const adam = new ReferenceAdam(options.adam, model.layout.generativeCount, params.length);
  const batch = Math.min(options.batchSize, sequences.length);
  const steps = stepsPerEpoch(sequences.length, batch);
  const elbos: number[] = [];
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const rows = epochSchedule([{ seed: options.seed, firstRow: 0, sequences: sequences.length }], epoch, batch);
    for (let k = 0; k < steps; k++, step++) {
      const slots = Array.from(rows.subarray(k * batch, (k + 1) * batch)).filter((row) => row !== NO_SEQUENCE);
      const noise = baseNoiseArray(model.method, {
        seed: options.seed,
        purpose: NoisePurpose.train,
        step,
        sequences: slots.length,
        samples: options.samples,
        bins: sequences[0].length,
        hidden: model.layout.hidden,
      });
      const result = elboAndGradient(model, params, slots.map((row) => sequences[row]), noise);
      elbos.push(result.elbo);
      adam.update(params, result.gradient);
    }
  }
  return { params, elbos };
}

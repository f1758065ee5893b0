// Training until convergence (epochs 'auto'): the held-out ELBO after each epoch decides when to stop, and the fit it
// makes is exactly the fixed-epoch fit of the remaining sequences for as many epochs.
import { describe, expect, it } from 'vitest';
import { fit } from '../src/api/fit.js';
import { syntheticDataset } from '../src/api/synthetic.js';
import { useGpuSession } from './helpers/gpu.js';

const gpu = useGpuSession();

describe("epochs 'auto'", () => {
  it('stops once the held-out ELBO has not improved for `patience` epochs, with the fixed-epoch fit of the rest', async () => {
    const data = await syntheticDataset(0, {}, gpu());
    const settings = { hidden: 2, scheme: 'FB', method: 'exponential' } as const;
    const auto = await fit(data.train.visible, { ...settings, epochs: 'auto', validation: { patience: 4, maxEpochs: 200, fraction: 0.25 } }, { session: gpu() });
    const validation = auto.model.training!.validation!;
    expect(validation.stopped).toBe('converged');
    expect(validation.sequences).toBe(10);
    expect(validation.history).toHaveLength(auto.epochsCompleted);
    expect(auto.epochsCompleted).toBe(validation.bestEpoch + 4);
    const best = Math.max(...validation.history);
    expect(validation.history[validation.bestEpoch - 1]).toBe(best);
    // No epoch after the best improved on it (that is what stopping means), and the fit did learn.
    validation.history.slice(validation.bestEpoch).forEach((value) => expect(value).toBeLessThanOrEqual(best));
    expect(best).toBeGreaterThan(validation.history[0] + 1);
    // Held-out sequences are the last quarter: the same fit on the first 30 for as many epochs is the same numbers.
    const fixed = await fit(data.train.visible.slice(0, 30), { ...settings, epochs: auto.epochsCompleted }, { session: gpu() });
    expect(JSON.stringify(auto.model.generative)).toBe(JSON.stringify(fixed.model.generative));
    expect(JSON.stringify(auto.model.variational)).toBe(JSON.stringify(fixed.model.variational));
  });

  it('says when it reached the bound while still improving', async () => {
    const data = await syntheticDataset(1, {}, gpu());
    const capped = await fit(data.train.visible, { hidden: 2, scheme: 'FB', method: 'exponential', epochs: 'auto', validation: { patience: 5, maxEpochs: 3 } }, { session: gpu() });
    const validation = capped.model.training!.validation!;
    expect(capped.epochsCompleted).toBe(3);
    expect(validation.stopped).toBe('max-epochs');
    expect(validation.stillImproving).toBe(true);
  });

  it('refuses settings that leave nothing to train on or cannot be checkpointed', async () => {
    const data = await syntheticDataset(0, { sequences: 4, trainSequences: 2 }, gpu());
    await expect(fit(data.train.visible, { hidden: 1, scheme: 'F', method: 'poisson', epochs: 'auto', validation: { fraction: 0.9 } }, { session: gpu() })).rejects.toThrow(
      /holding out 2 of 2 training sequences leaves none to train on/,
    );
    await expect(
      fit(data.train.visible, { hidden: 1, scheme: 'F', method: 'poisson', epochs: 'auto' }, { session: gpu(), checkpoint: { save: () => undefined } }),
    ).rejects.toThrow(/checkpoints of fits with epochs 'auto' are not supported/);
  });
});

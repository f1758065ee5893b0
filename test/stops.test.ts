// Stops during long GPU work: an aborted signal or a lost device ends an evaluation within about a second, however
// many chunks of samples remain (each chunk is awaited before the next is submitted, raced against both).
import { describe, expect, it } from 'vitest';
import { evaluate } from '../src/api/evaluate.js';
import { GpuSession } from '../src/engine/session.js';
import { DeviceLostError } from '../src/gpu/errors.js';
import { makeProblem } from './helpers/problems.js';
import { buildModel } from '../src/model/json.js';
import { resolveMethod } from '../src/model/types.js';

/** A model and test data whose evaluation at `samples` samples per sequence runs for tens of seconds on lavapipe. */
function longEvaluation() {
  const problem = makeProblem('FB', 'exponential', { bins: 100, sequences: 20 });
  const model = buildModel({ layout: problem.layout, params: problem.params, method: resolveMethod('exponential'), basis: problem.model.basis });
  return { model, test: problem.sequences, samples: 2_000_000 };
}

/** Starts `run`, calls `stop` after `afterMs`, and returns how long the rejection took after the stop, and the error. */
async function stopDuring(run: () => Promise<unknown>, stop: () => void, afterMs: number): Promise<{ seconds: number; error: unknown }> {
  const started = performance.now();
  const running = run().then(
    () => ({ error: undefined }),
    (error: unknown) => ({ error }),
  );
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  const stopped = performance.now();
  stop();
  const { error } = await running;
  expect(stopped - started, 'the evaluation ended before the stop: make it longer').toBeGreaterThan(afterMs - 50);
  return { seconds: (performance.now() - stopped) / 1000, error };
}

describe('stopping an evaluation', () => {
  it('rejects with the signal\'s reason within about a second of an abort', async () => {
    const session = await GpuSession.open();
    try {
      const { model, test, samples } = longEvaluation();
      const controller = new AbortController();
      const reason = new Error('stop now');
      const { seconds, error } = await stopDuring(() => evaluate(model, test, { session, samples, signal: controller.signal }), () => controller.abort(reason), 1500);
      expect(error).toBe(reason);
      // Before chunks were awaited one by one, every chunk was queued at once and the stop waited for all of them
      // (about a minute here). One chunk is about 0.7 s on two idle cores; 3 s leaves room for a loaded machine.
      expect(seconds).toBeLessThan(3);
    } finally {
      session.destroy();
    }
  });

  it('rejects with DeviceLostError within about a second when the device is destroyed', async () => {
    const session = await GpuSession.open();
    try {
      const { model, test, samples } = longEvaluation();
      const { seconds, error } = await stopDuring(() => evaluate(model, test, { session, samples }), () => session.context.device.destroy(), 1500);
      expect(error).toBeInstanceOf(DeviceLostError);
      expect((error as Error).message).toMatch(/device was lost/);
      expect(seconds).toBeLessThan(3);
    } finally {
      session.destroy();
    }
  });
});

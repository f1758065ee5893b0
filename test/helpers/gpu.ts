// One GPU session per test file, opened in beforeAll and destroyed in afterAll. There is no skip path: without a
// WebGPU adapter, opening the session throws and every GPU test of the file fails, naming the missing adapter.
import { afterAll, beforeAll } from 'vitest';
import { GpuSession } from '../../src/engine/session.js';

export function useGpuSession(): () => GpuSession {
  let session: GpuSession | undefined;
  beforeAll(async () => {
    session = await GpuSession.open();
    // The adapter that ran the tests goes into the log, so that a reader of the CI log sees which one it was.
    console.log(`GPU tests on: ${session.adapter}`);
  });
  afterAll(() => session?.destroy());
  return () => {
    if (!session) throw new Error('GPU session not open');
    return session;
  };
}

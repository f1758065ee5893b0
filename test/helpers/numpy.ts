// Runs a Python script with numpy, for tests that hold our numbers to numpy's. A missing python3 or numpy fails the
// test with what to install: CI installs them, and a test that skipped itself would hide a broken oracle.
import { spawnSync } from 'node:child_process';

const PYTHON = process.env.POGLM_PYTHON ?? '/usr/bin/python3';

/** Runs `script` with `input` as JSON on stdin and returns what it prints as JSON. */
export function runNumpy(script: string, input: unknown): any {
  const result = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28, timeout: 60_000 });
  if (result.error || result.status !== 0) {
    const why = result.error ? String(result.error) : result.stderr.trim().split('\n').at(-1);
    throw new Error(`${PYTHON} with numpy is needed for this test (apt-get install python3-numpy, or set POGLM_PYTHON): ${why}`);
  }
  return JSON.parse(result.stdout);
}

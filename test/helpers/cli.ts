// Running the built `poglm` in a child process and stopping it with signals at a chosen moment, for the CLI tests.
import { spawn } from 'node:child_process';
import { expect } from 'vitest';

export const BIN = new URL('../../bin/poglm.js', import.meta.url).pathname;

export interface SignalledRun {
  status: number | null;
  stderr: string;
  /** Seconds from the first signal to the exit. */
  secondsAfterSignal: number;
}

/**
 * Runs poglm in `cwd` with POGLM_TRACE set (stderr then says when the GPU session opens) and sends `signals`, 200 ms
 * apart, `delayMs` after stderr matches `when`; fails at once if poglm ends before that moment.
 */
export async function signalWhen(cwd: string, when: RegExp, signals: NodeJS.Signals[], delayMs: number, ...args: string[]): Promise<SignalledRun> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, POGLM_TRACE: '1' } });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const early = await Promise.race([
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (when.test(stderr)) {
            clearInterval(poll);
            resolve();
          }
        }, 25);
        void exited.then(() => clearInterval(poll));
      }),
      exited.then((code) => code),
    ]);
    expect(early, `poglm ended before ${when}: ${stderr}`).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    expect(child.exitCode, `poglm ended before the signal: ${stderr}`).toBeNull();
    const signalled = performance.now();
    for (const signal of signals) {
      child.kill(signal);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const status = await exited;
    return { status, stderr, secondsAfterSignal: (performance.now() - signalled) / 1000 };
  } finally {
    child.kill('SIGKILL');
  }
}

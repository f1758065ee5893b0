// `poglm serve` in a child process for the tests: started on a free port, its address read from its first line of
// stdout, and stopped with a signal (its exit code returned).
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli.js';

export interface ServeRun {
  /** The page's address, the first line poglm serve prints. */
  url: string;
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` and resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `poglm serve ARGS` and waits for its address; rejects with its stderr if it exits first. */
export async function startServe(args: string[] = ['--port', '0'], timeoutMs = 30_000): Promise<ServeRun> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`poglm serve printed no address within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('\n')) {
        clearTimeout(timer);
        resolve(stdout.split('\n')[0]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`poglm serve exited (${code}) before printing its address: ${stderr}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

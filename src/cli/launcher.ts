// How bin/poglm.js runs the CLI. Dawn writes warnings from its native code to file descriptor 2, which Node cannot
// redirect, so by default the CLI runs in a child process whose descriptor 2 is a pipe that this launcher reads
// through DawnWarningFilter. The child's process.stderr (status lines, messages, errors) is not that pipe but this
// process's stderr itself, handed over as descriptor 3: it stays a terminal when it is one, with its width, and its
// writes keep their order with stdout's (inherited as it is). `--debug`, or POGLM_DAWN_LOG=1, runs the CLI in this
// process, as before, with Dawn's lines.
//
// Signals: the child is detached (a session of its own), so a terminal's Ctrl-C, sent to the whole foreground process
// group, reaches only the launcher, which passes each signal it receives on exactly once; the CLI's stop on the first
// and exit on the second work as before, whether a signal came from a terminal or from kill. Ctrl-Z stops both and
// the terminal's size changes reach the child. The launcher exits with the child's code, or 128 + the number of the
// signal that killed it. A SIGKILL of the launcher cannot be passed on: the child sees its IPC channel close and
// exits at once, removing its temporary files, as on a second signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { fstatSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { Writable } from 'node:stream';
import { isatty, WriteStream } from 'node:tty';
import { DawnWarningFilter } from './stderr-filter.js';

/** In the child's environment: the descriptor that is the launcher's stderr, where the child's process.stderr goes. */
const STDERR_FD = 'POGLM_STDERR_FD';

/** Passed on to the child as they come; Ctrl-Z's SIGTSTP and the SIGCONT after it are handled apart. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGWINCH'];

/**
 * Whether a run with these arguments (process.argv) and environment filters Dawn's warnings: not with --debug (among
 * the options, before any `--`) or POGLM_DAWN_LOG=1, which show everything Dawn says.
 */
export function filtersDawnWarnings(argv: string[], env: NodeJS.ProcessEnv): boolean {
  const args = argv.slice(2);
  const options = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  return !options.includes('--debug') && env.POGLM_DAWN_LOG !== '1';
}

/**
 * Runs `poglm` with `argv` (process.argv); `script` is the path of bin/poglm.js, which a child runs again. On Windows
 * it always runs here: there are no signals to pass on, and a detached child would get a console window of its own.
 */
export async function launch(script: string, argv: string[]): Promise<void> {
  if (process.env[STDERR_FD] !== undefined) adoptLauncherStderr();
  else if (process.platform !== 'win32' && filtersDawnWarnings(argv, process.env)) return runFiltered(script, argv.slice(2));
  const { main } = await import('./main.js');
  await main(argv);
}

// ---- The launcher ----

async function runFiltered(script: string, args: string[]): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    // Descriptor 2 the filtered pipe, 3 this process's stderr, then the channel that tells the child if we are gone.
    stdio: ['inherit', 'inherit', 'pipe', 2, 'ipc'],
    detached: true,
    env: { ...process.env, [STDERR_FD]: '3' },
  });
  const stopForwarding = forwardSignals(child);
  const filter = new DawnWarningFilter((text) => process.stderr.write(text, 'latin1'));
  // latin1: one character per byte, so that whatever else comes through is written back byte for byte.
  child.stderr!.on('data', (chunk: Buffer) => filter.push(chunk.toString('latin1')));
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    filter.end();
    process.exitCode = code ?? 128 + constants.signals[signal!];
  } catch (error) {
    process.stderr.write(`poglm: error: could not start the CLI's process (${process.execPath}): ${(error as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    stopForwarding();
  }
}

/** Passes the signals this process receives on to `child`, once each; returns what stops it. */
function forwardSignals(child: ChildProcess): () => void {
  const handlers: [NodeJS.Signals, () => void][] = [
    ...FORWARDED.map((signal): [NodeJS.Signals, () => void] => [signal, () => child.kill(signal)]),
    // Ctrl-Z: stop the child, then this process as the terminal would have; `fg` or `bg` continues both.
    [
      'SIGTSTP',
      () => {
        child.kill('SIGSTOP');
        process.kill(process.pid, 'SIGSTOP');
      },
    ],
    ['SIGCONT', () => child.kill('SIGCONT')],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => handlers.forEach(([signal, handler]) => process.off(signal, handler));
}

// ---- The child ----

/** In the child: process.stderr becomes the launcher's stderr, and the launcher is watched. */
function adoptLauncherStderr(): void {
  const value = process.env[STDERR_FD];
  delete process.env[STDERR_FD];
  const stream = writableFor(Number(value));
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => stream });
  // Only the launcher is in the terminal's process group: it passes SIGWINCH on.
  if (stream instanceof WriteStream) process.on('SIGWINCH', () => refreshSize(stream));
  if (process.channel) {
    process.on('disconnect', () => void launcherGone());
    // The channel is only watched: it must not keep the CLI running when its work is done.
    process.channel.unref();
  }
}

/** A stream on descriptor `fd` of the kind Node makes for its own stderr: a terminal, a pipe or socket, or a file. */
function writableFor(fd: number): Writable {
  if (!Number.isInteger(fd) || fd < 0) throw new Error(`${STDERR_FD} must be a file descriptor (it is set by bin/poglm.js for its child process)`);
  if (isatty(fd)) return new WriteStream(fd);
  const stat = fstatSync(fd);
  if (stat.isFIFO() || stat.isSocket()) return new Socket({ fd, readable: false, writable: true });
  // Files and devices are written synchronously, as Node writes its stderr to them, so nothing is lost on exit.
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (let written = 0; written < chunk.length; ) written += writeSync(fd, chunk, written);
      done();
    },
  });
}

/** What Node does for its own stderr on SIGWINCH: read the terminal's size again and say when it changed. */
function refreshSize(stream: WriteStream): void {
  const [columns, rows] = stream.getWindowSize();
  if (columns === stream.columns && rows === stream.rows) return;
  stream.columns = columns;
  stream.rows = rows;
  stream.emit('resize');
}

/**
 * The launcher is gone (killed by SIGKILL, which it could not pass on): nothing can stop this process any more and
 * no one reads Dawn's pipe, so it exits at once as on a second signal, removing the temporary files it is writing.
 */
async function launcherGone(): Promise<void> {
  const [{ removeActiveTemporaries }, { EXIT }] = await Promise.all([import('./files.js'), import('./runner.js')]);
  removeActiveTemporaries();
  process.exit(EXIT.terminated);
}

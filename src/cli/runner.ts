// What every command shares: the context a command runs in, the exit codes, and runner(), which opens one GPU session
// per command, turns the first SIGINT or SIGTERM into an AbortSignal, and maps errors to exit codes. Below main.ts,
// commands.ts and grid.ts, so that those import it and not each other.
import type { Command } from 'commander';
import { DataError } from '../model/data.js';
import { ModelFormatError } from '../model/json.js';
import { CheckpointMismatchError } from '../model/checkpoint.js';
import { GpuError } from '../gpu/errors.js';
import { GpuSession } from '../engine/session.js';
import { removeActiveTemporaries, UsageError } from './files.js';
import { checkInputs, type CommandInputs, type Input, type InputValues } from './inputs.js';

export interface CliContext {
  /** Opens the session on first use; the runner destroys it. */
  session(): Promise<GpuSession>;
  /** Aborted on the first SIGINT or SIGTERM (its reason an InterruptedExit); a second one exits at once. */
  signal: AbortSignal;
  out: (text: string) => void;
  err: (text: string) => void;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130, terminated: 143 } as const;

export class InterruptedExit extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedExit';
  }
}

/** The stop signals and their conventional exit codes (128 + the signal's number). */
const STOP_SIGNALS = { SIGINT: EXIT.interrupted, SIGTERM: EXIT.terminated } as const;
type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * SIGINT (Ctrl-C) and SIGTERM (what schedulers send) alike: the first aborts the command's signal, so that it stops
 * at the next point it checks and saves what is complete; a second exits at once, removing the temporary files of
 * writes still in progress.
 */
function listenForStops(controller: AbortController): { received: () => StopSignal | undefined; stop: () => void } {
  let received: StopSignal | undefined;
  const handlers = Object.keys(STOP_SIGNALS).map((name) => {
    const signal = name as StopSignal;
    const handler = (): void => {
      if (controller.signal.aborted) {
        process.stderr.write(`\npoglm: ${signal} again, exiting now\n`);
        removeActiveTemporaries();
        process.exit(STOP_SIGNALS[received ?? signal]);
      }
      received = signal;
      process.stderr.write(
        `\npoglm: ${signal === 'SIGINT' ? 'interrupting' : 'terminating'}: stopping at the next epoch or chunk and saving what is done ` +
          `(${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit now)\n`,
      );
      controller.abort(new InterruptedExit(`${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopped before finishing, nothing more to save`));
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    received: () => received,
    stop: () => handlers.forEach(([signal, handler]) => process.off(signal, handler)),
  };
}

/**
 * The action of a command that declares its inputs: every flag and file is read and checked (src/cli/inputs.ts)
 * before `run` starts, so a bad input exits 2 before any GPU work.
 */
export function commandAction<S extends Record<string, Input<unknown>>>(inputs: CommandInputs<S>, run: (context: CliContext, values: InputValues<S>) => Promise<void>) {
  return runner(async (context: CliContext, options: Record<string, unknown>) => run(context, checkInputs(inputs, options)));
}

/** Runs `action` with a session and a stop signal, mapping errors to exit codes. */
export function runner(action: (context: CliContext, ...args: never[]) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const controller = new AbortController();
    let session: GpuSession | undefined;
    const stops = listenForStops(controller);
    // Commander passes the command last; its global options include --debug.
    const command = args[args.length - 1] as Command | undefined;
    const debug = Boolean(command?.optsWithGlobals?.().debug);
    const context: CliContext = {
      session: async () => {
        if (!session && process.env.POGLM_TRACE) process.stderr.write('poglm: trace: opening the GPU session\n');
        return (session ??= await GpuSession.open({ debug }));
      },
      signal: controller.signal,
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(`${text}\n`),
    };
    const stoppedCode = (): number => STOP_SIGNALS[stops.received() ?? 'SIGINT'];
    try {
      await (action as (context: CliContext, ...rest: unknown[]) => Promise<void>)(context, ...args);
      process.exitCode = controller.signal.aborted ? stoppedCode() : EXIT.ok;
    } catch (error) {
      // Work stopped by the signal rejects with the signal's reason: that is a stop, not a failure.
      const stopped = controller.signal.aborted && (error === controller.signal.reason || error instanceof InterruptedExit);
      process.exitCode = stopped ? (reportError(error), stoppedCode()) : reportError(error);
    } finally {
      stops.stop();
      session?.destroy();
    }
  };
}

function reportError(error: unknown): number {
  if (error instanceof InterruptedExit) {
    process.stderr.write(`poglm: ${error.message}\n`);
    return EXIT.interrupted;
  }
  const usage = error instanceof UsageError || error instanceof DataError || error instanceof ModelFormatError || error instanceof CheckpointMismatchError;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`poglm: error: ${message}\n`);
  if (!usage && !(error instanceof GpuError) && process.env.POGLM_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return usage ? EXIT.usage : EXIT.failed;
}

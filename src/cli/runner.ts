// What every command shares: the context a command runs in, the exit codes, and runner(), which opens one GPU session
// per command, turns the first Ctrl-C into an AbortSignal, and maps errors to exit codes. Below main.ts, commands.ts
// and grid.ts, so that those import it and not each other.
import type { Command } from 'commander';
import { DataError } from '../model/data.js';
import { ModelFormatError } from '../model/json.js';
import { GpuError } from '../gpu/errors.js';
import { GpuSession } from '../engine/session.js';
import { UsageError } from './files.js';

export interface CliContext {
  /** Opens the session on first use; the runner destroys it. */
  session(): Promise<GpuSession>;
  /** Aborted on the first Ctrl-C; a second one exits at once. */
  signal: AbortSignal;
  out: (text: string) => void;
  err: (text: string) => void;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export class InterruptedExit extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedExit';
  }
}

/** Runs `action` with a session and an interrupt signal, mapping errors to exit codes. */
export function runner(action: (context: CliContext, ...args: never[]) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const controller = new AbortController();
    let session: GpuSession | undefined;
    const onInterrupt = (): void => {
      if (controller.signal.aborted) {
        process.stderr.write('\npoglm: interrupted again, exiting now\n');
        process.exit(EXIT.interrupted);
      }
      process.stderr.write('\npoglm: interrupting — stopping at the end of the current epoch (or chunk of evaluation samples) and saving what is done (Ctrl-C again to quit now)\n');
      controller.abort();
    };
    process.on('SIGINT', onInterrupt);
    // Commander passes the command last; its global options include --debug.
    const command = args[args.length - 1] as Command | undefined;
    const debug = Boolean(command?.optsWithGlobals?.().debug);
    const context: CliContext = {
      session: async () => (session ??= await GpuSession.open({ debug })),
      signal: controller.signal,
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(`${text}\n`),
    };
    try {
      await (action as (context: CliContext, ...rest: unknown[]) => Promise<void>)(context, ...args);
      process.exitCode = controller.signal.aborted ? EXIT.interrupted : EXIT.ok;
    } catch (error) {
      // An evaluation stopped by the signal rejects with the signal's reason: that is an interrupt, not a failure.
      const stopped = controller.signal.aborted && error === controller.signal.reason;
      process.exitCode = reportError(stopped ? new InterruptedExit('interrupted: stopped before finishing, nothing more to save') : error);
    } finally {
      process.off('SIGINT', onInterrupt);
      session?.destroy();
    }
  };
}

function reportError(error: unknown): number {
  if (error instanceof InterruptedExit) {
    process.stderr.write(`poglm: ${error.message}\n`);
    return EXIT.interrupted;
  }
  const usage = error instanceof UsageError || error instanceof DataError || error instanceof ModelFormatError;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`poglm: error: ${message}\n`);
  if (!usage && !(error instanceof GpuError) && process.env.POGLM_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return usage ? EXIT.usage : EXIT.failed;
}

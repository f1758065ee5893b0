// The `poglm` command line. Each command opens one GPU session, reports what it did on stdout (JSON with --json),
// writes its files atomically, and exits: 0 done, 1 failed, 2 bad usage, 130 interrupted (what was learned is kept).
import { Command, CommanderError, Option } from 'commander';
import { DataError } from '../model/data.js';
import { ModelFormatError } from '../model/json.js';
import { GpuError } from '../gpu/errors.js';
import { GpuSession } from '../engine/session.js';
import { UsageError } from './io.js';
import { registerCommands } from './commands.js';

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

export function buildProgram(): Command {
  const program = new Command()
    .name('poglm')
    .description(
      'Partially observable GLMs of spike trains, fitted with differentiable variational inference in WGSL (WebGPU).\n' +
        'Math and file formats: the spec (POGLM-SPEC.md) and docs/ in the package.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(`poglm: ${text}`) });
  program.addOption(new Option('--debug', 'run every GPU step inside error scopes (slower; names failing kernels)').hideHelp());
  // Before the commands are added, so that they inherit it: parse errors then reach main() as exceptions.
  program.exitOverride();
  registerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; parsing errors were already printed by commander.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    throw error;
  }
}

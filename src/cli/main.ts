// The `poglm` command line. Each command opens one GPU session, reports what it did on stdout (JSON with --json),
// writes its files atomically, and exits: 0 done; 1 failed (also a fit that stopped on a non-finite value); 2 bad
// usage, found before any GPU work; 130 interrupted (SIGINT) or 143 terminated (SIGTERM), what was complete kept.
import { Command, CommanderError, Option } from 'commander';
import { EXIT } from './runner.js';
import { registerCommands } from './commands.js';

function buildProgram(): Command {
  const program = new Command()
    .name('poglm')
    .description(
      'Partially observable GLMs of spike trains, fitted with differentiable variational inference in WGSL (WebGPU).\n' +
        'The model and every gradient: docs/gradients.md; file formats: README.md (both in the package).',
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

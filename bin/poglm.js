#!/usr/bin/env node
// The `poglm` command. The CLI is compiled to dist/ by `npm run build` (which `npm install` runs via `prepare`).
// dist/cli/launcher.js runs it in a child process that keeps Dawn's native warnings off stderr, or here with --debug.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/launcher.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('poglm: the CLI is not built yet: run `npm run build` in the package folder\n');
  process.exit(1);
}
const { launch } = await import(entry.href);
await launch(fileURLToPath(import.meta.url), process.argv);

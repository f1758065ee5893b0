#!/usr/bin/env node
// The `poglm` command. The CLI is compiled to dist/ by `npm run build` (which `npm install` runs via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('poglm: the CLI is not built yet: run `npm run build` in the package folder\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);

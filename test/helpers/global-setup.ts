// Before any test file: embed shaders/*.wgsl into src/shaders/sources.generated.ts, and rebuild dist/ when it is
// older than src/ or shaders/, so that running vitest directly (not through `npm test`, which builds first) tests
// neither stale WGSL nor a stale build (the CLI tests run bin/poglm.js, which loads dist/).
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestLibrarySource } from './freshness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(): void {
  execFileSync(process.execPath, [join(root, 'scripts', 'embed-shaders.mjs')], { stdio: 'inherit' });
  const built = join(root, 'dist', 'index.js');
  if (!existsSync(built) || statSync(built).mtimeMs < newestLibrarySource(root)) {
    console.log('global setup: dist/ is missing or older than src/: building it (tsc -p tsconfig.build.json)');
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
}

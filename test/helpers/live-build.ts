// The live page's build for the tests that serve it: dist/live/ (scripts/build-live.mjs) and the fitting worker it
// loads, dist/browser/poglm-worker.js (scripts/build-browser.mjs). The global setup compiles dist/ with tsc only, so
// these are rebuilt here when missing or older than anything they are built from (a few seconds).
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestLibrarySource, newestModification } from './freshness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const OUTPUTS = ['dist/live/index.html', 'dist/live/main.js', 'dist/live/style.css', 'dist/browser/poglm-worker.js'].map((path) => join(root, path));
const SCRIPTS = ['embed-shaders.mjs', 'build-browser.mjs', 'bundle-checks.mjs', 'build-live.mjs'];

function newestSource(): number {
  const scripts = SCRIPTS.map((script) => statSync(join(root, 'scripts', script)).mtimeMs);
  return Math.max(newestLibrarySource(root), newestModification(join(root, 'examples', 'live'), ['.ts', '.html', '.css']), ...scripts);
}

export function ensureLiveBuild(): void {
  const oldest = Math.min(...OUTPUTS.map((path) => (existsSync(path) ? statSync(path).mtimeMs : 0)));
  if (oldest >= newestSource()) return;
  console.log('live page: building dist/live and dist/browser (missing or older than their sources)');
  for (const script of ['embed-shaders.mjs', 'build-browser.mjs', 'build-live.mjs']) {
    execFileSync(process.execPath, [join(root, 'scripts', script)], { cwd: root, stdio: 'inherit' });
  }
}

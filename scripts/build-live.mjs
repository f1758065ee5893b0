// Builds the live fitting page (examples/live/) into dist/live/: index.html and style.css as they are, and main.ts
// bundled with Vega, the plot builders, the file readers and FitWorker into main.js, with h5wasm (about 4 MB, for
// NWB and MATLAB v7.3 files) split into a chunk of its own that loads only when such a file is dropped. The fits run
// in the shipped worker bundle, dist/browser/poglm-worker.js (scripts/build-browser.mjs), which the page loads from
// ../browser/ — `poglm serve` serves both folders. Held to the same checks as every browser bundle
// (scripts/bundle-checks.mjs).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBundle } from './bundle-checks.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'examples', 'live');
const outDir = join(root, 'dist', 'live');
const entry = join(source, 'main.ts');
const outFile = join(outDir, 'main.js');

// A clean folder, so that chunks of an earlier build (their names carry a hash) do not pile up.
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const result = await build({
  entryPoints: { main: entry },
  outdir: outDir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  // h5wasm embeds its WebAssembly as a string of bytes: as UTF-8 it stays its size, escaped to ASCII it grows by half.
  charset: 'utf8',
  // Maps without the sources themselves: they name files and lines, and stay small enough to ship in the package.
  sourcemap: true,
  sourcesContent: false,
  metafile: true,
  absWorkingDir: root,
  logLevel: 'warning',
  legalComments: 'none',
});
checkBundle(result, { root, entry, outFile, script: 'build-live' });
for (const file of ['index.html', 'style.css']) copyFileSync(join(source, file), join(outDir, file));

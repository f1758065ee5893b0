// Bundles the library for browsers: src/index.ts -> dist/browser/poglm-gpu.js (one ES module, with a source map), and
// the ready fitting worker src/worker/entry.ts -> dist/browser/poglm-worker.js (a module Worker that runs serveFits).
// Run after `node scripts/embed-shaders.mjs`, which generates the shader module the bundles embed. Every check below
// holds for each bundle.
//
// The Node-only Dawn package `webgpu` is marked external. src/gpu/device.ts imports it through a variable specifier,
// so esbuild never sees it anyway; the external entry is a second guard (a literal `import('webgpu')` added later
// would stay a bare import instead of dragging a native addon into the bundle). In a browser that import is never
// reached because navigator.gpu exists. The script fails if a bundle contains a static import of anything, so that
// the file always loads on its own in a page, or a Node-only package (scripts/bundle-checks.mjs, shared with the
// live page's build).
//
// Prints the bundle size and the largest inputs; `--analyze` prints esbuild's full breakdown.
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBundle } from './bundle-checks.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'browser');
const BUNDLES = [
  { entry: join(root, 'src', 'index.ts'), outFile: join(outDir, 'poglm-gpu.js') },
  { entry: join(root, 'src', 'worker', 'entry.ts'), outFile: join(outDir, 'poglm-worker.js') },
];
const generated = join(root, 'src', 'shaders', 'sources.generated.ts');

if (!existsSync(generated)) {
  console.error(`build-browser: ${relative(root, generated)} is missing; run \`node scripts/embed-shaders.mjs\` first`);
  process.exit(1);
}

mkdirSync(outDir, { recursive: true });
for (const { entry, outFile } of BUNDLES) {
  const result = await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    external: ['webgpu'],
    metafile: true,
    absWorkingDir: root,
    logLevel: 'warning',
    legalComments: 'none',
  });
  checkBundle(result, { root, entry, outFile, script: 'build-browser' });
  if (process.argv.includes('--analyze')) {
    const { analyzeMetafile } = await import('esbuild');
    console.log(await analyzeMetafile(result.metafile, { verbose: false }));
  }
}

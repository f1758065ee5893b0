// Bundles the library for browsers: src/index.ts -> dist/browser/poglm-gpu.js (one ES module, with a source map), and
// the ready fitting worker src/worker/entry.ts -> dist/browser/poglm-worker.js (a module Worker that runs serveFits).
// Run after `node scripts/embed-shaders.mjs`, which generates the shader module the bundles embed. Every check below
// holds for each bundle.
//
// The Node-only Dawn package `webgpu` is marked external. src/gpu/device.ts imports it through a variable specifier,
// so esbuild never sees it anyway; the external entry is a second guard (a literal `import('webgpu')` added later
// would stay a bare import instead of dragging a native addon into the bundle). In a browser that import is never
// reached because navigator.gpu exists. The script fails if the bundle contains a static import of anything, so
// that the file always loads on its own in a page.
//
// Prints the bundle size and the largest inputs; `--analyze` prints esbuild's full breakdown.
import { build } from 'esbuild';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'browser');
const BUNDLES = [
  { entry: join(root, 'src', 'index.ts'), outFile: join(outDir, 'poglm-gpu.js') },
  { entry: join(root, 'src', 'worker', 'entry.ts'), outFile: join(outDir, 'poglm-worker.js') },
];
const generated = join(root, 'src', 'shaders', 'sources.generated.ts');

/** Packages a browser build must never contain (native or Node-only): the build fails and names the import chain. */
const FORBIDDEN = ['node_modules/webgpu/'];
/** Packages the engine does not need in a browser and that weigh a lot: a warning that names the import chain. */
const UNWANTED = ['node_modules/mathjs/', 'node_modules/@tensorflow/', 'node_modules/commander/'];
/** Inputs larger than this are named in the summary. */
const HEAVY_BYTES = 100 * 1024;

if (!existsSync(generated)) {
  console.error(`build-browser: ${relative(root, generated)} is missing; run \`node scripts/embed-shaders.mjs\` first`);
  process.exit(1);
}

mkdirSync(outDir, { recursive: true });
for (const bundle of BUNDLES) await buildBundle(bundle);

/** Builds one bundle and holds it to the checks: no static import, no Node-only package, a warning for heavy ones. */
async function buildBundle({ entry, outFile }) {
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

  const output = result.metafile.outputs[relative(root, outFile)] ?? Object.values(result.metafile.outputs).find((o) => o.entryPoint);
  const imports = output?.imports ?? [];
  const staticImports = imports.filter((item) => item.kind !== 'dynamic-import');
  if (staticImports.length > 0) {
    console.error(`build-browser: ${relative(root, outFile)} imports ${staticImports.map((item) => item.path).join(', ')} statically; a page could not load it`);
    process.exit(1);
  }

  const inputs = Object.entries(output?.inputs ?? {}).map(([path, info]) => ({ path, bytes: info.bytesInOutput }));
  // Name the import chain of an unwanted input, so that the fix lands in the right src/ file.
  const describeChains = (found) => {
    const firstPerPackage = new Map();
    for (const input of found) {
      const name = packageOf(input.path);
      if (!firstPerPackage.has(name)) firstPerPackage.set(name, input.path);
    }
    return [...firstPerPackage].map(([name, path]) => `${name}: ${importChain(result.metafile, entry, path).join(' -> ')}`).join('\n  ');
  };
  const forbidden = inputs.filter((input) => FORBIDDEN.some((name) => input.path.includes(name)));
  if (forbidden.length > 0) {
    console.error(`build-browser: ${relative(root, outFile)} must not contain Node-only packages, but pulls in:\n  ${describeChains(forbidden)}`);
    process.exit(1);
  }
  const unwanted = inputs.filter((input) => UNWANTED.some((name) => input.path.includes(name)));
  if (unwanted.length > 0) {
    const bytesIn = unwanted.reduce((sum, input) => sum + input.bytes, 0);
    console.warn(`build-browser: warning: ${(bytesIn / 1024).toFixed(1)} KiB of packages ${relative(root, outFile)} should not need:\n  ${describeChains(unwanted)}`);
  }

  const bytes = statSync(outFile).size;
  const heavy = inputs.filter((input) => input.bytes >= HEAVY_BYTES).sort((a, b) => b.bytes - a.bytes);
  const packages = [...new Set(inputs.filter((input) => input.path.includes('node_modules/')).map((input) => packageOf(input.path)))];
  console.log(
    `build-browser: ${relative(root, outFile)} ${(bytes / 1024).toFixed(1)} KiB (${inputs.length} inputs; packages: ${packages.join(', ') || 'none'})` +
      (heavy.length ? `; inputs over ${HEAVY_BYTES / 1024} KiB: ${heavy.map((input) => `${input.path} ${(input.bytes / 1024).toFixed(1)} KiB`).join(', ')}` : ''),
  );
  if (process.argv.includes('--analyze')) {
    const { analyzeMetafile } = await import('esbuild');
    console.log(await analyzeMetafile(result.metafile, { verbose: false }));
  }
}

/** The package name of an input under node_modules/ ("mathjs", "@tensorflow/tfjs-core"). */
function packageOf(path) {
  const rest = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

/** The shortest import chain from the entry point to `target`, from esbuild's metafile. */
function importChain(metafile, entry, target) {
  const start = relative(root, entry);
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length) {
    const current = queue.shift();
    if (current === target) break;
    for (const item of metafile.inputs[current]?.imports ?? []) {
      if (!previous.has(item.path)) {
        previous.set(item.path, current);
        queue.push(item.path);
      }
    }
  }
  const chain = [];
  for (let node = target; node !== undefined; node = previous.get(node)) chain.unshift(node);
  return chain;
}

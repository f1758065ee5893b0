// The checks every browser bundle is held to (scripts/build-browser.mjs: the library and the fitting worker;
// scripts/build-live.mjs: the live page): no static import a page could not resolve, no Node-only or native package
// (the build fails and names the import chain), a warning for heavy packages a browser should not need, and a
// summary of the sizes.
import { statSync } from 'node:fs';
import { relative } from 'node:path';

/** Packages a browser build must never contain (native or Node-only): the build fails and names the import chain. */
export const FORBIDDEN = ['node_modules/webgpu/', 'node_modules/@resvg/', 'node_modules/h5wasm/dist/node/'];
/** Packages the engine does not need in a browser and that weigh a lot: a warning that names the import chain. */
export const UNWANTED = ['node_modules/mathjs/', 'node_modules/@tensorflow/', 'node_modules/commander/'];
/** Inputs larger than this are named in the summary. */
const HEAVY_BYTES = 100 * 1024;

/**
 * Holds the build `result` (esbuild, with a metafile) of `entry` to the checks; exits the process on a failure.
 * `script` names the build in messages. Imports of the build's own chunks (code splitting) are allowed.
 */
export function checkBundle(result, { root, entry, outFile, script }) {
  const outputs = Object.entries(result.metafile.outputs).filter(([path]) => !path.endsWith('.map'));
  const own = new Set(outputs.map(([path]) => path));
  const name = relative(root, outFile);
  const staticImports = outputs.flatMap(([, output]) => output.imports).filter((item) => item.kind !== 'dynamic-import' && !own.has(item.path));
  if (staticImports.length > 0) {
    console.error(`${script}: ${name} imports ${staticImports.map((item) => item.path).join(', ')} statically; a page could not load it`);
    process.exit(1);
  }
  const inputs = outputs.flatMap(([, output]) => Object.entries(output.inputs).map(([path, info]) => ({ path, bytes: info.bytesInOutput })));
  // Name the import chain of an unwanted input, so that the fix lands in the right src/ file.
  const describeChains = (found) => {
    const firstPerPackage = new Map();
    for (const input of found) {
      const pkg = packageOf(input.path);
      if (!firstPerPackage.has(pkg)) firstPerPackage.set(pkg, input.path);
    }
    return [...firstPerPackage].map(([pkg, path]) => `${pkg}: ${importChain(result.metafile, relative(root, entry), path).join(' -> ')}`).join('\n  ');
  };
  const forbidden = inputs.filter((input) => FORBIDDEN.some((pkg) => input.path.includes(pkg)));
  if (forbidden.length > 0) {
    console.error(`${script}: ${name} must not contain Node-only packages, but pulls in:\n  ${describeChains(forbidden)}`);
    process.exit(1);
  }
  const unwanted = inputs.filter((input) => UNWANTED.some((pkg) => input.path.includes(pkg)));
  if (unwanted.length > 0) {
    const bytesIn = unwanted.reduce((sum, input) => sum + input.bytes, 0);
    console.warn(`${script}: warning: ${(bytesIn / 1024).toFixed(1)} KiB of packages ${name} should not need:\n  ${describeChains(unwanted)}`);
  }
  const bytes = outputs.reduce((sum, [path]) => sum + statSync(path.startsWith('/') ? path : `${root}/${path}`).size, 0);
  const heavy = inputs.filter((input) => input.bytes >= HEAVY_BYTES).sort((a, b) => b.bytes - a.bytes);
  const packages = [...new Set(inputs.filter((input) => input.path.includes('node_modules/')).map((input) => packageOf(input.path)))];
  const files = outputs.length > 1 ? ` in ${outputs.length} files` : '';
  console.log(
    `${script}: ${name} ${(bytes / 1024).toFixed(1)} KiB${files} (${inputs.length} inputs; packages: ${packages.join(', ') || 'none'})` +
      (heavy.length ? `; inputs over ${HEAVY_BYTES / 1024} KiB: ${heavy.map((input) => `${input.path} ${(input.bytes / 1024).toFixed(1)} KiB`).join(', ')}` : ''),
  );
}

/** The package name of an input under node_modules/ ("mathjs", "@tensorflow/tfjs-core"). */
function packageOf(path) {
  const rest = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

/** The shortest import chain from the entry point `start` to `target`, from esbuild's metafile. */
function importChain(metafile, start, target) {
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

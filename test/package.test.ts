// The package as a consumer gets it: what `npm pack` puts in (everything the README promises, no tests, bench
// results or test-only twins), and a strict TypeScript file that imports only poglm-gpu type-checks, the WebGPU
// types coming with the package (dist/index.d.ts references @webgpu/types, a dependency).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

function packedFiles(): string[] {
  // --ignore-scripts: the files list is what matters, and the suite has built dist/ already.
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  return (JSON.parse(output) as { files: { path: string }[] }[])[0].files.map((file) => file.path);
}

describe('the package', () => {
  it('packs the library, the CLI, the browser bundle, the shaders and the docs, and no tests or bench results', () => {
    const files = packedFiles();
    for (const path of ['package.json', 'README.md', 'bin/poglm.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/browser/poglm-gpu.js', 'shaders/adam.wgsl']) {
      expect(files, path).toContain(path);
    }
    // Every document the README links to is in the package.
    const linked = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/\]\((docs\/[^)]+)\)/g)].map((match) => match[1]);
    expect(linked.length).toBeGreaterThan(3);
    for (const path of linked) expect(files, path).toContain(path);
    const unwanted = files.filter((path) => /^(test|bench|src|scripts)\//.test(path) || path.startsWith('dist/reference/') || /\.test\./.test(path));
    expect(unwanted).toEqual([]);
  });

  it('declares exports for types, browsers and Node, @webgpu/types as a dependency and Dawn as optional', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(manifest.exports['.']).toMatchObject({ types: './dist/index.d.ts', browser: './dist/browser/poglm-gpu.js', node: './dist/index.js' });
    expect(manifest.exports['./browser'].default).toBe('./dist/browser/poglm-gpu.js');
    expect(manifest.dependencies['@webgpu/types']).toBeDefined();
    expect(manifest.dependencies.webgpu).toBeUndefined();
    expect(manifest.optionalDependencies.webgpu).toBeDefined();
  });

  it('type-checks a strict consumer that imports only poglm-gpu and names WebGPU types', () => {
    const folder = mkdtempSync(join(tmpdir(), 'poglm-consumer-'));
    try {
      writeFileSync(
        join(folder, 'consumer.ts'),
        [
          `import { GpuSession, fit, type FitResult } from '${join(ROOT, 'dist/index.js')}';`,
          'export async function run(device: GPUDevice, data: number[][][]): Promise<FitResult> {',
          '  const session = await GpuSession.open({ device });',
          "  const buffer: GPUBuffer = session.context.createStorage('mine', 16);",
          '  session.context.release(buffer);',
          "  return fit(data, { hidden: 2, scheme: 'FB', method: 'exponential' }, { session });",
          '}',
        ].join('\n'),
      );
      // No ambient types at all (types: []): GPUDevice can only come from the package's own reference.
      writeFileSync(
        join(folder, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: [], skipLibCheck: false }, files: ['consumer.ts'] }),
      );
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      let output = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', folder], { encoding: 'utf8' });
      } catch (error) {
        output = String((error as { stdout?: string }).stdout ?? error);
      }
      expect(output).toBe('');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

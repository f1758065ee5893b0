// The runtime's pure parts, tested without a GPU: dispatch-shape maths, uniform packing against reflected
// layouts, the include step, and reflection of every stage's bindings.
import { describe, expect, it } from 'vitest';
import { dispatchFor, foldWorkgroups, totalWorkgroups, workgroupsFor } from '../src/gpu/grid.js';
import { reflectShader } from '../src/gpu/reflect.js';
import { packUniforms } from '../src/gpu/uniforms.js';
import { describeLine, listShaderFiles, resolveShader } from '../src/shaders/include.js';
import { shaderSources } from '../src/shaders/sources.generated.js';

describe('dispatch shapes', () => {
  it.each([
    { count: 0, size: 64, workgroups: 0 },
    { count: 1, size: 64, workgroups: 1 },
    { count: 64, size: 64, workgroups: 1 },
    { count: 65, size: 64, workgroups: 2 },
    { count: 10_000_000, size: 64, workgroups: 156_250 },
  ])('$count items at $size per workgroup need $workgroups workgroups', ({ count, size, workgroups }) => {
    expect(workgroupsFor(count, size)).toBe(workgroups);
  });

  it.each([0, 1, 65_535, 65_536, 200_000, 65_535 * 65_535, 65_535 * 65_535 + 1, 5_000_000_000])(
    'folds %i workgroups into dimensions within the limit, covering all with little waste',
    (workgroups) => {
      const [x, y, z] = foldWorkgroups(workgroups, 65_535);
      expect(Math.max(x, y, z)).toBeLessThanOrEqual(65_535);
      const total = totalWorkgroups([x, y, z]);
      expect(total).toBeGreaterThanOrEqual(workgroups);
      // Waste is at most one row of x per y and one plane per z.
      expect(total - workgroups).toBeLessThanOrEqual(x * z + x * y);
    },
  );

  it('refuses more workgroups than three dimensions can address', () => {
    expect(() => foldWorkgroups(65_535 ** 3 + 1, 65_535)).toThrow(/exceed/);
  });

  it('rejects bad counts', () => {
    expect(() => workgroupsFor(-1, 64)).toThrow(/non-negative integer/);
    expect(() => workgroupsFor(10, 0)).toThrow(/positive integer/);
    expect(dispatchFor(130, 64, 65_535)).toEqual([3, 1, 1]);
  });
});

describe('uniform packing', () => {
  const reflection = reflectShader(`
    struct Params { count: u32, scale: f32, offset: i32, pair: vec2<u32>, direction: vec3<f32>, last: f32 }
    @group(0) @binding(0) var<uniform> params: Params;
    @group(0) @binding(1) var<storage, read_write> out: array<f32>;
    @compute @workgroup_size(1) fn main() { out[0] = params.scale; }
  `);
  const layout = reflection.uniforms.get('params')!;
  const values = { count: 7, scale: 0.5, offset: -3, pair: [1, 2], direction: [1, 2, 3], last: 9 };

  it('places every field at the offset WGSL gives it', () => {
    const view = new DataView(packUniforms(layout, values, 'test'));
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getFloat32(4, true)).toBe(0.5);
    expect(view.getInt32(8, true)).toBe(-3);
    expect([view.getUint32(16, true), view.getUint32(20, true)]).toEqual([1, 2]);
    expect([view.getFloat32(32, true), view.getFloat32(36, true), view.getFloat32(40, true)]).toEqual([1, 2, 3]);
    expect(view.getFloat32(44, true)).toBe(9);
    expect(layout.size).toBe(48);
  });

  it.each([
    { name: 'a missing field', change: { count: undefined }, message: /Params\.count was not given/ },
    { name: 'an unknown field', change: { counts: 1 }, message: /has no field "counts"/ },
    { name: 'a negative u32', change: { count: -1 }, message: /Params\.count is u32/ },
    { name: 'a fractional u32', change: { count: 1.5 }, message: /Params\.count is u32/ },
    { name: 'a non-finite f32', change: { scale: Number.NaN }, message: /Params\.scale must be finite/ },
    { name: 'a vector of the wrong length', change: { pair: [1] }, message: /Params\.pair takes 2 value/ },
  ])('rejects $name, naming the field', ({ change, message }) => {
    const given = { ...values, ...change } as Record<string, number | number[]>;
    for (const key of Object.keys(given)) if (given[key] === undefined) delete given[key];
    expect(() => packUniforms(layout, given, 'test')).toThrow(message);
  });

});

describe('the include step', () => {
  it('inlines each helper once, in dependency order, and maps lines back to their files', () => {
    const resolved = resolveShader('sample_q.wgsl');
    expect(resolved.code).not.toMatch(/\/\/#include/);
    expect(resolved.code.match(/fn philox4x32\(/g)).toHaveLength(1);
    expect(resolved.code.match(/fn sigmoid\(/g)).toHaveLength(1);
    expect(resolved.code.indexOf('fn sigmoid(')).toBeLessThan(resolved.code.indexOf('fn truncatedPoissonLogProbs('));
    const line = resolved.code.split('\n').findIndex((text) => text.startsWith('fn philox4x32(')) + 1;
    expect(describeLine(resolved, line)).toMatch(/^rng\.wgsl:\d+$/);
  });

  it('every shader file is a whole module once its includes are in (no templates, no fragments)', () => {
    for (const file of listShaderFiles()) {
      const resolved = resolveShader(file);
      expect(resolved.code).not.toMatch(/\$\{|\{\{|%[A-Z_]+%/);
      expect(() => reflectShader(resolved.code)).not.toThrow();
    }
  });

  it('stage files are named after the math they do and each declares its workgroup size as an override', () => {
    const stages = listShaderFiles().filter((file) => /@compute/.test(shaderSources[file]));
    expect(stages.sort()).toEqual(
      ['adam', 'advance', 'backward', 'convolve', 'draw_noise', 'drive', 'evaluate', 'glm', 'instance_gradient', 'log_likelihood_p', 'reduce', 'sample_q', 'simulate', 'visible_gradient']
        .map((name) => `${name}.wgsl`)
        .sort(),
    );
    // advance.wgsl is the single-thread step counter and fixes @workgroup_size(1).
    for (const file of stages.filter((name) => name !== 'advance.wgsl')) {
      expect(reflectShader(resolveShader(file).code).overrides.has('workgroupSize'), file).toBe(true);
    }
  });

  it('no entry point binds more storage buffers than WebGPU guarantees by default (8 per stage)', () => {
    // Browsers offer 10 and an application's device may have only the default 8: a kernel over that limit fails
    // to create its pipeline there (found by the browser test), so the limit is checked for every entry point.
    for (const file of listShaderFiles()) {
      const reflection = reflectShader(resolveShader(file).code);
      for (const entry of reflection.entryPoints.values()) {
        const storage = [...entry.resources].filter((name) => reflection.bindings.get(name)?.kind === 'storage');
        expect(storage.length, `${file}:${entry.name} binds ${storage.join(', ')}`).toBeLessThanOrEqual(8);
      }
    }
  });
});

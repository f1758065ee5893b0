// Packs uniform values by name into the byte layout that reflection found, checking each value against the type
// the shader declares. Values are named, never positional: a missing, unknown or ill-typed field is an error.
import type { UniformLayout } from './reflect.js';

export type UniformValue = number | boolean | readonly number[];
export type UniformValues = Record<string, UniformValue>;

/** Every field the struct declares must be given and well-typed, and no other. */
export function packUniforms(layout: UniformLayout, values: UniformValues, where: string): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil(layout.size / 16) * 16));
  const view = new DataView(bytes);
  const known = new Set(layout.members.map((member) => member.name));
  for (const name of Object.keys(values)) {
    if (!known.has(name)) {
      throw new Error(`${where}: uniform ${layout.struct} has no field "${name}" (fields: ${[...known].join(', ')})`);
    }
  }
  for (const member of layout.members) {
    const raw = values[member.name];
    if (raw === undefined) throw new Error(`${where}: uniform field ${layout.struct}.${member.name} was not given`);
    const components = typeof raw === 'number' || typeof raw === 'boolean' ? [Number(raw)] : [...raw];
    if (components.length !== member.components) {
      throw new Error(
        `${where}: uniform field ${layout.struct}.${member.name} takes ${member.components} value(s), got ${components.length}`,
      );
    }
    components.forEach((value, index) => {
      const at = member.offset + 4 * index;
      const field = `${layout.struct}.${member.name}`;
      if (member.scalar === 'f32') {
        if (!Number.isFinite(value)) throw new Error(`${where}: uniform field ${field} must be finite, got ${value}`);
        view.setFloat32(at, value, true);
      } else if (member.scalar === 'u32') {
        if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
          throw new Error(`${where}: uniform field ${field} is u32 and must be an integer in [0, 2^32), got ${value}`);
        }
        view.setUint32(at, value, true);
      } else {
        if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
          throw new Error(`${where}: uniform field ${field} is i32 and must be an integer in [-2^31, 2^31), got ${value}`);
        }
        view.setInt32(at, value, true);
      }
    });
  }
  return bytes;
}

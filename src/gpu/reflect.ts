// Buffer layouts come from the WGSL itself (wgsl_reflect), never from hand-counted offsets: binding numbers and
// access modes by variable name, uniform struct members with their offsets, override constants, and which
// resources each entry point uses (with layout "auto" only those appear in its bind group layout).
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';

export type ScalarType = 'f32' | 'u32' | 'i32';

export interface BindingInfo {
  name: string;
  group: number;
  binding: number;
  kind: 'uniform' | 'storage';
  access: 'read' | 'read_write';
}

export interface UniformMember {
  name: string;
  offset: number;
  scalar: ScalarType;
  /** 1 for scalars, 2..4 for vectors. */
  components: number;
}

export interface UniformLayout {
  variable: string;
  struct: string;
  size: number;
  members: UniformMember[];
}

export interface EntryPointInfo {
  name: string;
  workgroupSize: number[];
  resources: Set<string>;
}

export interface ShaderReflection {
  bindings: Map<string, BindingInfo>;
  uniforms: Map<string, UniformLayout>;
  overrides: Map<string, string>;
  entryPoints: Map<string, EntryPointInfo>;
}

interface ReflectType {
  name: string;
  format?: ReflectType | null;
  members?: { name: string; offset: number; size: number; type: ReflectType }[] | null;
}

function scalarOf(type: ReflectType, where: string): { scalar: ScalarType; components: number } {
  const scalars: ScalarType[] = ['f32', 'u32', 'i32'];
  if ((scalars as string[]).includes(type.name)) return { scalar: type.name as ScalarType, components: 1 };
  const vector = /^vec([234])([fiu])?$/.exec(type.name);
  if (vector) {
    const inner = vector[2] ? `${vector[2]}32` : type.format?.name;
    if (inner && (scalars as string[]).includes(inner)) {
      return { scalar: inner as ScalarType, components: Number(vector[1]) };
    }
  }
  throw new Error(`${where}: uniform member type ${type.name} is not supported (use f32, u32, i32 or their vectors)`);
}

export function reflectShader(code: string): ShaderReflection {
  const reflect = new WgslReflect(code);
  const bindings = new Map<string, BindingInfo>();
  const uniforms = new Map<string, UniformLayout>();
  for (const uniform of reflect.uniforms) {
    bindings.set(uniform.name, {
      name: uniform.name,
      group: uniform.group,
      binding: uniform.binding,
      kind: 'uniform',
      access: 'read',
    });
    const type = uniform.type as unknown as ReflectType;
    const members = (type.members ?? []).map((member) => ({
      name: member.name,
      offset: member.offset,
      ...scalarOf(member.type, `${uniform.name}.${member.name}`),
    }));
    uniforms.set(uniform.name, { variable: uniform.name, struct: type.name, size: uniform.size, members });
  }
  for (const storage of reflect.storage) {
    bindings.set(storage.name, {
      name: storage.name,
      group: storage.group,
      binding: storage.binding,
      kind: 'storage',
      access: storage.access === 'read_write' ? 'read_write' : 'read',
    });
  }
  const overrides = new Map<string, string>();
  for (const override of reflect.overrides) overrides.set(override.name, override.type?.name ?? 'unknown');
  const entryPoints = new Map<string, EntryPointInfo>();
  for (const entry of reflect.entry.compute) {
    entryPoints.set(entry.name, {
      name: entry.name,
      workgroupSize: [...(entry.workgroupSize ?? [1, 1, 1])].map(Number),
      resources: new Set((entry.resources ?? []).map((resource) => resource.name)),
    });
  }
  return { bindings, uniforms, overrides, entryPoints };
}

// The include step: a line `//#include "file.wgsl"` is replaced by that file's text (its own includes resolved
// first, each file at most once). The directive is a WGSL comment, so every file stays a well-formed WGSL module:
// helpers compile alone, and a stage compiles once its includes are in. Nothing else is spliced: no templates,
// no string fragments. The line map turns an error at line N of the resolved text back into file:line.
import { shaderSources, type ShaderFile } from './sources.generated.js';

/** Named WGSL sources: the library's own, possibly extended with an application's. */
export type ShaderSources = Readonly<Record<string, string>>;

export interface ResolvedShader {
  /** The file the stage was resolved from. */
  file: string;
  /** Complete WGSL text with every include inlined. */
  code: string;
  /** lineOrigin[i] = origin of line i + 1 of `code`. */
  lineOrigin: { file: string; line: number }[];
}

const INCLUDE = /^\s*\/\/#include\s+"([^"]+)"\s*$/;

export function isShaderFile(name: string, sources: ShaderSources = shaderSources): name is ShaderFile {
  return Object.prototype.hasOwnProperty.call(sources, name);
}

export function listShaderFiles(): ShaderFile[] {
  return Object.keys(shaderSources) as ShaderFile[];
}

const caches = new WeakMap<ShaderSources, Map<string, ResolvedShader>>();

export function resolveShader(file: string, sources: ShaderSources = shaderSources): ResolvedShader {
  let cache = caches.get(sources);
  if (!cache) {
    cache = new Map();
    caches.set(sources, cache);
  }
  const hit = cache.get(file);
  if (hit) return hit;
  const out: string[] = [];
  const origin: { file: string; line: number }[] = [];
  const included = new Set<string>();
  const visit = (name: string, chain: string[]): void => {
    if (!isShaderFile(name, sources)) {
      throw new Error(`shader include: "${name}" (included from ${chain.join(' -> ')}) is not a file in shaders/`);
    }
    if (chain.includes(name)) throw new Error(`shader include: cycle ${[...chain, name].join(' -> ')}`);
    if (included.has(name)) return;
    included.add(name);
    sources[name].split('\n').forEach((text, index) => {
      const match = INCLUDE.exec(text);
      if (match) {
        visit(match[1], [...chain, name]);
      } else {
        out.push(text);
        origin.push({ file: name, line: index + 1 });
      }
    });
  };
  visit(file, []);
  const resolved = { file, code: out.join('\n'), lineOrigin: origin };
  cache.set(file, resolved);
  return resolved;
}

/** Maps a line of the resolved text (1-based) back to "file:line". */
export function describeLine(shader: ResolvedShader, line: number): string {
  const at = shader.lineOrigin[line - 1];
  return at ? `${at.file}:${at.line}` : `${shader.file}:?${line}`;
}

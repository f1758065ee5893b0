// The architecture's rules (docs/architecture.md), held by reading the source files; no GPU. Imports are read with
// TypeScript's own scanner, so `import type`, `export ... from` and `import('...')` types all count as edges, and
// relative '.js' specifiers resolve to the .ts files they are compiled from.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Repository-relative path with forward slashes, the way the messages name files. */
const rel = (path: string): string => relative(root, path).split(sep).join('/');

function listFiles(dir: string, keep: (path: string) => boolean): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...listFiles(path, keep));
    else if (keep(path)) found.push(path);
  }
  return found;
}

interface ImportEdge {
  from: string;
  specifier: string;
  /** The repository-relative file a relative specifier names (undefined for a package, or if no file is there). */
  to?: string;
}

/** Where a relative specifier points: './x.js' is the source file './x.ts' (or './x.d.ts', or './x/index.ts'). */
function resolveSpecifier(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  const stem = base.replace(/\.(js|mjs|cjs)$/, '');
  const candidates = [`${stem}.ts`, `${stem}.mts`, `${stem}.d.ts`, base, join(base, 'index.ts')];
  const hit = candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
  return hit && rel(hit);
}

function importsOf(file: string): ImportEdge[] {
  const scanned = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return scanned.importedFiles.map(({ fileName: specifier }) => {
    if (!specifier.startsWith('.')) return { from: rel(file), specifier };
    return { from: rel(file), specifier, to: resolveSpecifier(file, specifier) };
  });
}

const sourceFiles = listFiles(join(root, 'src'), (path) => path.endsWith('.ts'));
const sourceEdges = sourceFiles.flatMap(importsOf);
const binEdges = existsSync(join(root, 'bin')) ? listFiles(join(root, 'bin'), (path) => /\.(m?js|ts)$/.test(path)).flatMap(importsOf) : [];

/**
 * Each import circle (a strongly connected component of the graph that has a cycle), described as one shortest cycle
 * through it and, when that does not visit them all, the component's other files.
 */
function importCycles(nodes: string[], edges: ImportEdge[]): string[] {
  const next = new Map<string, string[]>(nodes.map((node) => [node, []]));
  for (const edge of edges) if (edge.to && next.has(edge.to)) next.get(edge.from)!.push(edge.to);
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node)!) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      components.push(component);
    }
  };
  for (const node of nodes) if (!index.has(node)) visit(node);

  const cycles: string[] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0];
    if (component.length === 1 && !next.get(start)!.includes(start)) continue;
    // Breadth-first from start, within the component, back to start: the shortest cycle through it.
    const parent = new Map<string, string>();
    const queue = [start];
    let closing: string | undefined;
    while (queue.length > 0 && closing === undefined) {
      const node = queue.shift()!;
      for (const to of next.get(node)!) {
        if (to === start) {
          closing = node;
          break;
        }
        if (members.has(to) && !parent.has(to)) {
          parent.set(to, node);
          queue.push(to);
        }
      }
    }
    const path = [start];
    for (let node = closing!; node !== start; node = parent.get(node)!) path.splice(1, 0, node);
    path.push(start);
    const others = component.filter((member) => !path.includes(member)).sort();
    cycles.push(path.join(' -> ') + (others.length > 0 ? ` (the same circle also holds ${others.join(', ')})` : ''));
  }
  return cycles;
}

const describeEdges = (edges: ImportEdge[]): string[] => edges.map((edge) => `${edge.from} imports '${edge.specifier}' (${edge.to})`);

describe('the architecture', () => {
  it('reads the whole source tree', () => {
    expect(sourceFiles.length).toBeGreaterThan(40);
    expect(sourceEdges.filter((edge) => edge.to).length).toBeGreaterThan(100);
  });

  it('resolves every relative import to a file (so that the graph has all its edges)', () => {
    const unresolved = [...sourceEdges, ...binEdges]
      .filter((edge) => edge.specifier.startsWith('.') && !edge.to)
      .map((edge) => `${edge.from} imports '${edge.specifier}', which names no file`);
    expect(unresolved, unresolved.join('\n')).toEqual([]);
  });

  it('has no import cycle among src/**/*.ts (type-only imports included)', () => {
    const cycles = importCycles(sourceFiles.map(rel), sourceEdges);
    expect(cycles, `import cycles:\n${cycles.map((cycle) => `  ${cycle}`).join('\n')}`).toEqual([]);
  });

  it('finds a cycle where there is one (the check itself)', () => {
    const edge = (from: string, to: string): ImportEdge => ({ from, to, specifier: to });
    const nodes = ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts'];
    const edges = [edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'a.ts'), edge('c.ts', 'd.ts'), edge('e.ts', 'e.ts')];
    expect([...importCycles(nodes, edges)].sort()).toEqual(['a.ts -> b.ts -> c.ts -> a.ts', 'e.ts -> e.ts']);
    // A circle larger than its shortest cycle names its other files too.
    const wide = [edge('a.ts', 'b.ts'), edge('b.ts', 'a.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'a.ts')];
    expect(importCycles(nodes, wide)).toEqual(['a.ts -> b.ts -> a.ts (the same circle also holds c.ts)']);
    expect(importCycles(nodes, [edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts')])).toEqual([]);
  });

  it('keeps the float64 reference to the tests: nothing in src/ or bin/ outside src/reference/ imports it', () => {
    const offending = [...sourceEdges, ...binEdges].filter(
      (edge) => !edge.from.startsWith('src/reference/') && edge.to?.startsWith('src/reference/'),
    );
    expect(describeEdges(offending), describeEdges(offending).join('\n')).toEqual([]);
  });

  it('keeps src/model/ pure: it imports nothing from engine, api, cli, gpu or reference', () => {
    const forbidden = ['src/engine/', 'src/api/', 'src/cli/', 'src/gpu/', 'src/reference/'];
    const offending = sourceEdges.filter(
      (edge) => edge.from.startsWith('src/model/') && forbidden.some((layer) => edge.to?.startsWith(layer)),
    );
    expect(describeEdges(offending), describeEdges(offending).join('\n')).toEqual([]);
  });

  it('cites only what ships: docs/, README.md, src/, bin/ (and all the package ships) never name POGLM-SPEC', () => {
    // What the package ships (package.json "files"), with src/ standing for the dist/ built from it.
    const files = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }).files;
    const shipped = [...new Set([...files.map((entry) => (entry === 'dist' ? 'src' : entry)), 'docs', 'README.md', 'src', 'bin'])];
    const citing: string[] = [];
    for (const entry of shipped) {
      const path = join(root, entry);
      if (!existsSync(path)) continue;
      const texts = statSync(path).isDirectory() ? listFiles(path, (file) => /\.(ts|js|mjs|wgsl|md|json|txt)$/.test(file)) : [path];
      for (const file of texts) {
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (/POGLM-SPEC/i.test(line)) citing.push(`${rel(file)}:${i + 1}: ${line.trim()}`);
          });
      }
    }
    expect(citing, `cite repository files instead (docs/gradients.md, README.md):\n${citing.join('\n')}`).toEqual([]);
  });
});

/**
 * The import graph of the top-level folders of src/: which folder imports which (type imports
 * and re-exports included), printed as layers, the lowest first. Exits 1 when folders import each
 * other in a circle, or when a folder imports the composition root (the files directly in src/,
 * which wire every folder together). Run by CI; `npm run graph` locally.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

const SRC = resolve(__dirname, '..', 'src');
const ROOT = '(root)';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The top-level folder of src/ a file belongs to, or ROOT for the files directly in src/. */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? ROOT : parts[0];
}

/** Every relative module a file names: imports, `import type`, re-exports, `import()`. */
function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length === 1 &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter((name) => name.startsWith('.')).map((name) => resolve(dirname(file), name));
}

const edges = new Map<string, Set<string>>();
const problems: string[] = [];
for (const file of sourceFiles(SRC)) {
  const from = folderOf(file);
  if (!edges.has(from)) edges.set(from, new Set());
  for (const target of importsOf(file)) {
    if (!target.startsWith(SRC)) continue;
    const to = folderOf(target.endsWith('.ts') ? target : `${target}.ts`);
    if (to === from) continue;
    if (to === ROOT) {
      problems.push(
        `${relative(SRC, file)} imports the composition root (${relative(SRC, target)})`,
      );
    }
    edges.get(from)?.add(to);
  }
}

/** Strongly connected components (Tarjan): any of more than one folder is a circle. */
function circles(): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const connect = (v: string) => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!order.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (stack.includes(w)) {
        low.set(v, Math.min(low.get(v) as number, order.get(w) as number));
      }
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!order.has(v)) connect(v);
  return found;
}

/** Each folder's layer: one above the highest folder it imports (0: imports none). */
function layers(): Map<string, number> {
  const layer = new Map<string, number>();
  const of = (v: string, seen: Set<string>): number => {
    const known = layer.get(v);
    if (known !== undefined) return known;
    if (seen.has(v)) return 0;
    seen.add(v);
    const below = [...(edges.get(v) ?? [])].map((w) => of(w, seen));
    const value = below.length === 0 ? 0 : Math.max(...below) + 1;
    layer.set(v, value);
    return value;
  };
  for (const v of edges.keys()) of(v, new Set());
  return layer;
}

const byLayer = new Map<number, string[]>();
for (const [folder, layer] of layers()) {
  byLayer.set(layer, [...(byLayer.get(layer) ?? []), folder]);
}
for (const layer of [...byLayer.keys()].sort((a, b) => a - b)) {
  for (const folder of (byLayer.get(layer) ?? []).sort()) {
    const imports = [...(edges.get(folder) ?? [])].sort();
    process.stdout.write(
      `layer ${layer}  ${folder.padEnd(14)} -> ${imports.length === 0 ? '(nothing)' : imports.join(', ')}\n`,
    );
  }
}
for (const circle of circles()) problems.push(`folders in a circle: ${circle.join(', ')}`);
if (problems.length > 0) {
  process.stderr.write(`\n${problems.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('\nno circle between the folders of src/\n');

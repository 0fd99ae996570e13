// Dead code: every exported name of src/ (and of the test helpers in test/harness/) must be
// imported somewhere it does work. A small script over the TypeScript sources (the compiler's
// parser, nothing is run): it lists each module's exports and every import of them.
//
// Who counts as an importer: another module of src/, a bin/ script, or (for the test helpers
// in test/harness/) any test. A name that only tests import counts only when its own module
// uses it too (pure logic exported so a unit test can reach it); a function that only tests
// call is code the product never runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..', '..');

/** Findings accepted for now, "file: name" each, with one line saying why. */
const ALLOWED: Record<string, string> = {
};

function sources(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}


/** A relative specifier resolved to a source file (x.ts or x/index.ts), or null. */
function resolveSpec(root: string, from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(c)) return rel(root, c);
  return null;
}

interface Module {
  /** exported name → local name (the same unless `export { a as b }`) */
  exports: Map<string, string>;
  /** identifier text → how many times it occurs (declarations included) */
  idents: Map<string, number>;
}

/** "module\0name" → the files that import it; "module\0*" when a file takes everything. */
type Uses = Map<string, Set<string>>;

function use(uses: Uses, mod: string, name: string, by: string): void {
  const k = `${mod}\0${name}`;
  if (!uses.has(k)) uses.set(k, new Set());
  uses.get(k)!.add(by);
}

const exported = (n: ts.Node) => ts.canHaveModifiers(n) && !!ts.getModifiers(n)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

const rel = (root: string, p: string) => path.relative(root, p).split(path.sep).join('/');

function scan(root: string, file: string, uses: Uses): Module {
  const me = rel(root, file);
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const exports = new Map<string, string>();
  const idents = new Map<string, number>();
  const namespaces = new Map<string, string>();   // `import * as ns` → module
  for (const st of sf.statements) {
    if (exported(st)) {
      if (ts.isVariableStatement(st)) {
        for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) exports.set(d.name.text, d.name.text);
      } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) ||
                  ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st)) && st.name) {
        exports.set(st.name.text, st.name.text);
      }
    }
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const to = resolveSpec(root, file, st.moduleSpecifier.text);
      const b = st.importClause;
      if (!to || !b) continue;
      if (b.name) use(uses, to, 'default', me);
      if (b.namedBindings && ts.isNamespaceImport(b.namedBindings)) namespaces.set(b.namedBindings.name.text, to);
      else if (b.namedBindings) for (const e of b.namedBindings.elements) use(uses, to, (e.propertyName ?? e.name).text, me);
    }
    if (ts.isExportDeclaration(st) && st.exportClause && ts.isNamedExports(st.exportClause)) {
      const to = st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? resolveSpec(root, file, st.moduleSpecifier.text) : null;
      for (const e of st.exportClause.elements) {
        const local = (e.propertyName ?? e.name).text;
        exports.set(e.name.text, to ? '' : local);   // a pass-through has no local use of its own
        if (to) use(uses, to, local, me);
      }
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
      const to = resolveSpec(root, file, st.moduleSpecifier.text);
      if (to) use(uses, to, '*', me);
    }
  }
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) idents.set(n.text, (idents.get(n.text) ?? 0) + 1);
    if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression) && namespaces.has(n.expression.text)) {
      use(uses, namespaces.get(n.expression.text)!, n.name.text, me);
    }
    // `ns.Type` in a type position
    if (ts.isQualifiedName(n) && ts.isIdentifier(n.left) && namespaces.has(n.left.text)) {
      use(uses, namespaces.get(n.left.text)!, n.right.text, me);
    }
    // import('./x') and require('./x'): `.name` after them names what is used, else everything.
    if (ts.isCallExpression(n) && n.arguments.length === 1 && ts.isStringLiteral(n.arguments[0]) &&
        (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === 'require'))) {
      const to = resolveSpec(root, file, n.arguments[0].text);
      if (to) {
        const p = n.parent;
        if (ts.isPropertyAccessExpression(p) && p.expression === n) use(uses, to, p.name.text, me);
        else use(uses, to, '*', me);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { exports, idents };
}

/** Every finding: "file: name" for an export no one (who counts) imports. */
function deadExports(root: string): string[] {
  const uses: Uses = new Map();
  const files = [...sources(path.join(root, 'src')), ...sources(path.join(root, 'test')), ...sources(path.join(root, 'bench'))];
  const mods = new Map<string, Module>();
  for (const f of files) mods.set(rel(root, f), scan(root, f, uses));
  // bin/ scripts: require("../dist/src/x.js").name()
  for (const b of fs.existsSync(path.join(root, 'bin')) ? fs.readdirSync(path.join(root, 'bin')) : []) {
    const text = fs.readFileSync(path.join(root, 'bin', b), 'utf8');
    for (const m of text.matchAll(/require\("\.\.\/dist\/(src\/[^"]+)\.js"\)\.(\w+)/g)) use(uses, `${m[1]}.ts`, m[2], `bin/${b}`);
  }
  const isTest = (f: string) => f.startsWith('test/');
  const found: string[] = [];
  for (const [file, mod] of mods) {
    const helper = file.startsWith('test/harness/');
    if (!file.startsWith('src/') && !helper) continue;
    for (const [name, local] of mod.exports) {
      const by = new Set([...(uses.get(`${file}\0${name}`) ?? []), ...(uses.get(`${file}\0*`) ?? [])]);
      by.delete(file);
      const product = [...by].filter((f) => !isTest(f));
      if (product.length) continue;
      const tests = [...by].filter(isTest);
      // One occurrence is the declaration itself; more means the module uses it.
      const usedHere = local !== '' && (mod.idents.get(local) ?? 0) > 1;
      if (helper && tests.length) continue;
      if (tests.length && usedHere) continue;
      found.push(`${file}: ${name}${tests.length ? ' (only tests call it)' : usedHere ? ' (used only in its module: drop `export`)' : ''}`);
    }
  }
  return found.sort();
}

test('no exported name is dead: each is imported where it does work', () => {
  const found = deadExports(ROOT);
  const unexpected = found.filter((f) => !(f.replace(/ \(.*\)$/, '') in ALLOWED));
  assert.deepEqual(unexpected, [], 'exports nobody imports: remove them (or the `export`)');
  const fixed = Object.keys(ALLOWED).filter((k) => !found.some((f) => f.replace(/ \(.*\)$/, '') === k));
  assert.deepEqual(fixed, [], 'allow-list entries no longer needed: remove them');
});

test('the check finds what it looks for', () => {
  // Guards against a scan that silently finds nothing: a tiny tree with one case of each kind.
  const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'exports-'));
  try {
    const put = (f: string, text: string) => { fs.mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true }); fs.writeFileSync(path.join(tmp, f), text); };
    put('src/a.ts', [
      'export function used() { return 1; }', 'export function dead() { return 2; }',
      'export const local = 3;', 'export const tested = local + 1;', 'export function testOnly() { return 4; }',
      'export interface Shape { x: number }', 'export { used as again };', 'export type ViaNamespace = number;',
    ].join('\n'));
    put('src/b.ts', "import { used } from './a';\nimport type { Shape } from './a';\nexport function main(s: Shape) { return used() + s.x; }\n");
    put('src/c.ts', "import * as A from './a';\nexport function viaRequire(): A.ViaNamespace { return require('./a').again; }\n");
    put('test/unit/a.test.ts', "import { testOnly, tested } from '../../src/a';\nvoid testOnly; void tested;\n");
    put('test/harness/h.ts', "export const helper = 1;\nexport const unusedHelper = 2;\n");
    put('test/unit/h.test.ts', "import { helper } from '../harness/h';\nvoid helper;\n");
    put('bin/tool', 'require("../dist/src/b.js").main();\n');
    assert.deepEqual(deadExports(tmp), [
      'src/a.ts: dead', 'src/a.ts: local (used only in its module: drop `export`)', 'src/a.ts: testOnly (only tests call it)',
      'src/a.ts: tested (only tests call it)', 'src/c.ts: viaRequire', 'test/harness/h.ts: unusedHelper',
    ]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

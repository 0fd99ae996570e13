// The shape of src/ (DESIGN.md's layers, issue 15): every import points down or sideways within
// its layer, never up, and no module outside src/engine/drivers/ asks which driver a network
// has by comparing its name (a driver's abilities are data in the driver registry).
// A small script over the import graph, pure: it reads the TypeScript sources, runs nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.join(__dirname, '..', '..', '..', 'src');

/** Each top-level package of src/ and its layer: a module imports only from its own layer or below. */
const LAYER: Record<string, number> = {
  util: 0, ipam: 0, kernel: 0, store: 0,
  runtime: 1, dns: 1, cluster: 1, relay: 1,
  engine: 2,
  api: 3, cli: 3, daemon: 3,
};

/** Violations not yet fixed: "from -> to" for imports, "file" (with its count) for driver names. */
// Temporary allow-list (issue 15): shrink to empty.
const ALLOWED_UP: string[] = [];
const ALLOWED_DRIVER_NAMES: Record<string, number> = {};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

const rel = (p: string) => path.relative(SRC, p).split(path.sep).join('/');
const topOf = (r: string) => (r.includes('/') ? r.split('/')[0] : '');

/** The relative imports of one file (static, dynamic and require), resolved to src/-relative paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = new Set<string>();
  for (const re of [/\bfrom\s+'(\.[^']*)'/g, /\bimport\(\s*'(\.[^']*)'\s*\)/g, /\brequire\(\s*'(\.[^']*)'\s*\)/g, /^import\s+'(\.[^']*)'/gm]) {
    for (const m of text.matchAll(re)) specs.add(m[1]);
  }
  return [...specs].map((s) => rel(path.resolve(path.dirname(file), s)));
}

const NAMES = '(?:bridge|host|null|macvlan|ipvlan|overlay)';
const DRIVER_COMPARE = [
  new RegExp(`\\b\\w*[Dd]river\\s*[!=]==?\\s*'${NAMES}'`, 'g'),
  new RegExp(`'${NAMES}'\\s*[!=]==?\\s*[\\w.?]*[Dd]river\\b`, 'g'),
];

function driverComparisons(file: string): number {
  const text = fs.readFileSync(file, 'utf8');
  return DRIVER_COMPARE.reduce((n, re) => n + [...text.matchAll(re)].length, 0);
}

test('every package of src/ has a layer', () => {
  const tops = new Set(sources(SRC).map((f) => topOf(rel(f))).filter(Boolean));
  for (const t of tops) assert.ok(t in LAYER, `src/${t}/ is in no layer: add it to LAYER in this test`);
});

test('imports point down: no module imports from a layer above its own', () => {
  const found: string[] = [];
  for (const f of sources(SRC)) {
    const from = rel(f);
    const fromTop = topOf(from);
    if (!(fromTop in LAYER)) continue;
    for (const to of importsOf(f)) {
      const toTop = topOf(to);
      if (toTop in LAYER && LAYER[toTop] > LAYER[fromTop]) found.push(`${from} -> ${to}`);
    }
  }
  const unexpected = found.filter((x) => !ALLOWED_UP.includes(x));
  assert.deepEqual(unexpected, [], 'imports that point up a layer');
  const fixed = ALLOWED_UP.filter((x) => !found.includes(x));
  assert.deepEqual(fixed, [], 'allow-list entries no longer needed: remove them');
});

test('no module outside src/engine/drivers/ compares driver names', () => {
  const found: Record<string, number> = {};
  for (const f of sources(SRC)) {
    const r = rel(f);
    if (r.startsWith('engine/drivers/')) continue;
    const n = driverComparisons(f);
    if (n) found[r] = n;
  }
  assert.deepEqual(found, ALLOWED_DRIVER_NAMES, 'driver name comparisons outside drivers/ (ask the registry instead)');
});

test('the checks find what they look for', () => {
  // Guards against a pattern that silently matches nothing.
  const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'layers-'));
  try {
    const f = path.join(tmp, 'x.ts');
    fs.writeFileSync(f, "if (n.Driver === 'overlay' || 'bridge' !== net.Driver || driver == 'host') {}\nimport { a } from '../engine/errors';\n");
    assert.equal(driverComparisons(f), 3);
    assert.deepEqual(importsOf(f).map((p) => p.endsWith('engine/errors')), [true]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

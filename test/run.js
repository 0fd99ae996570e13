#!/usr/bin/env node
// The test runner behind `npm test` (after `npm run build`): unit tests, then end-to-end tests,
// each set with node's own test runner, then a check that the machine is as it was before:
// no new network namespace, no new link, no mount or temporary directory of a sandbox.
//
//   node test/run.js                 everything
//   node test/run.js unit            unit tests only
//   node test/run.js e2e [NAME...]   e2e tests only (NAME: e.g. ports, matches ports.test.js)
//
// BERTH_E2E_CONCURRENCY (default 2: the CI machine has 2 cores) caps e2e files run at once;
// BERTH_E2E_DEBUG=1 runs berthd with --debug and prints its log.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'test');

/** Compiled test files whose TypeScript source still exists (dist/ may hold stale ones). */
function testFiles(kind, names) {
  const out = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.js')) {
        const src = path.join(ROOT, 'test', path.relative(DIST, p)).replace(/\.js$/, '.ts');
        if (!fs.existsSync(src)) continue;
        if (names.length && !names.some((n) => e.name === `${n}.test.js` || e.name === n)) continue;
        out.push(p);
      }
    }
  };
  walk(path.join(DIST, kind));
  return out;
}

function lines(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout || '').split('\n').filter(Boolean);
}

/** What a test could leave behind on the machine. */
function machineState() {
  return {
    netns: lines('ip', ['netns', 'list']).map((l) => l.split(' ')[0]),
    links: lines('ip', ['-o', 'link', 'show']).map((l) => l.split(':')[1].trim().split('@')[0]),
    mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => /berth/.test(l)).map((l) => l.split(' ')[4]),
    tmp: fs.readdirSync(os.tmpdir()).filter((n) => /^berth-/.test(n)),
  };
}

function leaks(before, after) {
  const found = [];
  for (const k of Object.keys(after)) {
    const added = after[k].filter((x) => !before[k].includes(x));
    if (added.length) found.push(`${k}: ${added.join(', ')}`);
  }
  return found;
}

function runNodeTests(title, files, concurrency) {
  if (!files.length) {
    console.log(`\n== ${title}: no test files`);
    return true;
  }
  console.log(`\n== ${title}: ${files.length} files`);
  // --test-timeout: a guard against a hung test (each one), not a measurement.
  const args = ['--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...files];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: ROOT });
  if (r.error) console.error(r.error);
  return r.status === 0;
}

function main() {
  const [what = 'all', ...names] = process.argv.slice(2);
  const before = machineState();
  let ok = true;
  if (what === 'all' || what === 'unit') {
    ok = runNodeTests('unit tests', testFiles('unit', names), Math.max(1, os.cpus().length)) && ok;
  }
  if (what === 'all' || what === 'e2e') {
    if (process.getuid && process.getuid() !== 0) console.log('(not root: the e2e tests will skip)');
    const conc = Number(process.env.BERTH_E2E_CONCURRENCY || 2);
    ok = runNodeTests('end-to-end tests', testFiles('e2e', names), conc) && ok;
  }
  const left = leaks(before, machineState());
  if (left.length) {
    console.error(`\nFAIL: the tests left things behind on this machine:\n  ${left.join('\n  ')}`);
    ok = false;
  } else {
    console.log('\nno leftovers on the machine (netns, links, mounts, temporary directories)');
  }
  console.log(ok ? '\nALL TESTS PASSED' : '\nTESTS FAILED');
  process.exit(ok ? 0 : 1);
}

main();

// The libc calls berthd makes through koffi that need no namespace: the open-files limit.
// (Sockets made inside a container's namespace are covered end to end in e2e/dns.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

test('raiseOpenFileLimit lifts the soft limit on open files to the hard one', () => {
  const mod = path.resolve(__dirname, '../../src/kernel/libc.js');
  const out = execFileSync('sh', ['-c',
    `ulimit -Sn 256; echo "$(ulimit -Hn)"; ${JSON.stringify(process.execPath)} -e 'console.log(require(process.argv[1]).raiseOpenFileLimit())' ${JSON.stringify(mod)}`,
  ], { encoding: 'utf8' }).trim().split('\n');
  const hard = out[0];   // (RLIMIT_NOFILE's hard limit is always a number: fs.nr_open caps it)
  assert.notEqual(hard, '256');
  assert.equal(out[1], hard);
});

// berthd's one logger: debug lines (every kernel change, sysctl writes included) only with
// --debug, in the shapes berth prints; warnings always.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { log, setLogLevel } from '../../src/util/log';
import { setSysctl } from '../../src/kernel/sysctl';

function captured(fn: () => Promise<void> | void): Promise<string> {
  const write = process.stderr.write.bind(process.stderr);
  let out = '';
  (process.stderr as any).write = (s: string) => { out += s; return true; };
  return Promise.resolve().then(fn).finally(() => { (process.stderr as any).write = write; }).then(() => out);
}

test('debug lines only at the debug level; scripts indented under them', async () => {
  setLogLevel('info');
  assert.equal(await captured(() => log.debug('exec: nft -f -', 'add table inet berth')), '');
  assert.equal(await captured(() => log.warn('network n1: gone')), 'berthd: network n1: gone\n');
  setLogLevel('debug');
  try {
    assert.equal(await captured(() => log.debug('exec: nft -f -', 'add table inet berth\n')), '[debug] exec: nft -f -\n[debug]   add table inet berth\n');
    // A script given as the line itself is indented the same way, so every line says [debug].
    assert.equal(await captured(() => log.debug("shim: sh -c 'cd /b\nrunc run x'")), "[debug] shim: sh -c 'cd /b\n[debug]   runc run x'\n");
  } finally {
    setLogLevel('info');
  }
});

test('a sysctl write is a debug line (a key that does not exist fails after saying so)', async () => {
  setLogLevel('debug');
  try {
    const out = await captured(() => setSysctl('net.berth_no_such_key', '1').catch(() => undefined));
    assert.equal(out, '[debug] sysctl: net.berth_no_such_key=1\n');
  } finally {
    setLogLevel('info');
  }
});

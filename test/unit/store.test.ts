// The state store and the intent journal on a plain temporary directory: whole writes in the
// order they were asked for, leftovers of cut writes cleaned, errors that name the object and
// the cause, the reserve for facts. (The full-disk behaviour itself: test/e2e/fulldisk.test.ts.)
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Store, StoreError } from '../../src/store/store';
import { Journal } from '../../src/store/journal';

async function tmpdir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'berth-unit-store-'));
}

test('writes of one object land in the order they were asked for, each as it was then', async () => {
  const dir = await tmpdir();
  try {
    const s = new Store(dir);
    const obj = { n: 0 };
    const writes: Array<Promise<void>> = [];
    for (let i = 1; i <= 20; i++) { obj.n = i; writes.push(s.put('things', 'a', obj)); }
    obj.n = 99; // changed after the last put: not written
    await Promise.all(writes);
    assert.deepEqual(await s.get('things', 'a'), { n: 20 });
    assert.deepEqual(await fs.readdir(path.join(dir, 'things')), ['a.json']);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('loadAll removes the temporary files of writes cut short and skips unreadable records', async () => {
  const dir = await tmpdir();
  try {
    await fs.mkdir(path.join(dir, 'things'));
    await fs.writeFile(path.join(dir, 'things', 'a.json'), '{"n":1}');
    await fs.writeFile(path.join(dir, 'things', 'b.json.1234abcd.tmp'), '{"n":');
    const s = new Store(dir);
    assert.deepEqual(await s.loadAll('things'), [{ n: 1 }]);
    assert.deepEqual(await fs.readdir(path.join(dir, 'things')), ['a.json']);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a failed write names the object and the cause, and leaves the old record and no temporary file', async () => {
  const dir = await tmpdir();
  try {
    const s = new Store(dir);
    await s.put('things', 'a', { n: 1 });
    // A kind whose directory is a file: the write cannot happen.
    await fs.writeFile(path.join(dir, 'broken'), '');
    await assert.rejects(s.put('broken', 'x', { n: 2 }, { what: 'container web1' }), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /^cannot record container web1 in the state directory: E[A-Z]+: /);
      return true;
    });
    assert.deepEqual(await s.get('things', 'a'), { n: 1 });
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    assert.equal(new StoreError('networks', 'f'.repeat(64), enospc).message,
      'cannot record network ffffffffffff in the state directory: ENOSPC: no space left on device');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('init sets a reserve aside for facts; a store without init keeps none', async () => {
  const dir = await tmpdir();
  const other = await tmpdir();
  try {
    const s = new Store(dir);
    await s.init();
    assert.equal((await fs.stat(path.join(dir, 'reserve'))).size, 256 * 1024);
    const plain = new Store(other);
    await plain.put('things', 'a', { n: 1 }, { fact: true });
    assert.deepEqual(await fs.readdir(other), ['things']);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(other, { recursive: true, force: true });
  }
});

test('the journal: an intent is pending from begin until end; a failed begin names the change', async () => {
  const dir = await tmpdir();
  try {
    const j = new Journal(new Store(dir));
    const id = 'a'.repeat(64);
    const i = await j.begin('start', id, 'web1');
    assert.deepEqual((await j.pending()).map((p) => [p.op, p.container]), [['start', id]]);
    await j.end(i);
    assert.deepEqual(await j.pending(), []);
    await fs.rm(path.join(dir, 'intents'), { recursive: true });
    await fs.writeFile(path.join(dir, 'intents'), '');
    await assert.rejects(j.begin('start', id, 'web1'), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /^cannot record the start of container web1 in the state directory: EEXIST: file already exists/);
      return true;
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

// Names and ids: Docker's container-name rule and message (checked against the reference
// Docker 20.10), network names, generated names, ids.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ApiError } from '../../src/util/errors';
import { ADJECTIVES, SURNAMES, randomName, validateContainerName, validateNetworkName } from '../../src/util/names';
import { newId, shortId } from '../../src/util/ids';

test('container names: Docker rule and message', () => {
  for (const ok of ['ab', 'a..b', 'a_b-c.d', 'A1', '0x', '/web', 'web-1.2_3'])
    assert.equal(validateContainerName(ok), ok.replace(/^\//, ''), ok);
  for (const bad of ['a', '_ab', 'a b', 'a/b', 'a:b', '-ab', '.ab', '', '/', '//ab', 'é1', 'ab!'])
    assert.throws(() => validateContainerName(bad), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 400);
      assert.equal(e.message, `Invalid container name (${bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      return true;
    }, bad);
});

test('network names: anything but empty and predefined', () => {
  for (const ok of ['a', 'a b', 'a/b', 'a:b', '-ab', '.x', 'UPPER', 'x%y', 'n'.repeat(200), 'Bridge'])
    validateNetworkName(ok);
  assert.throws(() => validateNetworkName(''), { message: 'invalid name: ', status: 400 });
  for (const n of ['bridge', 'host', 'none', 'default'])
    assert.throws(() => validateNetworkName(n), { message: `operation is not permitted on predefined ${n} network`, status: 403 });
});

test('random names are adjective_surname from berth lists and valid container names', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const n = randomName();
    const [adj, sur, ...rest] = n.split('_');
    assert.equal(rest.length, 0, n);
    assert.ok(ADJECTIVES.includes(adj), n);
    assert.ok(SURNAMES.includes(sur), n);
    validateContainerName(n);
    seen.add(n);
  }
  assert.ok(seen.size > 50, 'names vary');
  assert.equal(new Set(ADJECTIVES).size, ADJECTIVES.length);
  assert.equal(new Set(SURNAMES).size, SURNAMES.length);
  for (const w of [...ADJECTIVES, ...SURNAMES]) assert.match(w, /^[a-z]+$/);
});

test('ids: 64 hex, unique, short form 12 and never all digits', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = newId();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.doesNotMatch(shortId(id), /^\d+$/);
    ids.add(id);
  }
  assert.equal(ids.size, 1000);
  assert.equal(shortId('0123456789abcdef'.repeat(4)), '0123456789ab');
});

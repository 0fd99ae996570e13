// The Docker SDK for Python (Debian's python3-docker) drives berthd unchanged: the unittest file
// test/python/test_sdk_networks.py (every network, container-network and port call, and image list filters) runs inside a
// sandbox against a real berthd, with Debian's own python3 and SDK.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Sandbox } from '../harness/sandbox';

const PY = '/usr/bin/python3';
const SDK = '/usr/lib/python3/dist-packages/docker/__init__.py';
const skip = Sandbox.skipReason() || (existsSync(PY) && existsSync(SDK) ? false : 'needs python3-docker (apt-get install python3-docker)');
const DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'python');

describe('Docker SDK for Python', { skip }, () => {
  let sb: Sandbox;

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('test_sdk_networks.py passes against berthd', async () => {
    // -I: Debian's python3 with its own packages only (not a user's pip installs).
    const r = await sb.sh(`DOCKER_HOST=unix://${sb.socket} ${PY} -I ${DIR}/test_sdk_networks.py 2>&1`,
      { allowFail: true, timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK$/m);
  });
});

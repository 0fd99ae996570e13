import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { capabilities, checkSysctls, parseBind, parseMount, parseTmpfs, processExtras } from '../../src/engine/hostconfig';
import { DEFAULT_CAPS, ALL_CAPS, ociMount } from '../../src/runtime/spec';
import { checkRestartPolicy, restartDelay, shouldRestart } from '../../src/engine/restart';

const net = { kind: 'network', name: 'bridge' } as const;

describe('HostConfig process settings', () => {
  it('capabilities: Docker\'s defaults, names in any form, ALL, unknown refused', () => {
    assert.deepEqual(capabilities(null, null), DEFAULT_CAPS);
    const c = capabilities(['net_admin', 'CAP_SYS_TIME'], ['CHOWN']);
    assert.ok(c.includes('CAP_NET_ADMIN') && c.includes('CAP_SYS_TIME') && !c.includes('CAP_CHOWN'));
    assert.deepEqual(capabilities(['ALL'], null), ALL_CAPS);
    assert.deepEqual(capabilities(['NET_RAW'], ['ALL']), ['CAP_NET_RAW']);
    assert.throws(() => capabilities(['FLY'], null), /unknown capability: "CAP_FLY"/);
  });

  it('binds: absolute host paths, ro, propagation; named volumes and bad modes refused', () => {
    assert.deepEqual(parseBind('/srv/a:/data:ro,rshared'), { type: 'bind', source: '/srv/a', target: '/data', readonly: true, options: ['rshared'], createSource: true });
    assert.throws(() => parseBind('vol:/data'), /berth has no named volumes/);
    assert.throws(() => parseBind('/a:/b:xx'), /invalid mode: xx/);
    assert.throws(() => parseBind('/a:relative'), /must be absolute/);
    assert.throws(() => parseMount({ Type: 'volume', Source: 'v', Target: '/d' }), /no named volumes/);
    assert.deepEqual(parseMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } }).options, ['size=1048576', 'mode=1777']);
    assert.deepEqual(parseTmpfs('/run', 'rw,exec,size=64m').options, ['exec', 'size=64m']);
    assert.throws(() => parseTmpfs('/run', 'bogus'), /invalid tmpfs option/);
    assert.deepEqual(ociMount(parseTmpfs('/run', 'size=1m')).options, ['size=1m', 'noexec', 'nosuid', 'nodev']);
    assert.deepEqual(ociMount(parseBind('/a:/b:ro')).options, ['rbind', 'rprivate', 'ro']);
    assert.throws(() => processExtras({ Binds: ['/a:/x', '/b:/x'] }, net), /Duplicate mount point: \/x/);
    assert.throws(() => processExtras({ Binds: ['/a:/etc/hosts'] }, net), /berth manages it/);
  });

  it('sysctls: the container\'s own namespaces only; net.* not with host or container networking', () => {
    assert.deepEqual(checkSysctls({ 'net.core.somaxconn': '1024', 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '20' }, net),
      { 'net.core.somaxconn': '1024', 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '20' });
    assert.throws(() => checkSysctls({ 'net.core.somaxconn': '1' }, { kind: 'host' }), /not allowed in host network namespace/);
    assert.throws(() => checkSysctls({ 'net.core.somaxconn': '1' }, { kind: 'container', ref: 'x' }), /shares another container/);
    assert.throws(() => checkSysctls({ 'vm.swappiness': '1' }, net), /is not allowed/);
  });

  it('restart policies: Docker\'s decisions and back-off', () => {
    assert.equal(shouldRestart({ Name: 'always' }, 0, 5, false), true);
    assert.equal(shouldRestart({ Name: 'always' }, 0, 5, true), false, 'manually stopped');
    assert.equal(shouldRestart({ Name: 'unless-stopped' }, 1, 0, false), true);
    assert.equal(shouldRestart({ Name: 'on-failure' }, 0, 0, false), false);
    assert.equal(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, 1, 1, false), true);
    assert.equal(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, 1, 2, false), false);
    assert.equal(shouldRestart({ Name: 'no' }, 1, 0, false), false);
    assert.equal(restartDelay(undefined, 0), 100);
    assert.equal(restartDelay(100, 50), 200);
    assert.equal(restartDelay(40_000, 50), 60_000);
    assert.equal(restartDelay(40_000, 10_000), 100, 'a run of 10 s resets the back-off');
    assert.equal(checkRestartPolicy({ Name: 'sometimes' }), "invalid restart policy 'sometimes'");
    assert.match(checkRestartPolicy({ Name: 'always', MaximumRetryCount: 3 })!, /only be used with 'on-failure'/);
    assert.equal(checkRestartPolicy({ Name: 'on-failure', MaximumRetryCount: 3 }), null);
  });
});

// The OCI bundle berth hands to runc: config.json with Docker's defaults, the environment,
// the user, and Docker's rule for combining Entrypoint and Cmd.
import test from 'node:test';
import assert from 'node:assert/strict';
import { commandLine, containerEnv, ociSpec, resolveUser, DEFAULT_PATH } from '../../src/runtime/spec';
import { normalizeSignal, shq, runtimeMessage } from '../../src/runtime/runtime';

const base = {
  id: 'c0ffee', args: ['sh'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] },
  hostname: 'c0ffee', tty: false, netnsPath: '/run/berth/netns/x', shareHostUts: false,
  etc: { hosts: '/d/hosts', resolvConf: '/d/resolv.conf', hostname: '/d/hostname' },
};

test('config.json: namespaces, Docker\'s capabilities (with NET_RAW), masked paths, etc mounts', () => {
  const s = ociSpec(base);
  assert.equal(s.ociVersion, '1.0.2');
  assert.deepEqual(s.linux.namespaces, [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: '/run/berth/netns/x' }]);
  assert.equal(s.hostname, 'c0ffee');
  assert.ok(s.process.capabilities.bounding.includes('CAP_NET_RAW'));
  assert.equal(s.process.capabilities.bounding.length, 14);
  assert.ok(!s.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.ok(s.linux.maskedPaths.includes('/proc/kcore'));
  assert.ok(s.linux.readonlyPaths.includes('/proc/sys'));
  assert.equal(s.linux.cgroupsPath, '/berth/c0ffee');
  const dests = s.mounts.map((m: any) => m.destination);
  assert.deepEqual(dests, ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts']);
  assert.deepEqual(s.mounts.find((m: any) => m.destination === '/etc/hosts'), { destination: '/etc/hosts', type: 'bind', source: '/d/hosts', options: ['rbind', 'rprivate'] });
  assert.equal(s.process.terminal, false);
  assert.deepEqual(s.process.user, { uid: 0, gid: 0 });
});

test('host networking shares the daemon\'s network and UTS namespaces and sets no hostname', () => {
  const s = ociSpec({ ...base, netnsPath: null, shareHostUts: true });
  assert.deepEqual(s.linux.namespaces.map((n: any) => n.type), ['pid', 'ipc', 'mount']);
  assert.equal(s.hostname, undefined);
  assert.equal(s.linux.sysctl, undefined);
});

test('environment: PATH default, HOSTNAME, TERM with a tty, then the container\'s env replacing in place', () => {
  assert.deepEqual(containerEnv(['FOO=bar'], 'h1', false), [DEFAULT_PATH, 'HOSTNAME=h1', 'FOO=bar']);
  assert.deepEqual(containerEnv(['PATH=/bin:/usr/bin:/sbin', 'FOO=bar'], 'h1', true),
    ['PATH=/bin:/usr/bin:/sbin', 'HOSTNAME=h1', 'TERM=xterm', 'FOO=bar']);
});

test('entrypoint and cmd: Docker\'s combination rules, as a create records them', () => {
  const img = { Entrypoint: ['/ep'], Cmd: ['default'] };
  const argv = (r: { entrypoint: string[] | null; cmd: string[] | null }) => [...(r.entrypoint ?? []), ...(r.cmd ?? [])];
  assert.deepEqual(commandLine(img, {}), { entrypoint: ['/ep'], cmd: ['default'] });
  assert.deepEqual(argv(commandLine(img, { cmd: ['x', 'y'] })), ['/ep', 'x', 'y']);
  assert.deepEqual(commandLine(img, { entrypoint: ['/other'] }), { entrypoint: ['/other'], cmd: null }, '--entrypoint drops the image Cmd');
  assert.deepEqual(argv(commandLine(img, { entrypoint: ['/other'], cmd: ['a'] })), ['/other', 'a']);
  // as the reference Docker records `run --entrypoint "" busybox echo hi`: Entrypoint null
  assert.deepEqual(commandLine(img, { entrypoint: [''], cmd: ['echo', 'hi'] }), { entrypoint: null, cmd: ['echo', 'hi'] });
  assert.deepEqual(commandLine({ Cmd: ['/bin/sh'] }, {}), { entrypoint: null, cmd: ['/bin/sh'] });
});

test('users: names and ids from the container\'s passwd and group files', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nweb:x:33:33::/var/www:/bin/sh\n';
  const group = 'root:x:0:\nwww-data:x:33:\nadm:x:4:web\nnogroup:x:65534:\n';
  assert.deepEqual(resolveUser('', passwd, group), { uid: 0, gid: 0, additionalGids: [0] });
  assert.deepEqual(resolveUser('nobody', passwd, group), { uid: 65534, gid: 65534, additionalGids: [65534] });
  assert.deepEqual(resolveUser('web', passwd, group), { uid: 33, gid: 33, additionalGids: [33, 4] });
  assert.deepEqual(resolveUser('1000:1000', null, null), { uid: 1000, gid: 1000, additionalGids: [1000] });
  assert.deepEqual(resolveUser('1000', null, null), { uid: 1000, gid: 0, additionalGids: [0] });
  assert.deepEqual(resolveUser('33', passwd, group), { uid: 33, gid: 33, additionalGids: [33, 4] });
  assert.deepEqual(resolveUser('nobody:adm', passwd, group), { uid: 65534, gid: 4, additionalGids: [4] });
  assert.throws(() => resolveUser('nobody', null, null), /^Error: unable to find user nobody: no matching entries in passwd file$/);
  assert.throws(() => resolveUser('0:staff', passwd, group), /unable to find group staff: no matching entries in group file/);
});

test('signals, shell quoting, runc messages', () => {
  assert.equal(normalizeSignal('kill'), 'SIGKILL');
  assert.equal(normalizeSignal('SIGTERM'), 'SIGTERM');
  assert.equal(normalizeSignal('9'), '9');
  assert.throws(() => normalizeSignal('FOO'), /Invalid signal: FOO/);
  assert.equal(shq("it's"), `'it'\\''s'`);
  assert.equal(shq('/a/b-c.d'), '/a/b-c.d');
  assert.equal(runtimeMessage('time="2024" level=error msg="runc run failed: exec: \\"x\\": not found"\n'), 'runc run failed: exec: "x": not found');
});

// `import --change` parsing, image references and layer whiteouts: pure logic of the image store.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { applyChanges, emptyImageConfig } from '../../src/runtime/changes';
import { chainIds, normalizeRef, parseRef, whiteoutPlan } from '../../src/runtime/refs';
import { ApiError } from '../../src/util/errors';

const apply = (...changes: string[]) => applyChanges(emptyImageConfig(), changes);

test('ENV: key=value pairs with quotes, the legacy one-pair form, replacement in place', () => {
  assert.deepEqual(apply('ENV PATH=/bin:/usr/bin:/sbin').Env, ['PATH=/bin:/usr/bin:/sbin']);
  assert.deepEqual(apply('ENV A=1 B="two words" C=\'x y\'').Env, ['A=1', 'B=two words', 'C=x y']);
  assert.deepEqual(apply('ENV X hello world').Env, ['X=hello world']);
  assert.deepEqual(apply('ENV A=1 B=2', 'ENV A=3').Env, ['A=3', 'B=2']);
  assert.deepEqual(apply('ENV P=/bin', 'ENV P=$P:/sbin Q=${P}').Env, ['P=/bin:/sbin', 'Q=/bin']);
});

test('CMD and ENTRYPOINT: JSON is the exec form, anything else goes through /bin/sh -c', () => {
  assert.deepEqual(apply('CMD ["a","b c"]').Cmd, ['a', 'b c']);
  assert.deepEqual(apply('CMD echo hi there').Cmd, ['/bin/sh', '-c', 'echo hi there']);
  assert.deepEqual(apply('CMD [not json').Cmd, ['/bin/sh', '-c', '[not json']);
  const c = apply('CMD echo hi there', 'ENTRYPOINT ["/bin/sh","-c"]');
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo hi there'], 'a CMD set in the same changes stays');
  const base = { ...emptyImageConfig(), Cmd: ['old'] };
  assert.equal(applyChanges(base, ['ENTRYPOINT ["x"]']).Cmd, null, 'ENTRYPOINT drops an inherited CMD');
});

test('EXPOSE, LABEL, WORKDIR, USER, VOLUME, STOPSIGNAL as the reference Docker records them', () => {
  const c = apply('EXPOSE 80 53/udp 8000-8001', 'LABEL a=b "c d"=e', 'WORKDIR /tmp', 'WORKDIR sub', 'USER nobody',
    'VOLUME ["/data"]', 'STOPSIGNAL SIGINT');
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} });
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e' });
  assert.equal(c.WorkingDir, '/tmp/sub');
  assert.equal(c.User, 'nobody');
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.StopSignal, 'SIGINT');
  assert.equal(c.Hostname, '', 'the rest of Docker\'s config shape stays');
  assert.equal(c.Entrypoint, null);
});

test('unknown or build-only instructions are refused with Docker\'s message', () => {
  for (const [change, msg] of [['FOO bar', 'foo is not a valid change command'], ['RUN true', 'run is not a valid change command'],
    ['EXPOSE 70000', 'Invalid containerPort: 70000'], ['EXPOSE http', 'Invalid containerPort: http']]) {
    assert.throws(() => apply(change), (e: unknown) => e instanceof ApiError && e.status === 400 && e.message === msg);
  }
});

test('references: default tag, registries with ports, Docker\'s errors', () => {
  assert.equal(normalizeRef('busybox'), 'busybox:latest');
  assert.equal(normalizeRef('busybox:1.36'), 'busybox:1.36');
  assert.deepEqual(parseRef('reg.example:5000/team/app'), { name: 'reg.example:5000/team/app', tag: 'latest' });
  assert.throws(() => parseRef('BusyBox'), /repository name must be lowercase/);
  assert.throws(() => parseRef('a b'), /^Error: invalid reference format$|invalid reference format/);
  assert.throws(() => parseRef('busybox:'), /invalid reference format/);
});

test('whiteouts: .wh.NAME removes NAME below, .wh..wh..opq empties the directory below', () => {
  const plan = whiteoutPlan(['./', './etc/', './etc/.wh.passwd', './var/cache/.wh..wh..opq', './var/cache/new', '.wh.top', 'usr/bin/ls']);
  assert.deepEqual(plan.remove, ['etc/passwd', 'top']);
  assert.deepEqual(plan.clear, ['var/cache']);
  assert.throws(() => whiteoutPlan(['../.wh.x']), /invalid layer entry/);
});

test('chain ids: the first is the diff id, then sha256 of "parent child"', () => {
  const h = (s: string) => createHash('sha256').update(s).digest('hex');
  const ids = chainIds(['sha256:a', 'sha256:b'], h);
  assert.deepEqual(ids, ['sha256:a', `sha256:${h('sha256:a sha256:b')}`]);
});

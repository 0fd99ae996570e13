// The embedded resolver under trouble: names keep resolving while berthd is SIGKILLed,
// restarted, or stopped and started (the resolver is a process of its own that berthd
// adopts); a killed resolver process is brought back by berthd with every container's
// sockets; one container's flood of malformed packets, or its 300 held TCP connections, do
// not stop another container's lookups. Everything is judged by outcomes (every lookup
// answered), never by how long anything took.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { OUTSIDE_ADDR, Sandbox, poll, shq } from '../harness/sandbox';
import { DNS_CLIENT as DNSQ } from '../harness/dnsclient';

const skip = Sandbox.skipReason();
const ROOT = path.resolve(__dirname, '..', '..', '..');
const FAKEDNS = path.resolve(__dirname, '..', 'harness', 'fakedns.js');
const UPSTREAM_IP = '198.51.100.7';   // what the fake upstream at 10.99.0.2 answers for *.test
const NOBODY = '10.99.0.9';           // an upstream address where nothing answers

/** Looks `name` up again and again (a line "ok" or "FAIL" each in /tmp/log) until /tmp/stop exists. */
const looper = (name: string) =>
  `i=0; while [ ! -e /tmp/stop ] && [ $i -lt 100000 ]; do i=$((i+1)); ` +
  `if nslookup ${name}. >/dev/null 2>&1; then echo ok; else echo FAIL; fi >> /tmp/log; sleep 0.1; done; touch /tmp/done; exec sleep 100000`;

/**
 * Sends malformed and made-up queries to its own resolver, in bursts of 500 (about 10,000 a
 * second: a flood that leaves this 2-core machine some CPU for the lookups it must not stop),
 * until /tmp/stop exists (at most 3,000,000); /tmp/flooding appears after the first 10,000,
 * /tmp/sent holds the count at the end.
 */
const FLOOD = `
import socket, random, struct, os, time
def packet(i):
    k = i % 8
    if k == 0: return os.urandom(random.randint(0, 600))
    if k == 1: return struct.pack('>HHHHHH', i & 0xffff, 0x0100, 1, 0, 0, 0) + os.urandom(random.randint(0, 40))
    if k == 2: return struct.pack('>HHHHHH', i & 0xffff, 0x0100, 65535, 65535, 65535, 65535) + b'\\x3f' * 100
    if k == 3: return struct.pack('>HHHHHH', i & 0xffff, 0x0100, 1, 0, 0, 0) + b'\\xc0\\x0c' + b'\\0\\1\\0\\1'
    if k == 4: return os.urandom(random.randint(1, 11))
    if k in (5, 6): return struct.pack('>HHHHHH', i & 0xffff, 0x0100, 1, 0, 0, 0) + b'\\x08' + os.urandom(4).hex().encode() + b'\\x04test\\0\\0\\1\\0\\1'
    return struct.pack('>HHHHHH', i & 0xffff, 0x8100, 1, 0, 0, 0) + b'\\x01a\\0\\0\\1\\0\\1'
packets = [packet(i) for i in range(20000)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
sent = 0
while sent < 3000000 and not (sent % 500 == 0 and os.path.exists('/tmp/stop')):
    try:
        s.sendto(packets[sent % 20000], ('127.0.0.11', 53))
    except BlockingIOError:
        pass
    sent += 1
    if sent == 10000: open('/tmp/flooding', 'w').close()
    if sent % 500 == 0: time.sleep(0.05)
open('/tmp/sent', 'w').write('%d %s' % (sent, 'stopped' if os.path.exists('/tmp/stop') else 'ran out'))
time.sleep(100000)
`;

/** Opens 300 TCP connections to its resolver and holds them until /tmp/stop exists. */
const HOG = `
import socket, os, time
held = []
for i in range(300):
    held.append(socket.create_connection(('127.0.0.11', 53), timeout=5))
open('/tmp/held', 'w').write(str(len(held)))
while not os.path.exists('/tmp/stop'): time.sleep(0.2)
time.sleep(100000)
`;

describe('embedded DNS under trouble', { skip }, () => {
  let sb: Sandbox;
  const ipOf = (c: string, net: string) => sb.inspect(c, `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`);
  const dnsq = async (c: string, ...args: string[]) => (await sb.berth(['exec', c, 'python3', '-c', DNSQ, ...args])).stdout.trim();
  /** A file inside a running container, read from the sandbox host (works while berthd is down). */
  const fileIn = async (pid: string, file: string) => (await sb.sh(`cat /proc/${pid}/root${file} 2>/dev/null || true`)).stdout;
  const lines = async (pid: string) => (await fileIn(pid, '/tmp/log')).split('\n').filter(Boolean);
  /** Live berth-dns processes (a killed one whose parent died stays a zombie under the sandbox's pid 1). */
  const resolverPids = async () => (await sb.sh("ps -eo pid=,stat=,comm= | awk '$3 == \"berth-dns\" && $2 !~ /^Z/ {print $1}'")).stdout.split('\n').filter(Boolean);
  /** A query made straight in the container's namespace from the host: needs no berthd at all. */
  const nsq = async (netns: string, name: string) => (await sb.sh(`nsenter --net=${shq(netns)} python3 -c ${shq(DNSQ)} ${name} 1`)).stdout.trim();

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    await sb.outside(`${shq(process.execPath)} ${FAKEDNS} ${OUTSIDE_ADDR} answer /dev/null >/dev/null 2>&1 &`);
    await sb.berth(['network', 'create', 'rn']);
    await sb.berth(['network', 'create', 'other']);
    await sb.berth(['run', '-d', '--name', 'target', '--network', 'rn', 'busybox', 'sleep', '100000']);
  });
  after(async () => { await sb?.cleanup(); });

  it('keeps answering through a SIGKILL and restart of berthd, and a normal stop and start', async () => {
    const want = `rcode=0 tc=0 ${await ipOf('target', 'rn')}`;
    await sb.berth(['run', '-d', '--name', 'looper', '--network', 'rn', 'busybox', 'sh', '-c', looper('target')]);
    const pid = await sb.inspect('looper', '{{.State.Pid}}');
    const netns = await sb.inspect('looper', '{{.NetworkSettings.SandboxKey}}');
    const grows = async (by: number, what: string) => {
      const from = (await lines(pid)).length;
      const got = await poll(() => lines(pid), (l) => l.length >= from + by, 600);
      assert.ok(got.length >= from + by, `${what}: the looper made ${got.length - from} lookups`);
    };
    await grows(3, 'before');
    const [resolver] = await resolverPids();
    assert.ok(resolver, 'a berth-dns process runs');

    await sb.killDaemon();
    await grows(5, 'while berthd is dead');
    assert.equal(await nsq(netns, 'target'), want, 'answered with berthd dead');
    await sb.startDaemon();
    await grows(3, 'after the restart');
    assert.deepEqual(await resolverPids(), [resolver], 'the restarted berthd adopted the running resolver');

    await sb.stopDaemon();
    await grows(5, 'while berthd is stopped');
    assert.equal(await nsq(netns, 'target'), want, 'answered with berthd stopped');
    await sb.startDaemon();
    await grows(3, 'after the start');

    // Changes still reach the adopted resolver.
    await sb.berth(['run', '-d', '--name', 'late', '--network', 'rn', 'busybox', 'sleep', '100000']);
    assert.equal(await nsq(netns, 'late'), `rcode=0 tc=0 ${await ipOf('late', 'rn')}`);
    await sb.berth(['rm', '-f', 'late']);
    assert.equal(await nsq(netns, 'late.rn'), 'rcode=3 tc=0', 'a removed name goes upstream (NXDOMAIN there)');

    await sb.berth(['exec', 'looper', 'touch', '/tmp/stop']);
    await poll(async () => (await sb.sh(`test -e /proc/${pid}/root/tmp/done && echo y || true`)).stdout, (v) => v.trim() === 'y', 300);
    const all = await lines(pid);
    assert.ok(all.length >= 19, `${all.length} lookups`);
    assert.deepEqual(all.filter((l) => l !== 'ok'), [], `every one of ${all.length} lookups answered`);
  });

  it('a killed resolver process comes back with every container\'s sockets', async () => {
    await sb.berth(['run', '-d', '--name', 'asker', '--network', 'rn', '--network-alias', 'asks', 'host', 'sleep', '100000']);
    const want = `rcode=0 tc=0 ${await ipOf('target', 'rn')}`;
    assert.equal(await dnsq('asker', 'target', '1'), want);
    const [old] = await resolverPids();
    await sb.sh(`kill -9 ${old}`);
    const now = await poll(resolverPids, (p) => p.length === 1 && p[0] !== old, 300);
    assert.equal(now.length, 1, 'berthd started another resolver');
    assert.notEqual(now[0], old);
    assert.equal(await poll(() => dnsq('asker', 'target', '1'), (v) => v === want, 50), want, 'the old container resolves again');
    assert.equal(await dnsq('asker', 'www.example.test', '1', 'tcp'), `rcode=0 tc=0 ${UPSTREAM_IP}`, 'and forwards, over TCP too');

    // Dead while berthd is dead too: the next berthd brings it back.
    await sb.killDaemon();
    const [second] = await resolverPids();
    await sb.sh(`kill -9 ${second}`);
    await sb.startDaemon();
    assert.equal(await poll(() => dnsq('asker', 'target', '1'), (v) => v === want, 50), want);
    const third = await resolverPids();
    assert.equal(third.length, 1);
    assert.ok(![old, second].includes(third[0]));
  });

  it('a resolver left by another build is replaced, with no lookup lost', async () => {
    await sb.berth(['run', '-d', '--name', 'looper2', '--network', 'rn', 'busybox', 'sh', '-c', looper('target')]);
    const pid = await sb.inspect('looper2', '{{.State.Pid}}');
    const want = `rcode=0 tc=0 ${await ipOf('target', 'rn')}`;
    const netns = await sb.inspect('looper2', '{{.NetworkSettings.SandboxKey}}');
    await poll(() => lines(pid), (l) => l.length >= 3, 600);
    // An "older build": a copy of the resolver's compiled files with one byte more, started
    // in place of the running one while berthd is down (it takes over every container from
    // the state file), the way an upgrade finds it.
    await sb.killDaemon();
    const [current] = await resolverPids();
    const old = path.join(sb.top, 'oldbuild');
    await sb.sh(`mkdir -p ${old}/src && cp -r ${shq(ROOT)}/dist/src/dns ${shq(ROOT)}/dist/src/kernel ${shq(ROOT)}/dist/src/util ${shq(ROOT)}/dist/src/ipam ${old}/src/ && echo '// older' >> ${old}/src/dns/main.js`);
    const started = await sb.sh(`NODE_PATH=${shq(path.join(ROOT, 'node_modules'))} ${shq(process.execPath)} ${old}/src/dns/main.js --dir ${sb.execRoot}/dns </dev/null >>${sb.execRoot}/dns/resolver.log 2>&1 & echo $!`);
    const olderPid = started.stdout.trim();
    await poll(() => sb.sh(`grep -c 'pid ${olderPid} build' ${sb.execRoot}/dns/resolver.log || true`), (r) => r.stdout.trim() === '1', 300);
    await sb.sh(`kill ${current}`);
    assert.deepEqual(await poll(resolverPids, (p) => p.length === 1, 100), [olderPid], 'the older build serves alone');
    assert.equal(await nsq(netns, 'target'), want, 'the older build answers');
    await sb.startDaemon();
    const now = await poll(resolverPids, (p) => p.length === 1 && p[0] !== olderPid, 300);
    assert.equal(now.length, 1);
    assert.notEqual(now[0], olderPid, 'berthd replaced the older build');
    assert.match(sb.daemonLog(), new RegExp(`replacing resolver process ${olderPid} \\(build [0-9a-f]+\\) with ${now[0]}`));
    assert.equal(await nsq(netns, 'target'), want);
    const from = (await lines(pid)).length;
    await poll(() => lines(pid), (l) => l.length >= from + 3, 600);
    await sb.berth(['exec', 'looper2', 'touch', '/tmp/stop']);
    await poll(async () => (await sb.sh(`test -e /proc/${pid}/root/tmp/done && echo y || true`)).stdout, (v) => v.trim() === 'y', 300);
    const all = await lines(pid);
    assert.deepEqual(all.filter((l) => l !== 'ok'), [], `every one of ${all.length} lookups answered`);
  });

  it('one container\'s flood of malformed packets does not stop other lookups', async () => {
    // Its upstream never answers: each made-up name it forwards would wait there for seconds.
    await sb.berth(['run', '-d', '--name', 'flooder', '--network', 'rn', '--dns', NOBODY, 'host', 'python3', '-c', FLOOD]);
    const fpid = await sb.inspect('flooder', '{{.State.Pid}}');
    await sb.berth(['run', '-d', '--name', 'calm', '--network', 'other', 'busybox', 'sleep', '100000']);
    await sb.berth(['run', '-d', '--name', 'peer', '--network', 'other', 'busybox', 'sleep', '100000']);
    await sb.berth(['run', '-d', '--name', 'near', '--network', 'rn', 'host', 'sleep', '100000']);
    const flooding = await poll(async () => (await sb.sh(`test -e /proc/${fpid}/root/tmp/flooding && echo y || true`)).stdout.trim(), (v) => v === 'y', 600);
    assert.equal(flooding, 'y', 'the flood is under way');
    // Meanwhile: lookups from another network's container, and from one on the flooder's network.
    // (names, and forwarded names every other time)
    const loop = (c: string, name: string) => sb.berth(['exec', c, 'sh', '-c',
      `n=0; for i in $(seq 10); do for q in ${name}. www.example.test.; do nslookup $q >/dev/null 2>&1 && n=$((n+1)); done; done; echo $n`]);
    const pyLoop = (c: string) => sb.berth(['exec', c, 'sh', '-c',
      `n=0; for i in $(seq 20); do python3 -c ${shq(DNSQ)} target 1 | grep -q '^rcode=0 ' && n=$((n+1)); done; echo $n`]);
    const [calm, near, own] = await Promise.all([loop('calm', 'peer'), pyLoop('near'), pyLoop('flooder')]);
    console.log(`flooder's own lookups answered during its flood: ${own.stdout.trim()} of 20`);
    await sb.berth(['exec', 'flooder', 'touch', '/tmp/stop']);
    const sent = await poll(() => fileIn(fpid, '/tmp/sent'), (v) => v !== '', 600);
    const [count, how] = sent.split(' ');
    assert.equal(how, 'stopped', `the flood lasted until the lookups were done (${sent})`);
    assert.ok(Number(count) >= 10_000, `${count} packets sent`);
    assert.equal(calm.stdout.trim(), '20', 'every lookup on the other network answered');
    assert.equal(near.stdout.trim(), '20', 'every lookup on the flooder\'s network answered');
    // The flooder itself is answered again once it stops.
    assert.equal(await dnsq('flooder', 'target', '1'), `rcode=0 tc=0 ${await ipOf('target', 'rn')}`);
  });

  it('one container holding 300 TCP connections does not stop another\'s TCP queries', async () => {
    await sb.berth(['run', '-d', '--name', 'hog', '--network', 'rn', 'host', 'python3', '-c', HOG]);
    const hpid = await sb.inspect('hog', '{{.State.Pid}}');
    await sb.berth(['run', '-d', '--name', 'tcpy', '--network', 'other', 'host', 'sleep', '100000']);
    const held = await poll(() => fileIn(hpid, '/tmp/held'), (v) => v !== '', 600);
    assert.equal(held, '300', 'the hog opened its 300 connections');
    const peer = `rcode=0 tc=0 ${await ipOf('peer', 'other')}`;
    for (let i = 0; i < 10; i++) assert.equal(await dnsq('tcpy', 'peer', '1', 'tcp'), peer, `TCP query ${i} from the other network`);
    assert.equal(await dnsq('tcpy', 'www.example.test', '1', 'tcp'), `rcode=0 tc=0 ${UPSTREAM_IP}`);
    // The hog's own fresh query gets a slot too (one of its idle connections makes room).
    assert.equal(await dnsq('hog', 'target', '1', 'tcp'), `rcode=0 tc=0 ${await ipOf('target', 'rn')}`);
    await sb.berth(['exec', 'hog', 'touch', '/tmp/stop']);
  });
});

// The embedded DNS resolver at 127.0.0.11 through the real CLI: names, aliases, short ids,
// hostnames and <name>.<network> scoped to shared user-defined networks, round robin, PTR,
// AAAA, forwarding (UDP, TCP, truncation, SERVFAIL, failover that remembers the upstream
// that answers), answers that follow every change, no answers for anyone else, survival of a
// berthd restart and of garbage packets, the default bridge's behaviour (no names; --link),
// and the seeds' exercise. Upstreams are fake resolvers on the test's "outside" machine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { OUTSIDE_ADDR, Sandbox, shq } from '../harness/sandbox';
import { DNS_CLIENT as DNSQ } from '../harness/dnsclient';

const skip = Sandbox.skipReason();
const FAKEDNS = path.resolve(__dirname, '..', 'harness', 'fakedns.js');
const UPSTREAM_IP = '198.51.100.7';   // what the fake upstream at 10.99.0.2 answers for *.test
const OTHER_UPSTREAM = '10.99.0.3';  // a second fake, answering 203.0.113.9
const DEAD_UPSTREAM = '10.99.0.4';   // a black hole that logs what it gets
const WGET = 'timeout 5 wget -qO-';

describe('embedded DNS', { skip }, () => {
  let sb: Sandbox;
  const ipOf = (c: string, net: string) => sb.inspect(c, `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`);
  const sleeper = (name: string, ...flags: string[]) => sb.berth(['run', '-d', '--name', name, ...flags, 'busybox', 'sleep', '100000']);
  /** The A addresses `name` resolves to inside container `c` (via nslookup), [] when it does not. */
  const resolve = async (c: string, name: string): Promise<string[]> => {
    // (absolute: busybox nslookup would otherwise try only the host's search domain, corp.example)
    const r = await sb.berth(['exec', c, 'nslookup', `${name}.`], { allowFail: true });
    const after = r.stdout.split(/Name:\s+\S+\n/).slice(1).join('\n');
    return [...after.matchAll(/Address(?: \d+)?:\s+([\d.]+)/g)].map((m) => m[1]);
  };
  /** A raw query from a python3 container on `net` (see DNSQ). */
  const dnsq = async (c: string, ...args: string[]) => (await sb.berth(['exec', c, 'python3', '-c', DNSQ, ...args])).stdout.trim();

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    await sb.outside(`ip addr add ${OTHER_UPSTREAM}/24 dev eth0; ip addr add ${DEAD_UPSTREAM}/24 dev eth0`);
    await sb.outside(`${shq(process.execPath)} ${FAKEDNS} ${OUTSIDE_ADDR} answer /tmp/dns-main.log >/dev/null 2>&1 &`);
    await sb.outside(`${shq(process.execPath)} ${FAKEDNS} ${OTHER_UPSTREAM} answer:203.0.113.9 /dev/null >/dev/null 2>&1 &`);
    await sb.outside(`: > /tmp/dns-dead.log; ${shq(process.execPath)} ${FAKEDNS} ${DEAD_UPSTREAM} blackhole /tmp/dns-dead.log >/dev/null 2>&1 &`);
    await sb.berth(['network', 'create', 'dn']);
    await sb.berth(['network', 'create', 'other']);
  });
  after(async () => { await sb?.cleanup(); });

  it('resolv.conf points at 127.0.0.11 with ndots:0 on a user-defined network', async () => {
    await sleeper('a1', '--network', 'dn', '--network-alias', 'alpha', '-h', 'a1host', '--dns-search', 'example.org');
    const conf = (await sb.berth(['exec', 'a1', 'cat', '/etc/resolv.conf'])).stdout;
    assert.match(conf, /^nameserver 127\.0\.0\.11$/m);
    assert.doesNotMatch(conf, /nameserver (?!127\.0\.0\.11)/);
    assert.match(conf, /^search example\.org$/m);
    assert.match(conf, /^options .*ndots:0/m);
  });

  it('names, aliases, short ids, hostnames and <name>.<network>, only on shared networks', async () => {
    await sleeper('b1', '--network', 'dn');
    await sleeper('o1', '--network', 'other');
    const a1 = await ipOf('a1', 'dn');
    const id = (await sb.inspect('a1', '{{.Id}}')).slice(0, 12);
    for (const n of ['a1', 'alpha', id, 'a1host', 'a1.dn', 'A1']) assert.deepEqual(await resolve('b1', n), [a1], n);
    // o1 lives on another network: not an embedded name, so the query goes upstream.
    assert.deepEqual(await resolve('b1', 'o1'), []);
    assert.deepEqual(await resolve('b1', 'o1.other'), []);
    // wget by name.
    await sb.berth(['run', '-d', '--name', 'web', '--network', 'dn', 'busybox', 'sh', '-c', 'echo by-name > /www/index.html; exec httpd -f -p 80 -h /www']);
    assert.equal((await sb.waitFor(`true`)).code, 0);
    let page = '';
    for (let i = 0; i < 50 && page !== 'by-name\n'; i++) page = (await sb.berth(['exec', 'b1', 'sh', '-c', `${WGET} http://web/`], { allowFail: true })).stdout;
    assert.equal(page, 'by-name\n');
  });

  it('PTR answers <name>.<network>; AAAA of a container name is empty NOERROR', async () => {
    const a1 = await ipOf('a1', 'dn');
    const r = await sb.berth(['exec', 'b1', 'nslookup', a1]);
    assert.match(r.stdout, new RegExp(`name = a1\\.dn`));
    const aaaa = await sb.berth(['exec', 'b1', 'nslookup', '-type=aaaa', 'a1.'], { allowFail: true });
    assert.doesNotMatch(aaaa.stdout + aaaa.stderr, /can't find|NXDOMAIN|SERVFAIL/);
  });

  it('an alias shared by several containers answers all of them, round robin', async () => {
    await sleeper('r1', '--network', 'dn', '--network-alias', 'pool');
    await sleeper('r2', '--network', 'dn', '--network-alias', 'pool');
    const want = [await ipOf('r1', 'dn'), await ipOf('r2', 'dn')].sort();
    const first = await resolve('b1', 'pool');
    const second = await resolve('b1', 'pool');
    assert.deepEqual([...first].sort(), want);
    assert.deepEqual([...second].sort(), want);
    assert.notDeepEqual(first, second, 'the order rotates');
  });

  it('network connect --alias and disconnect change the answers at once', async () => {
    await sb.berth(['network', 'connect', '--alias', 'bridged', 'dn', 'o1']);
    const o1 = await ipOf('o1', 'dn');
    assert.deepEqual(await resolve('b1', 'o1'), [o1]);
    assert.deepEqual(await resolve('b1', 'bridged'), [o1]);
    assert.deepEqual(await resolve('o1', 'a1'), [await ipOf('a1', 'dn')], 'o1 now sees dn names');
    await sb.berth(['network', 'disconnect', 'dn', 'o1']);
    assert.deepEqual(await resolve('b1', 'o1'), []);
    assert.deepEqual(await resolve('b1', 'bridged'), []);
  });

  it('rename, stop, start and rm change the answers at once', async () => {
    await sleeper('mover', '--network', 'dn');
    const ip = await ipOf('mover', 'dn');
    assert.deepEqual(await resolve('b1', 'mover'), [ip]);
    await sb.berth(['rename', 'mover', 'moved']);
    assert.deepEqual(await resolve('b1', 'moved'), [ip]);
    assert.deepEqual(await resolve('b1', 'mover'), []);
    await sb.berth(['kill', 'moved']);
    assert.deepEqual(await resolve('b1', 'moved'), [], 'a stopped container does not resolve');
    await sb.berth(['start', 'moved']);
    assert.deepEqual(await resolve('b1', 'moved'), [await ipOf('moved', 'dn')]);
    await sb.berth(['rm', '-f', 'moved']);
    assert.deepEqual(await resolve('b1', 'moved'), []);
  });

  it('forwards other names: the host\'s upstreams, or --dns; UDP, TCP, truncation, SERVFAIL', async () => {
    await sb.berth(['run', '-d', '--name', 'py', '--network', 'dn', 'host', 'sleep', '100000']);
    assert.equal(await dnsq('py', 'www.example.test', '1'), `rcode=0 tc=0 ${UPSTREAM_IP}`);
    assert.equal(await dnsq('py', 'www.example.test', '1', 'tcp'), `rcode=0 tc=0 ${UPSTREAM_IP}`);
    assert.equal(await dnsq('py', 'big.example.test', '1'), 'rcode=0 tc=1', 'a truncated answer is relayed as is');
    const big = (await dnsq('py', 'big.example.test', '1', 'tcp')).split(' ');
    assert.equal(big.length, 42, 'over TCP the whole answer comes back');
    assert.equal(await dnsq('py', 'nosuchname', '1'), 'rcode=3 tc=0', 'upstream NXDOMAIN is relayed');
    await sb.berth(['run', '-d', '--name', 'py2', '--network', 'dn', '--dns', OTHER_UPSTREAM, 'host', 'sleep', '100000']);
    assert.equal(await dnsq('py2', 'www.example.test', '1'), 'rcode=0 tc=0 203.0.113.9');
    assert.match((await sb.berth(['exec', 'py2', 'cat', '/etc/resolv.conf'])).stdout, /^nameserver 127\.0\.0\.11$/m);
    await sb.berth(['run', '-d', '--name', 'py3', '--network', 'dn', '--dns', '192.0.2.1', 'host', 'sleep', '100000']);
    assert.equal(await dnsq('py3', 'www.example.test', '1'), 'rcode=2 tc=0', 'no upstream answers: SERVFAIL');
  });

  it('a dead first upstream is skipped, and remembered', async () => {
    await sb.berth(['run', '-d', '--name', 'py4', '--network', 'dn', '--dns', DEAD_UPSTREAM, '--dns', OUTSIDE_ADDR, 'host', 'sleep', '100000']);
    assert.equal(await dnsq('py4', 'one.example.test', '1'), `rcode=0 tc=0 ${UPSTREAM_IP}`);
    const dead = async () => (await sb.outside('cat /tmp/dns-dead.log')).stdout.split('\n').filter(Boolean).length;
    const n = await dead();
    assert.ok(n >= 1, 'the dead upstream was tried first');
    for (const name of ['two', 'three', 'four']) assert.equal(await dnsq('py4', `${name}.example.test`, '1'), `rcode=0 tc=0 ${UPSTREAM_IP}`);
    assert.equal(await dead(), n, 'later queries go straight to the upstream that answered');
  });

  it('answers nobody but its own network\'s containers', async () => {
    const gw = await sb.inspect('dn', '{{(index .IPAM.Config 0).Gateway}}', 'network');
    // A container on the default bridge asking the dn gateway directly, and the host itself.
    await sb.berth(['run', '-d', '--name', 'stranger', 'host', 'sleep', '100000']);
    assert.equal(await dnsq('stranger', 'a1', '1', 'udp', gw), 'timeout');
    const host = await sb.sh(`python3 -c ${shq(DNSQ)} a1 1 udp ${gw}`);
    assert.equal(host.stdout.trim(), 'timeout');
    // On the default bridge nothing serves 127.0.0.11 at all.
    assert.equal(await dnsq('stranger', 'a1', '1'), 'timeout');
    // Connected to dn it gets a resolver, as with Docker (resolv.conf stays as it was).
    await sb.berth(['network', 'connect', 'dn', 'stranger']);
    assert.equal(await dnsq('stranger', 'a1', '1'), `rcode=0 tc=0 ${await ipOf('a1', 'dn')}`);
    assert.doesNotMatch((await sb.berth(['exec', 'stranger', 'cat', '/etc/resolv.conf'])).stdout, /127\.0\.0\.11/);
    await sb.berth(['network', 'disconnect', 'dn', 'stranger']);
    assert.equal(await dnsq('stranger', 'a1', '1'), 'timeout', 'off user-defined networks it goes quiet');
  });

  it('a program in the container can serve port 53 itself', async () => {
    // Our sockets sit on 127.0.0.11 at other ports, so a server binding 0.0.0.0:53 (without
    // SO_REUSEADDR) starts, answers on the container's address, and 127.0.0.11 still works.
    const refuser = 'import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(("0.0.0.0", 53))\n' +
      'while True:\n    q, a = s.recvfrom(512)\n    s.sendto(q[:2] + b"\\x81\\x05" + q[4:], a)\n';
    await sb.berth(['run', '-d', '--name', 'own53', '--network', 'dn', 'host', 'python3', '-c', refuser]);
    const own = await ipOf('own53', 'dn');
    let got = '';
    for (let i = 0; i < 20 && got !== 'rcode=5 tc=0'; i++) got = await dnsq('py', 'x.example.test', '1', 'udp', own);
    assert.equal(got, 'rcode=5 tc=0', 'the container\'s own server on port 53');
    assert.equal(await dnsq('own53', 'a1', '1'), `rcode=0 tc=0 ${await ipOf('a1', 'dn')}`);
    assert.equal(await dnsq('own53', 'www.example.test', '1', 'tcp'), `rcode=0 tc=0 ${UPSTREAM_IP}`);
  });

  it('survives garbage packets and keeps answering', async () => {
    const fuzz = `
import socket, random, struct, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    k = i % 6
    if k == 0: p = os.urandom(random.randint(0, 600))
    elif k == 1: p = struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + os.urandom(random.randint(0, 40))
    elif k == 2: p = struct.pack('>HHHHHH', i, 0x0100, 65535, 65535, 65535, 65535) + b'\\x3f' * 100
    elif k == 3: p = struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + b'\\xc0\\x0c' + b'\\0\\1\\0\\1'
    elif k == 4: p = os.urandom(random.randint(1, 11))
    else: p = struct.pack('>HHHHHH', i, 0x8100, 1, 0, 0, 0) + b'\\x01a\\0\\0\\1\\0\\1'
    s.sendto(p, ('127.0.0.11', 53))
t = socket.create_connection(('127.0.0.11', 53), timeout=3)
t.sendall(b'\\xff\\xff' + os.urandom(3000))
t.close()
t = socket.create_connection(('127.0.0.11', 53), timeout=3)
t.sendall(b'\\x00\\x05abc')
t.close()
print('sent')
`;
    assert.equal((await sb.berth(['exec', 'py', 'python3', '-c', fuzz])).stdout, 'sent\n');
    assert.deepEqual(await resolve('b1', 'a1'), [await ipOf('a1', 'dn')]);
    assert.equal(await dnsq('py', 'www.example.test', '1'), `rcode=0 tc=0 ${UPSTREAM_IP}`);
  });

  it('keeps working after berthd restarts', async () => {
    await sb.restartDaemon();
    assert.deepEqual(await resolve('b1', 'alpha'), [await ipOf('a1', 'dn')]);
    assert.equal(await dnsq('py', 'www.example.test', '1'), `rcode=0 tc=0 ${UPSTREAM_IP}`);
  });

  it('the default bridge: the host\'s resolvers, no names; --link writes /etc/hosts', async () => {
    await sleeper('d1');
    const conf = (await sb.berth(['exec', 'd1', 'cat', '/etc/resolv.conf'])).stdout;
    assert.doesNotMatch(conf, /127\.0\.0\.11/);
    assert.match(conf, new RegExp(`^nameserver ${OUTSIDE_ADDR.replace(/\./g, '\\.')}$`, 'm'));
    await sleeper('d2', '--link', 'd1:buddy');
    // (through /etc/hosts, which nslookup does not read: ping does)
    const ping = await sb.berth(['exec', 'd2', 'ping', '-c1', '-W2', 'buddy']);
    assert.match(ping.stdout, new RegExp(`^PING buddy \\(${(await sb.inspect('d1', '{{.NetworkSettings.IPAddress}}')).replace(/\./g, '\\.')}\\)`));
    assert.deepEqual(await resolve('d2', 'd1'), [], 'no embedded names on the default bridge');
    const hosts = (await sb.berth(['exec', 'd2', 'cat', '/etc/hosts'])).stdout;
    assert.match(hosts, /\tbuddy [0-9a-f]{12} d1$/m, 'alias, short id, name (as Docker)');
  });

  it('the seeds\' exercise: nginx, flask-app and mongo on public-net-1 and private-net-1', async () => {
    await sb.berth(['network', 'create', 'public-net-1']);
    await sb.berth(['network', 'create', 'private-net-1']);
    await sb.berth(['run', '-d', '--name', 'mongo', '--network', 'private-net-1', 'busybox', 'sh', '-c', 'echo mongo-here > /www/index.html; exec httpd -f -p 27017 -h /www']);
    await sb.berth(['run', '-d', '--name', 'flask-app', '--network', 'public-net-1', 'host', 'python3', '-m', 'http.server', '5000', '--directory', '/etc']);
    await sb.berth(['network', 'connect', 'private-net-1', 'flask-app']);
    await sb.berth(['run', '-d', '--name', 'nginx', '--network', 'public-net-1', 'host', 'nginx', '-g', 'daemon off;']);
    let got = '';
    for (let i = 0; i < 50 && !got.includes('hostname'); i++) {
      got = (await sb.berth(['exec', 'nginx', 'curl', '-s', '--max-time', '3', 'http://flask-app:5000/'], { allowFail: true })).stdout;
    }
    assert.match(got, /hostname/, 'nginx reaches flask-app by name');
    let mongo = '';
    for (let i = 0; i < 50 && mongo !== 'mongo-here\n'; i++) {
      mongo = (await sb.berth(['exec', 'flask-app', 'curl', '-s', '--max-time', '3', 'http://mongo:27017/'], { allowFail: true })).stdout;
    }
    assert.equal(mongo, 'mongo-here\n', 'flask-app reaches mongo by name');
    const no = await sb.berth(['exec', 'nginx', 'curl', '-s', '--max-time', '3', 'http://mongo:27017/'], { allowFail: true });
    assert.equal(no.code, 6, 'nginx cannot resolve mongo (curl: could not resolve host)');
    const byIp = await sb.berth(['exec', 'nginx', 'curl', '-s', '--max-time', '3', `http://${await ipOf('mongo', 'private-net-1')}:27017/`], { allowFail: true });
    assert.notEqual(byIp.code, 0, 'nor reach it by address');
  });
});

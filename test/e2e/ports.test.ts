// Published ports through the real CLI: every -p form of the seeds, ranges, /udp, /sctp, -P with
// --expose, `berth port` and the PORTS column of `berth ps` (Docker 20.10's output: a port
// published without an address is on 0.0.0.0 and [::]), reachability from the host (127.0.0.1, the host's
// address, the bridge gateway), from another container through the host's address and from the
// outside machine, a taken port refused before anything is made, and a 5001-port UDP range.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_ADDR, OUTSIDE_ADDR, Sandbox, shq } from '../harness/sandbox';

const skip = Sandbox.skipReason();
const WGET = 'timeout 5 wget -qO-';
const CURL = 'curl -s --max-time 5';

/** busybox httpd on each port, serving `text` (and /cgi-bin/ip: the client's address). */
function webServer(text: string, ports: number[] = [80]): string[] {
  const script = [
    `echo ${text} > /www/index.html`,
    'mkdir -p /www/cgi-bin',
    `printf '%s\\n' '#!/bin/sh' 'printf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"' > /www/cgi-bin/ip`,
    'chmod +x /www/cgi-bin/ip',
    ...ports.map((p) => `httpd -p ${p} -h /www`),
    'exec sleep 100000',
  ].join('; ');
  return ['busybox', 'sh', '-c', script];
}

/** A UDP echo server (python3 from the host image): answers "echo:<data>". */
const UDP_ECHO = (port: number) => ['host', '/usr/bin/python3', '-c',
  `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(("0.0.0.0", ${port}))\nwhile True:\n    d, a = s.recvfrom(2048)\n    s.sendto(b"echo:" + d, a)\n`];
/** Sends a datagram until an answer comes (at most 10 tries); prints the answer. */
const UDP_ASK = (host: string, port: number, msg: string) => `/usr/bin/python3 -c ${shq(
  `import socket, sys\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(1)\nfor i in range(10):\n    s.sendto(b"${msg}", ("${host}", ${port}))\n    try:\n        print(s.recvfrom(2048)[0].decode()); sys.exit(0)\n    except socket.timeout:\n        pass\nsys.exit(1)\n`)}`;

describe('published ports', { skip }, () => {
  let sb: Sandbox;
  const ports = async (c: string) => (await sb.berth(['port', c])).stdout;
  const psPorts = async (c: string) => (await sb.berth(['ps', '--filter', `name=${c}`, '--format', '{{.Ports}}'])).stdout;
  const hostGet = (url: string) => sb.waitFor(`${CURL} ${url}`, url);
  const ephemeral = (p: number) => p >= 32768 && p <= 60999;

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('-P with --expose: a free port from 32768-60999, reachable everywhere', async () => {
    await sb.berth(['run', '-d', '-P', '--expose', '80', '--name', 'web1', ...webServer('web1')]);
    const p = (await sb.berth(['port', 'web1', '80'])).stdout;
    const m = /^0\.0\.0\.0:(\d+)\n\[::\]:\1\n$/.exec(p);
    assert.ok(m, `port web1 80 printed ${JSON.stringify(p)}`);
    const hp = Number(m![1]);
    assert.ok(ephemeral(hp), `${hp} is in 32768-60999`);
    assert.equal(await psPorts('web1'), `0.0.0.0:${hp}->80/tcp, [::]:${hp}->80/tcp\n`);
    assert.equal(await ports('web1'), `80/tcp -> 0.0.0.0:${hp}\n80/tcp -> [::]:${hp}\n`);
    // From the host: localhost (the seeds' curl), 127.0.0.1, the host's address, the gateway.
    assert.equal((await hostGet(`http://localhost:${hp}/`)).stdout, 'web1\n');
    assert.equal((await hostGet(`http://127.0.0.1:${hp}/`)).stdout, 'web1\n');
    assert.equal((await hostGet(`http://${HOST_ADDR}:${hp}/`)).stdout, 'web1\n');
    assert.equal((await hostGet(`http://172.17.0.1:${hp}/`)).stdout, 'web1\n');
    // From the outside machine; the container sees the client's own address (no masquerade).
    assert.equal((await sb.waitFor(`${CURL} http://${HOST_ADDR}:${hp}/`, 'outside', 'outside')).stdout, 'web1\n');
    // (busybox httpd listens on a dual-stack socket: the address may come IPv4-mapped.)
    const seen = (await sb.outside(`${CURL} http://${HOST_ADDR}:${hp}/cgi-bin/ip`)).stdout.replace(/^\[::ffff:(.*)\]/, '$1');
    assert.equal(seen, `${OUTSIDE_ADDR}\n`);
    // From another container, through the host's address (and from a container on another network).
    const other = await sb.berth(['run', '--rm', 'busybox', 'sh', '-c', `${WGET} http://${HOST_ADDR}:${hp}/`]);
    assert.equal(other.stdout, 'web1\n');
    await sb.berth(['network', 'create', 'elsewhere']);
    const far = await sb.berth(['run', '--rm', '--network', 'elsewhere', 'busybox', 'sh', '-c', `${WGET} http://${HOST_ADDR}:${hp}/`]);
    assert.equal(far.stdout, 'web1\n');
    // The container itself, through the host's address (hairpin).
    const self = await sb.berth(['exec', 'web1', 'sh', '-c', `${WGET} http://${HOST_ADDR}:${hp}/`]);
    assert.equal(self.stdout, 'web1\n');
  });

  it('-p 8080:80 -p 8888:80 and the seeds\' fixed ports', async () => {
    await sb.berth(['run', '-d', '--name', 'web2', '-p', '8080:80', '-p', '8888:80', ...webServer('web2')]);
    assert.equal(await ports('web2'), '80/tcp -> 0.0.0.0:8080\n80/tcp -> 0.0.0.0:8888\n80/tcp -> [::]:8080\n80/tcp -> [::]:8888\n');
    assert.equal(await psPorts('web2'), '0.0.0.0:8080->80/tcp, 0.0.0.0:8888->80/tcp, [::]:8080->80/tcp, [::]:8888->80/tcp\n');
    assert.equal((await sb.berth(['port', 'web2', '80'])).stdout, '0.0.0.0:8080\n0.0.0.0:8888\n[::]:8080\n[::]:8888\n');
    assert.equal((await hostGet('http://127.0.0.1:8080/')).stdout, 'web2\n');
    assert.equal((await hostGet(`http://${HOST_ADDR}:8888/`)).stdout, 'web2\n');
    assert.equal((await sb.outside(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'web2\n');
    await sb.berth(['run', '-d', '--name', 'web3', '-p', '80:80', ...webServer('web3')]);
    assert.equal((await sb.waitFor(`${CURL} http://${HOST_ADDR}:80/`, 'port 80', 'outside')).stdout, 'web3\n');
  });

  it('every -p form on one container: port and ps print what Docker prints', async () => {
    await sb.berth(['run', '-d', '--name', 'p1', '-p', '8081:80', '-p', '127.0.0.1:8082:80', '-p', '127.0.0.1::81', '-p', '82',
      '-p', '8000-8002:90-92', '-p', '4353:53/udp', '--expose', '7000', ...webServer('p1', [80, 81, 82, 90, 91, 92])]);
    const out = await ports('p1');
    // (asked of Docker 20.10.24: the same lines, ephemeral ports aside)
    const m = /^53\/udp -> 0\.0\.0\.0:4353\n53\/udp -> \[::\]:4353\n80\/tcp -> 0\.0\.0\.0:8081\n80\/tcp -> 127\.0\.0\.1:8082\n80\/tcp -> \[::\]:8081\n81\/tcp -> 127\.0\.0\.1:(\d+)\n82\/tcp -> 0\.0\.0\.0:(\d+)\n82\/tcp -> \[::\]:\2\n90\/tcp -> 0\.0\.0\.0:8000\n90\/tcp -> \[::\]:8000\n91\/tcp -> 0\.0\.0\.0:8001\n91\/tcp -> \[::\]:8001\n92\/tcp -> 0\.0\.0\.0:8002\n92\/tcp -> \[::\]:8002\n$/.exec(out);
    assert.ok(m, `port p1:\n${out}`);
    const [r81, r82] = [Number(m![1]), Number(m![2])];
    assert.ok(ephemeral(r81) && ephemeral(r82));
    assert.equal(await psPorts('p1'), `7000/tcp, 0.0.0.0:4353->53/udp, [::]:4353->53/udp, 0.0.0.0:8081->80/tcp, 127.0.0.1:8082->80/tcp, [::]:8081->80/tcp, `
      + `127.0.0.1:${r81}->81/tcp, 0.0.0.0:${r82}->82/tcp, [::]:${r82}->82/tcp, 0.0.0.0:8000->90/tcp, [::]:8000->90/tcp, `
      + `0.0.0.0:8001->91/tcp, [::]:8001->91/tcp, 0.0.0.0:8002->92/tcp, [::]:8002->92/tcp\n`);
    assert.equal((await sb.berth(['port', 'p1', '80'])).stdout, '0.0.0.0:8081\n127.0.0.1:8082\n[::]:8081\n');
    assert.equal((await sb.berth(['port', 'p1', '53/udp'])).stdout, '0.0.0.0:4353\n[::]:4353\n');
    assert.equal((await sb.berth(['port', 'p1', '91/tcp'])).stdout, '0.0.0.0:8001\n[::]:8001\n');
    const none = await sb.berth(['port', 'p1', '7000'], { allowFail: true });
    assert.equal(none.code, 1);
    assert.equal(none.stderr, "Error: No public port '7000' published for p1\n");
    // Reachability follows the host address each mapping is bound to.
    assert.equal((await hostGet('http://127.0.0.1:8082/')).stdout, 'p1\n');
    assert.equal((await hostGet(`http://127.0.0.1:${r81}/`)).stdout, 'p1\n');
    assert.equal((await hostGet(`http://${HOST_ADDR}:${r82}/`)).stdout, 'p1\n');
    for (const p of [8000, 8001, 8002]) assert.equal((await sb.outside(`${CURL} http://${HOST_ADDR}:${p}/`)).stdout, 'p1\n');
    assert.notEqual((await sb.outside(`${CURL} http://${HOST_ADDR}:8082/`, { allowFail: true })).code, 0, '127.0.0.1-only mapping');
    assert.notEqual((await sb.sh(`${CURL} http://${HOST_ADDR}:8082/`, { allowFail: true })).code, 0, '127.0.0.1-only mapping');
  });

  it('-p IP::CTR binds one host address only', async () => {
    await sb.berth(['run', '-d', '--name', 'p2', '-p', `${HOST_ADDR}::80`, ...webServer('p2')]);
    const m = new RegExp(`^80/tcp -> ${HOST_ADDR.replace(/\./g, '\\.')}:(\\d+)\\n$`).exec(await ports('p2'));
    assert.ok(m);
    const hp = Number(m![1]);
    assert.equal(await psPorts('p2'), `${HOST_ADDR}:${hp}->80/tcp\n`);
    assert.equal((await sb.waitFor(`${CURL} http://${HOST_ADDR}:${hp}/`, 'p2', 'outside')).stdout, 'p2\n');
    assert.notEqual((await sb.sh(`${CURL} http://127.0.0.1:${hp}/`, { allowFail: true })).code, 0);
  });

  it('ranges with equal numbers collapse in ps; -P with --expose ranges and /udp', async () => {
    await sb.berth(['run', '-d', '--name', 'p3', '-p', '9000-9002:9000-9002', '-p', '11500:11500/udp', 'busybox', 'sleep', '100000']);
    assert.equal(await psPorts('p3'), '0.0.0.0:9000-9002->9000-9002/tcp, [::]:9000-9002->9000-9002/tcp, 0.0.0.0:11500->11500/udp, [::]:11500->11500/udp\n');
    await sb.berth(['run', '-d', '--name', 'p4', '-P', '--expose', '7000', '--expose', '7100-7101/udp', 'busybox', 'sleep', '100000']);
    const m = /^7000\/tcp -> 0\.0\.0\.0:(\d+)\n7000\/tcp -> \[::\]:\1\n7100\/udp -> 0\.0\.0\.0:(\d+)\n7100\/udp -> \[::\]:\2\n7101\/udp -> 0\.0\.0\.0:(\d+)\n7101\/udp -> \[::\]:\3\n$/.exec(await ports('p4'));
    assert.ok(m, await ports('p4'));
    const [a, b, c] = m!.slice(1).map(Number);
    assert.ok([a, b, c].every(ephemeral));
    assert.notEqual(b, c);
    assert.equal(await psPorts('p4'), `0.0.0.0:${a}->7000/tcp, [::]:${a}->7000/tcp, 0.0.0.0:${b}->7100/udp, [::]:${b}->7100/udp, 0.0.0.0:${c}->7101/udp, [::]:${c}->7101/udp\n`);
  });

  it('/udp: datagrams reach the container and answers come back', async () => {
    await sb.berth(['run', '-d', '--name', 'u1', '-p', '4354:53/udp', ...UDP_ECHO(53)]);
    const r = await sb.waitFor(UDP_ASK(HOST_ADDR, 4354, 'ping-outside'), 'udp from outside', 'outside');
    assert.equal(r.stdout, 'echo:ping-outside\n');
    assert.equal((await sb.sh(UDP_ASK('127.0.0.1', 4354, 'ping-local'))).stdout, 'echo:ping-local\n');
  });

  // SCTP is published on IPv4 only (berth's relay carries TCP and UDP); Docker 20.10 here
  // refuses SCTP altogether ("Error starting userland proxy: protocol not supported").
  it('/sctp mappings are listed on IPv4', async () => {
    await sb.berth(['run', '-d', '--name', 's1', '-p', '9999:9999/sctp', 'busybox', 'sleep', '100000']);
    assert.equal(await ports('s1'), '9999/sctp -> 0.0.0.0:9999\n');
    assert.equal(await psPorts('s1'), '0.0.0.0:9999->9999/sctp\n');
  });

  it('a 5000-10000/udp range works and costs what one port costs', async () => {
    const rules = async () => (await sb.sh('nft list ruleset | wc -l')).stdout.trim();
    const base = Number(await rules());
    await sb.berth(['run', '-d', '--name', 'one', '-p', '4999:4999/udp', 'busybox', 'sleep', '100000']);
    const withOne = Number(await rules());
    await sb.berth(['run', '-d', '--name', 'big', '-p', '5000-10000:5000-10000/udp', ...UDP_ECHO(7777)]);
    const withBig = Number(await rules());
    assert.ok(withBig - withOne <= Math.max(10, 2 * (withOne - base)),
      `the range added ${withBig - withOne} ruleset lines, one port ${withOne - base}`);
    assert.equal(await psPorts('big'), '0.0.0.0:5000-10000->5000-10000/udp, [::]:5000-10000->5000-10000/udp\n');
    assert.equal((await sb.berth(['port', 'big', '7777/udp'])).stdout, '0.0.0.0:7777\n[::]:7777\n');
    const all = (await ports('big')).split('\n').filter(Boolean);
    assert.equal(all.length, 10002);
    assert.equal(all[0], '5000/udp -> 0.0.0.0:5000');
    assert.equal(all[1], '5000/udp -> [::]:5000');
    assert.equal(all[10001], '10000/udp -> [::]:10000');
    const r = await sb.waitFor(UDP_ASK(HOST_ADDR, 7777, 'in-range'), 'udp in the range', 'outside');
    assert.equal(r.stdout, 'echo:in-range\n');
    assert.equal((await sb.sh('pgrep -xc berth-relay || true')).stdout.trim(), '1', 'one relay process for every IPv6 side, none per port');
  });

  it('a host port already taken is refused before anything is made', async () => {
    const before = await sb.snapshot();
    const r = await sb.berth(['run', '-d', '--name', 'clash', '-p', '8081:80', 'busybox', 'sleep', '100000'], { allowFail: true });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /Bind for 0\.0\.0\.0:8081 failed: port is already allocated/);
    // As with Docker, create succeeds and start refuses.
    await sb.berth(['create', '--name', 'clash2', '-p', '8080-8081:80-81', 'busybox', 'true']);
    const c = await sb.berth(['start', 'clash2'], { allowFail: true });
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /port is already allocated/);
    await sb.berth(['rm', 'clash2']);
    // A port a host program listens on.
    await sb.sh('/usr/bin/python3 -m http.server 9191 --bind 0.0.0.0 >/dev/null 2>&1 &');
    await sb.waitFor(`${CURL} -o /dev/null http://127.0.0.1:9191/`, 'the host program');
    const h = await sb.berth(['run', '-d', '--name', 'clash3', '-p', '9191:80', 'busybox', 'sleep', '100000'], { allowFail: true });
    assert.equal(h.code, 125);
    assert.match(h.stderr, /9191/);
    // Like Docker, `run` leaves the container it created, in state "created"; nothing else.
    assert.equal(await sb.inspect('clash', '{{.State.Status}}'), 'created');
    assert.equal(await sb.inspect('clash3', '{{.State.Status}}'), 'created');
    await sb.berth(['rm', 'clash', 'clash3']);
    assert.deepEqual(await sb.snapshot(), before, 'no container, link, rule or mount was left');
  });

  it('removing containers removes their mappings', async () => {
    await sb.berth(['rm', '-f', 'web2', 'p1']);
    assert.notEqual((await sb.outside(`${CURL} http://${HOST_ADDR}:8080/`, { allowFail: true })).code, 0);
    // The ports are free again.
    await sb.berth(['run', '-d', '--name', 'again', '-p', '8080:80', '-p', '8081:80', ...webServer('again')]);
    assert.equal((await sb.waitFor(`${CURL} http://${HOST_ADDR}:8081/`, 'again', 'outside')).stdout, 'again\n');
  });
});

// A berthd restart disturbs no traffic. Containers on the default bridge and on a user-defined
// network serve published TCP and UDP ports; three client loops make new connections the whole
// time (from the outside machine, from the host itself, and from one container to another
// container, to a published port of the other network and out through masquerade), each also
// holding one long-lived TCP session open. Meanwhile berthd is stopped and started, then
// SIGKILLed and started, several times. Not one connection may fail, the long-lived sessions
// must survive, and a restart with nothing to change must change nothing: berth's nft table is
// not rebuilt (its handles stay), no link, address or route of the host changes, and berthd's
// --debug log shows it ran nothing but reads on the host.
// Then the table's repairs: a container that died while berthd was away loses its ports in place
// (the table itself stays), a damaged or missing table is replaced whole, in one step, and
// swapping the whole table (rules that differ, as after an upgrade) drops no connection either.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { HOST_ADDR, OUTSIDE_ADDR, normalizeRuleset, poll, Sandbox, shq, type Result } from '../harness/sandbox';

const skip = Sandbox.skipReason();

/**
 * The servers, in one python3 process per container (the `host` image): TCP 80 answers one
 * HTTP-ish reply naming the container and closes; TCP 81 echoes lines for as long as the client
 * keeps the connection; UDP 5300 answers "<name>:<datagram>".
 */
const SERVER = `
import socket, socketserver, sys, threading
name = sys.argv[1].encode()
class Web(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(1024)
        self.request.sendall(b"HTTP/1.0 200 OK\\r\\n\\r\\n" + name + b"\\n")
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line)
class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 5300))
    while True:
        d, a = s.recvfrom(2048)
        s.sendto(name + b":" + d, a)
threading.Thread(target=udp, daemon=True).start()
threading.Thread(target=Server(("0.0.0.0", 81), Echo).serve_forever, daemon=True).start()
Server(("0.0.0.0", 80), Web).serve_forever()
`;

/**
 * A client loop (python3). argv[1] is its configuration: targets to connect to afresh in every
 * round (tcp: send a request, the reply's body must be `expect`; udp: one datagram, the
 * answer must be `expect`), streams to open once and exchange one line with in every round, a
 * file whose existence ends the loop and a file that counts rounds (written after each). It prints a JSON summary:
 * every failure with its time, the start time of every round, and whether each stream lived.
 * (The 10 s socket timeouts and the round limit only keep a broken run from hanging.)
 */
const CLIENT = `
import json, os, socket, sys, time
cfg = json.loads(sys.argv[1])
out = {"rounds": 0, "ok": 0, "failures": [], "starts": [], "streams": []}
def fail(what, e):
    if len(out["failures"]) < 50:
        out["failures"].append("%.3f %s: %s" % (time.time(), what, e))
def tcp(t):
    s = socket.create_connection((t["host"], t["port"]), timeout=10)
    try:
        s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    finally:
        s.close()
    if data.split(b"\\r\\n\\r\\n", 1)[-1].strip() != t["expect"].encode():
        raise Exception("answer %r" % data[:80])
def udp(t):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    try:
        s.connect((t["host"], t["port"]))
        s.send(b"ping")
        data = s.recv(2048)
    finally:
        s.close()
    if data != t["expect"].encode():
        raise Exception("answer %r" % data[:80])
streams = []
for st in cfg["streams"]:
    s = socket.create_connection((st["host"], st["port"]), timeout=10)
    streams.append({"name": "%s:%d" % (st["host"], st["port"]), "sock": s, "file": s.makefile("rb"), "lines": 0, "alive": True})
while not os.path.exists(cfg["stop"]) and out["rounds"] < 200000:
    out["starts"].append(round(time.time(), 3))
    for t in cfg["targets"]:
        what = "%s %s:%d" % (t["proto"], t["host"], t["port"])
        try:
            (tcp if t["proto"] == "tcp" else udp)(t)
            out["ok"] += 1
        except Exception as e:
            fail(what, e)
    for st in streams:
        if not st["alive"]:
            continue
        try:
            line = b"%d\\n" % out["rounds"]
            st["sock"].sendall(line)
            if st["file"].readline() != line:
                raise Exception("echo lost")
            st["lines"] += 1
        except Exception as e:
            st["alive"] = False
            fail("stream " + st["name"], e)
    out["rounds"] += 1
    with open(cfg["progress"] + ".tmp", "w") as f:
        f.write(str(out["rounds"]))
    os.replace(cfg["progress"] + ".tmp", cfg["progress"])
for st in streams:
    out["streams"].append({"name": st["name"], "alive": st["alive"], "lines": st["lines"]})
    st["sock"].close()
print(json.dumps(out))
`;

interface Summary { rounds: number; ok: number; failures: string[]; starts: number[]; streams: Array<{ name: string; alive: boolean; lines: number }> }
interface Target { proto: 'tcp' | 'udp'; host: string; port: number; expect: string }

describe('a berthd restart disturbs no traffic', { skip }, () => {
  let sb: Sandbox;
  let webIp = '';
  let web2Ip = '';
  let peerNetns = '';
  const table = async () => (await sb.sh('nft -a list table inet berth')).stdout;

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    await sb.outsideWhoami();
    await sb.berth(['network', 'create', '--subnet', '10.78.0.0/24', 'tnet']);
    // web: the default bridge; web2: the user-defined network, with every kind of map element
    // (host address, 127.0.0.1, a UDP range).
    await sb.berth(['run', '-d', '--name', 'web', '-p', '8080:80', '-p', '8081:81', '-p', '5300:5300/udp',
      '-p', '5400-5401:5400-5401/udp', 'host', '/usr/bin/python3', '-c', SERVER, 'web']);
    await sb.berth(['run', '-d', '--name', 'web2', '--network', 'tnet', '-p', '8090:80', '-p', '8091:81',
      '-p', '5301:5300/udp', '-p', `${HOST_ADDR}:8092:80`, '-p', '127.0.0.1:9090:80',
      'host', '/usr/bin/python3', '-c', SERVER, 'web2']);
    // peer: on both networks (tnet first: its default route), to reach each container directly.
    await sb.berth(['run', '-d', '--name', 'peer', '--network', 'tnet', 'busybox', 'sleep', '100000']);
    await sb.berth(['network', 'connect', 'bridge', 'peer']);
    webIp = await sb.inspect('web', '{{.NetworkSettings.IPAddress}}');
    web2Ip = await sb.inspect('web2', '{{.NetworkSettings.Networks.tnet.IPAddress}}');
    peerNetns = await sb.inspect('peer', '{{.NetworkSettings.SandboxKey}}');
    await sb.waitFor(`curl -s --max-time 5 http://${HOST_ADDR}:8080/`, 'web', 'outside');
    await sb.waitFor(`curl -s --max-time 5 http://${HOST_ADDR}:8090/`, 'web2', 'outside');
  });
  after(async () => { await sb?.cleanup(); });

  /** Start a client loop on the outside machine or the host; `prefix` puts it in another namespace. */
  function client(name: string, where: 'outside' | 'host', prefix: string, targets: Target[], streams: Array<{ host: string; port: number }>) {
    const stop = path.join(sb.top, `${name}.stop`);
    const progress = path.join(sb.top, `${name}.progress`);
    const cfg = JSON.stringify({ targets, streams, stop, progress });
    const cmd = `${prefix}/usr/bin/python3 -c ${shq(CLIENT)} ${shq(cfg)}`;
    const done: Promise<Result> = where === 'outside'
      ? sb.outside(cmd, { allowFail: true, timeoutMs: 300_000 })
      : sb.sh(cmd, { allowFail: true, timeoutMs: 300_000 });
    const rounds = async () => Number(await fs.readFile(sb.hostPath(progress), 'utf8').catch(() => '0')) || 0;
    return {
      name, rounds,
      /** Wait until the loop has done `n` more rounds than now (so it runs across what comes next). */
      async advance(n = 3): Promise<void> {
        const from = await rounds();
        const got = await poll(rounds, (r) => r >= from + n, 600);
        assert.ok(got >= from + n, `${name}: the client loop stalled at round ${got}`);
      },
      async finish(): Promise<Summary> {
        await sb.sh(`touch ${shq(stop)}`);
        const r = await done;
        assert.equal(r.code, 0, `${name}: the client loop failed: ${r.stderr}`);
        return JSON.parse(r.stdout) as Summary;
      },
    };
  }

  /** Background `nft monitor` and `ip monitor` on the host: every change berth's table or the host's links see. */
  async function monitors() {
    const dir = sb.top;
    await sb.sh(`(stdbuf -oL nft monitor > ${dir}/nft.mon 2>&1 & echo $! > ${dir}/nft.pid; ` +
      `ip -ts monitor link address route > ${dir}/ip.mon 2>&1 & echo $! > ${dir}/ip.pid)`);
    // Each is listening once it reports a probe (a scratch table, a scratch veth pair), made
    // again until it does.
    const probe = (cmd: string, f: string, what: RegExp) => poll(async () => {
      await sb.sh(cmd);
      return (await sb.sh(`cat ${dir}/${f}`)).stdout;
    }, (s) => what.test(s), 100);
    assert.match(await probe('nft add table ip berth_probe && nft delete table ip berth_probe', 'nft.mon', /delete table ip berth_probe/),
      /berth_probe/, 'nft monitor is listening');
    assert.match(await probe('ip link add probe0 type veth peer name probe1 && ip link del probe0', 'ip.mon', /Deleted.*probe0/),
      /probe0/, 'ip monitor is listening');
    const mark = { nft: (await sb.sh(`cat ${dir}/nft.mon`)).stdout.length, ip: (await sb.sh(`cat ${dir}/ip.mon`)).stdout.length };
    return {
      /** What the monitors printed since they were ready; ends them. */
      async stop(): Promise<{ nft: string; ip: string }> {
        await sb.sh(`kill $(cat ${dir}/nft.pid) $(cat ${dir}/ip.pid)`);
        return {
          nft: (await sb.sh(`cat ${dir}/nft.mon`)).stdout.slice(mark.nft),
          ip: (await sb.sh(`cat ${dir}/ip.mon`)).stdout.slice(mark.ip),
        };
      },
    };
  }

  it('stop/start and SIGKILL/start, 3 times each: no connection fails, long sessions live, nothing changes', async () => {
    const tableBefore = await table();
    assert.match(tableBefore, /tcp \. 8080 : 172\.17\.0\.\d+ \. 80/);
    const outsideClient = client('outside', 'outside', '', [
      { proto: 'tcp', host: HOST_ADDR, port: 8080, expect: 'web' },
      { proto: 'tcp', host: HOST_ADDR, port: 8090, expect: 'web2' },
      { proto: 'tcp', host: HOST_ADDR, port: 8092, expect: 'web2' },
      { proto: 'udp', host: HOST_ADDR, port: 5300, expect: 'web:ping' },
      { proto: 'udp', host: HOST_ADDR, port: 5301, expect: 'web2:ping' },
    ], [{ host: HOST_ADDR, port: 8081 }, { host: HOST_ADDR, port: 8091 }]);
    const hostClient = client('host', 'host', '', [
      { proto: 'tcp', host: '127.0.0.1', port: 8080, expect: 'web' },
      { proto: 'tcp', host: '127.0.0.1', port: 9090, expect: 'web2' },
      { proto: 'udp', host: '127.0.0.1', port: 5301, expect: 'web2:ping' },
    ], [{ host: '127.0.0.1', port: 8091 }]);
    // From one container: to the others on its two networks, to a published port of the
    // default bridge's container through the host's address, and out to the outside machine
    // (masquerade).
    const peerClient = client('peer', 'host', `nsenter --net=${shq(peerNetns)} `, [
      { proto: 'tcp', host: web2Ip, port: 80, expect: 'web2' },
      { proto: 'udp', host: web2Ip, port: 5300, expect: 'web2:ping' },
      { proto: 'tcp', host: webIp, port: 80, expect: 'web' },
      { proto: 'udp', host: webIp, port: 5300, expect: 'web:ping' },
      { proto: 'tcp', host: HOST_ADDR, port: 8080, expect: 'web' },
      { proto: 'tcp', host: OUTSIDE_ADDR, port: 8088, expect: 'outside-ok' },
    ], [{ host: web2Ip, port: 81 }]);
    const clients = [outsideClient, hostClient, peerClient];
    let mon: Awaited<ReturnType<typeof monitors>> | null = null;
    let events: { nft: string; ip: string } | null = null;
    let debugLog = '';
    const windows: Array<[number, number, string]> = [];
    const tables: Array<[string, string]> = [];
    const summaries: Summary[] = [];
    try {
      const advance = () => Promise.all(clients.map((c) => c.advance()));
      await advance();
      // The kernel's own late changes first: new links' IPv6 link-local addresses end their
      // duplicate address detection a moment after the link comes up.
      const tentative = await poll(() => sb.sh('ip -6 -o addr show tentative'), (r) => r.stdout === '');
      assert.equal(tentative.stdout, '', 'IPv6 addresses still tentative');
      mon = await monitors();
      for (const how of ['stop', 'stop', 'stop', 'kill', 'kill', 'kill'] as const) {
        if (how === 'stop') await sb.stopDaemon(); else await sb.killDaemon();
        await advance();
        const t0 = Date.now() / 1000;
        // --debug: berthd prints every command it runs on the kernel.
        await sb.startDaemon(['--debug']);
        windows.push([t0, Date.now() / 1000, how]);
        await advance();
        tables.push([how, await table()]);
      }
      debugLog = sb.daemonLog();
    } finally {
      events = mon ? await mon.stop() : null;
      for (const c of clients) summaries.push(await c.finish());
    }
    for (const [i, s] of summaries.entries()) {
      const name = clients[i].name;
      assert.deepEqual(s.failures, [], `${name}: connections that failed (restarts at ${JSON.stringify(windows)})`);
      assert.ok(s.ok > 0, `${name}: made connections`);
      for (const st of s.streams) assert.ok(st.alive && st.lines >= s.rounds, `${name}: the long-lived session ${st.name} lived (${st.lines} of ${s.rounds} lines)`);
      // The loop really ran while berthd was starting (else the check above proves nothing).
      for (const [t0, t1, how] of windows) {
        assert.ok(s.starts.some((t) => t >= t0 && t <= t1), `${name}: a round ran during a start after ${how}`);
      }
    }
    for (const [how, t] of tables) assert.equal(t, tableBefore, `after ${how} and start: berth's table (with its handles) is unchanged`);
    // (nft 1.0.6's monitor prints concatenated intervals as garbage: show the first lines only)
    const head = (s: string) => s.split('\n').slice(0, 15).map((l) => l.slice(0, 160)).join('\n');
    assert.equal(head(events!.nft), '', 'no change to the host\'s nft ruleset during the restarts');
    // The bridge itself notifies about each port once, forward_delay (15 s) after the port came
    // up, whoever does what: those notifications (a bridge port line without "qdisc") are left
    // out here, and what berthd ran is checked in its own log below.
    const portNotices = /^\[[^\]]+\] \d+: \S+: <[^>]*> mtu \d+ master \S+ state \S+ \n {4}link\/ether \S+\n/gm;
    assert.equal(head(events!.ip.replace(portNotices, '')), '', `no change to the host's links, addresses or routes during the restarts (at ${JSON.stringify(windows)})`);
    // Every command of the six starts (and of the five stops before them) only read the kernel:
    // no `ip` but `ip -j … show`, no `nft` but `nft list`, no `bridge` (commands inside a
    // container's namespace, through nsenter, are not the host's).
    const starts = debugLog.split('open files limit').length - 1;
    assert.equal(starts, 6, 'the log holds all six starts');
    const ran = debugLog.slice(debugLog.indexOf('open files limit')).split('\n')
      .filter((l) => /\[debug\] exec: (ip (?!-j )|nft (?!list )|bridge |sysctl )/.test(l));
    assert.deepEqual(ran, [], 'berthd changed nothing on the host while restarting');
  });

  it('a container that died while berthd was away loses its ports in place: the table is not rebuilt', async () => {
    await sb.berth(['run', '-d', '--name', 'doomed', '-p', '8300:80', '-p', '8301-8302:8301-8302/udp', 'busybox', 'sleep', '434343']);
    const withDoomed = await table();
    assert.match(withDoomed, /tcp \. 8300 :/);
    const handle = /^table inet berth \{ # handle (\d+)$/m.exec(withDoomed)?.[1];
    assert.ok(handle, 'the table has a handle');
    await sb.killDaemon();
    await sb.pkill('sleep 43434[3]');
    await sb.startDaemon();
    const now = await table();
    assert.doesNotMatch(now, /8300|8301/, 'the dead container\'s ports are gone');
    assert.match(now, new RegExp(`^table inet berth \\{ # handle ${handle}$`, 'm'), 'same table (same handle)');
    assert.match(now, /tcp \. 8080 : 172\.17\.0\.\d+ \. 80/, 'the others\' ports stay');
    assert.equal((await sb.outside(`curl -s --max-time 5 http://${HOST_ADDR}:8090/`)).stdout, 'web2\n');
  });

  it('a damaged table is replaced whole at start; a missing one is made; published ports work again', async () => {
    const want = normalizeRuleset((await sb.sh('nft list table inet berth')).stdout);
    for (const damage of ['nft flush chain inet berth publish', 'nft delete table inet berth',
      'nft add element inet berth pub_port { tcp . 7777 : 10.78.0.200 . 80 }']) {
      await sb.stopDaemon();
      await sb.sh(damage);
      assert.notEqual(normalizeRuleset((await sb.sh('nft list table inet berth', { allowFail: true })).stdout), want, `${damage} changed the table`);
      await sb.startDaemon();
      assert.equal(normalizeRuleset((await sb.sh('nft list table inet berth')).stdout), want, `after ${damage}: the table is berth's again`);
      assert.equal((await sb.outside(`curl -s --max-time 5 http://${HOST_ADDR}:8080/`)).stdout, 'web\n');
    }
  });

  it('a table whose rules differ (as after an upgrade) is swapped whole while traffic flows', async () => {
    const want = normalizeRuleset((await sb.sh('nft list table inet berth')).stdout);
    const outsideClient = client('outside2', 'outside', '', [
      { proto: 'tcp', host: HOST_ADDR, port: 8080, expect: 'web' },
      { proto: 'udp', host: HOST_ADDR, port: 5301, expect: 'web2:ping' },
    ], [{ host: HOST_ADDR, port: 8091 }]);
    const peerClient = client('peer2', 'host', `nsenter --net=${shq(peerNetns)} `, [
      { proto: 'tcp', host: web2Ip, port: 80, expect: 'web2' },
      { proto: 'tcp', host: HOST_ADDR, port: 8080, expect: 'web' },
      { proto: 'tcp', host: OUTSIDE_ADDR, port: 8088, expect: 'outside-ok' },
    ], [{ host: webIp, port: 81 }]);
    const clients = [outsideClient, peerClient];
    const summaries: Summary[] = [];
    let old = '';
    let now = '';
    const windows: Array<[number, number, string]> = [];
    try {
      const advance = () => Promise.all(clients.map((c) => c.advance()));
      await advance();
      await sb.stopDaemon();
      // A rule this berth would not write (harmless: it only counts).
      await sb.sh('nft add rule inet berth publish counter');
      old = (await table());
      await advance();
      const t0 = Date.now() / 1000;
      await sb.startDaemon();
      windows.push([t0, Date.now() / 1000, 'upgrade']);
      await advance();
      now = await table();
    } finally {
      for (const c of clients) summaries.push(await c.finish());
    }
    for (const [i, s] of summaries.entries()) {
      const name = clients[i].name;
      assert.deepEqual(s.failures, [], `${name}: connections that failed (restart at ${JSON.stringify(windows)})`);
      for (const st of s.streams) assert.ok(st.alive && st.lines >= s.rounds, `${name}: the long-lived session ${st.name} lived`);
      assert.ok(s.starts.some((t) => t >= windows[0][0] && t <= windows[0][1]), `${name}: a round ran during the start`);
    }
    const handleOf = (t: string) => /^table inet berth \{ # handle (\d+)$/m.exec(t)?.[1];
    assert.notEqual(handleOf(now), handleOf(old), 'a new table took the old one\'s place');
    assert.equal(normalizeRuleset(now.replace(/ # handle \d+/g, '')), want, 'berth\'s own rules, with every element');
  });
});

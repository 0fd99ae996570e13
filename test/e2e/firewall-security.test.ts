// The firewall closes what Docker closes, tried from the attacker's side:
//  - a neighbour that routes the containers' subnets via the host (the outside machine, with a
//    route added) reaches no container port directly, published or not, while published ports
//    keep working from outside, from the host (its address and 127.0.0.1) and from containers;
//  - a container that sends a hand-made frame to its gateway's MAC addressed to 127.0.0.1
//    (the class of CVE-2020-8558) does not reach a host service bound to 127.0.0.1, while
//    `-p 127.0.0.1:…` still serves the host;
//  - the user chain in berth's table firewalls published ports (and keeps its rules, sets
//    included, when berthd restarts and replaces the table whole, and when it replaces an
//    older berth's `ip berth` and `ip6 berth` with `inet berth`), and `berthd --ports-from`
//    limits who outside may reach published ports.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_ADDR, OUTSIDE_ADDR, Sandbox, poll, shq } from '../harness/sandbox';

const skip = Sandbox.skipReason();
const WGET = 'timeout 5 wget -qO-';
/** For connections that must fail: a drop never answers, so this bounds the wait (not a measurement). */
const CURL_NO = 'curl -s --max-time 2';
const CURL = 'curl -s --max-time 5';

/** busybox httpd on each port, serving `text`. */
function webServer(text: string, ports: number[]): string[] {
  const script = [`echo ${text} > /www/index.html`, ...ports.map((p) => `httpd -p ${p} -h /www`), 'exec sleep 100000'].join('; ');
  return ['busybox', 'sh', '-c', `mkdir -p /www; ${script}`];
}

/**
 * A host process that records every UDP datagram reaching 127.0.0.1:5555 ("attack") or
 * GATEWAY:5556 ("marker"), one line each, in FILE.
 */
const LISTENER = (gateway: string, file: string) => `import socket, select
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", 5555))
m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); m.bind(("${gateway}", 5556))
out = open("${file}", "a", buffering=1)
while True:
    for s in select.select([a, m], [], [])[0]:
        d, src = s.recvfrom(2048)
        out.write(("attack " if s is a else "marker ") + src[0] + " " + d.decode(errors="replace") + "\\n")
`;

/**
 * Run in a container (python3 of the host image, default capabilities: NET_RAW): learn the
 * gateway's MAC, then send through a packet socket, to that MAC, three UDP datagrams
 * addressed to 127.0.0.1:5555 and then one to GATEWAY:5556. The frames take one path in
 * order, so once the marker has arrived any attack datagram that was to arrive has too.
 */
const ATTACKER = (gateway: string) => `import socket, struct, time
GW = "${gateway}"
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def frame(src, dst, dport, payload):
    udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return gwmac + mymac + b"\\x08\\x00" + ip + udp
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect((GW, 9))
me = u.getsockname()[0]
gwmac = None
for i in range(100):
    u.send(b"arp")   # an ordinary datagram to the gateway: the kernel resolves its MAC
    for line in open("/proc/net/arp").read().splitlines()[1:]:
        f = line.split()
        if f[0] == GW and f[3] != "00:00:00:00:00:00":
            gwmac = bytes.fromhex(f[3].replace(":", ""))
    if gwmac: break
    time.sleep(0.1)
mymac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
p.bind(("eth0", 0))
for i in range(3):
    p.send(frame(me, "127.0.0.1", 5555, b"to-loopback"))
p.send(frame(me, GW, 5556, b"done"))
print("sent")
`;

describe('the firewall closes what Docker closes', { skip }, () => {
  let sb: Sandbox;
  let web = '';        // web's address on the default bridge
  let far = '';        // far's address on the user-defined network n1

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    await sb.berth(['network', 'create', '--subnet', '172.30.0.0/24', 'n1']);
    // web: port 80 published as 8080, port 81 not published; far: nothing published.
    await sb.berth(['run', '-d', '--name', 'web', '-p', '8080:80', '-p', '127.0.0.1:9090:80', ...webServer('web', [80, 81])]);
    await sb.berth(['run', '-d', '--name', 'far', '--network', 'n1', ...webServer('far', [80])]);
    web = await sb.inspect('web', '{{.NetworkSettings.IPAddress}}');
    far = await sb.inspect('far', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
    // The neighbour routes the containers' subnets via the host, as a router on the LAN would.
    await sb.outside(`ip route add 172.17.0.0/16 via ${HOST_ADDR} && ip route add 172.30.0.0/24 via ${HOST_ADDR}`);
    await sb.waitFor(`${CURL} http://127.0.0.1:8080/`, 'web on 127.0.0.1:8080');
  });
  after(async () => { await sb?.cleanup(); });

  it('a neighbour routing via the host reaches no container directly; published ports work from everywhere', async () => {
    // The legitimate ways in, first (they also show the containers are serving).
    assert.equal((await sb.waitFor(`${CURL} http://${HOST_ADDR}:8080/`, 'published port from outside', 'outside')).stdout, 'web\n');
    assert.equal((await sb.sh(`${CURL} http://127.0.0.1:8080/`)).stdout, 'web\n');
    assert.equal((await sb.sh(`${CURL} http://127.0.0.1:9090/`)).stdout, 'web\n');
    assert.equal((await sb.sh(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'web\n');
    assert.equal((await sb.sh(`${CURL} http://${web}:81/`)).stdout, 'web\n', 'the host reaches its containers');
    // From containers: the same network directly, another network through the published port,
    // the container itself through the host's address (hairpin), and the way out.
    assert.equal((await sb.berth(['run', '--rm', 'busybox', 'sh', '-c', `${WGET} http://${web}:81/`])).stdout, 'web\n');
    assert.equal((await sb.berth(['run', '--rm', '--network', 'n1', 'busybox', 'sh', '-c', `${WGET} http://${HOST_ADDR}:8080/`])).stdout, 'web\n');
    assert.equal((await sb.berth(['exec', 'web', 'sh', '-c', `${WGET} http://${HOST_ADDR}:8080/`])).stdout, 'web\n');
    const whoami = await sb.outsideWhoami();
    assert.equal((await sb.berth(['exec', 'far', 'sh', '-c', `${WGET} ${whoami}/index.html`])).stdout, 'outside-ok\n');
    // The attacker: straight to the containers' addresses, published container port or not.
    for (const url of [`http://${web}:81/`, `http://${web}:80/`, `http://${far}:80/`]) {
      const r = await sb.outside(`${CURL_NO} ${url}`, { allowFail: true });
      assert.notEqual(r.code, 0, `the neighbour reached ${url}: ${r.stdout}`);
    }
    const ping = await sb.outside(`ping -c1 -W1 ${web}`, { allowFail: true });
    assert.notEqual(ping.code, 0, 'the neighbour pinged a container');
  });

  it('a container cannot reach the host\'s 127.0.0.1 services with a hand-made frame; -p 127.0.0.1: still serves the host', async () => {
    const gateway = await sb.inspect('bridge', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', 'network');
    const file = `${sb.top}/udp-seen`;
    await sb.sh(`touch ${file}; python3 -c ${shq(LISTENER(gateway, file))} >/dev/null 2>&1 &`);
    await sb.waitFor(`ss -Hlun 'sport = :5556' | grep -q .`, 'the host listener');
    const r = await sb.berth(['run', '--rm', 'host', '/usr/bin/python3', '-c', ATTACKER(gateway)]);
    assert.equal(r.stdout, 'sent\n');
    const seen = await poll(() => sb.sh(`cat ${file}`).then((x) => x.stdout), (s) => s.includes('marker'));
    assert.match(seen, /^marker \S+ done$/m, `the marker frame reached the host: ${seen}`);
    assert.doesNotMatch(seen, /attack/, 'a datagram from a container reached a service bound to 127.0.0.1');
    assert.equal((await sb.sh(`${CURL} http://127.0.0.1:9090/`)).stdout, 'web\n');
  });

  it('the user chain firewalls published ports and keeps its rules, sets included, across a restart that replaces the table', async () => {
    const fromOutside = () => sb.outside(`${CURL_NO} http://${HOST_ADDR}:8080/`, { allowFail: true });
    // As Docker's DOCKER-USER, the chain sees a published port after its DNAT: the port the
    // client asked for is `ct original proto-dst` (after a protocol match).
    await sb.sh(`nft add rule inet berth user ip saddr ${OUTSIDE_ADDR} meta l4proto tcp ct original proto-dst 8080 drop`);
    assert.notEqual((await fromOutside()).code, 0, 'the user\'s rule did not block the published port');
    assert.equal((await sb.sh(`${CURL} http://127.0.0.1:8080/`)).stdout, 'web\n', 'the host still reaches it');
    // A set of the user's own, looked up by a rule of the user chain.
    await sb.sh(`nft add set inet berth userblock '{ type ipv4_addr; }' && nft add element inet berth userblock '{ ${OUTSIDE_ADDR} }'`
      + ` && nft add rule inet berth user ip saddr @userblock tcp dport 81 drop`);
    const kept = async () => {
      const chain = (await sb.sh('nft list chain inet berth user')).stdout;
      assert.match(chain, /ip saddr 10\.99\.0\.2 meta l4proto tcp ct original proto-dst 8080 drop/);
      assert.match(chain, /ip saddr @userblock tcp dport 81 drop/);
      assert.match((await sb.sh('nft list set inet berth userblock')).stdout, /elements = \{ 10\.99\.0\.2 \}/);
    };
    // A plain restart changes only elements; --ports-from changes berth's own rules, so that
    // start replaces the table whole.
    await sb.restartDaemon();
    await kept();
    await sb.restartDaemon(['--ports-from', '10.99.0.0/24']);
    await kept();
    assert.match((await sb.sh('nft list chain inet berth forward')).stdout, /ip saddr != 10\.99\.0\.0\/24 drop/, 'the table was replaced');
    assert.notEqual((await fromOutside()).code, 0, 'the user\'s rule was lost at the restart');
    // Without the user's rule, --ports-from 10.99.0.0/24 lets the outside machine in.
    await sb.sh('nft flush chain inet berth user');
    assert.equal((await sb.outside(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'web\n');
  });

  it('an older berth\'s tables, ip berth and ip6 berth, become inet berth in one transaction; the user\'s rules come along', async () => {
    const web = await sb.inspect('web', '{{.NetworkSettings.IPAddress}}');
    await sb.stopDaemon();
    // What a berth before the inet table left (trimmed to what matters here): its table per
    // family, published ports NATed in `ip berth`, and the user's own rules and set.
    await sb.sh(`nft -f - <<'EOF'
delete table inet berth
table ip berth {
  set bridges { type ifname; elements = { "berth0" } }
  set userblock { type ipv4_addr; elements = { ${OUTSIDE_ADDR} } }
  map pub_port { type inet_proto . inet_service : ipv4_addr . inet_service; elements = { tcp . 8080 : ${web} . 80 } }
  chain user {
    ip saddr @userblock meta l4proto tcp ct original proto-dst 8080 drop
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local meta l4proto tcp dnat ip to meta l4proto . th dport map @pub_port
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname @bridges jump user
    iifname != @bridges oifname @bridges jump user
  }
}
table ip6 berth {
  chain user {
    ip6 saddr fd99::2 meta l4proto tcp ct original proto-dst 8080 drop
  }
}
EOF`);
    assert.notEqual((await sb.outside(`${CURL_NO} http://${HOST_ADDR}:8080/`, { allowFail: true })).code, 0, 'the old table\'s user rule holds');
    const logFrom = sb.daemonLog().length;
    await sb.startDaemon(['--debug']);
    try {
      const log = sb.daemonLog().slice(logFrom);
      const tables = (await sb.sh('nft list tables')).stdout;
      assert.match(tables, /^table inet berth$/m);
      assert.doesNotMatch(tables, /^table ip6? berth$/m, 'the old tables are gone');
      // One `nft -f` made the new table and removed the old ones: no moment with neither.
      // (Each script is one debug block: "[debug] nft -f - (libnftables)" and its lines.)
      const scripts = log.split(/\[debug\] (?:exec: )?(?=nft -f -)/).slice(1);
      const swap = scripts.filter((b) => b.includes('table inet berth {'));
      assert.equal(swap.length, 1, swap.join('\n---\n'));
      assert.match(swap[0], /delete table ip berth\n[\s\S]*delete table ip6 berth\n/);
      assert.ok(!scripts.some((b) => b !== swap[0] && /delete table ip6? berth\b/.test(b)), 'no other transaction touched them');
      assert.match(log, /replacing tables ip berth, ip6 berth \(an older berth's\) with table inet berth/);
      // The user's rules, each still for its own family, and their set.
      const user = (await sb.sh('nft list chain inet berth user')).stdout;
      assert.match(user, /^\s+ip saddr @userblock meta l4proto tcp ct original proto-dst 8080 drop$/m);
      assert.match(user, /^\s+ip6 saddr fd99::2 meta l4proto tcp ct original proto-dst 8080 drop$/m);
      assert.match((await sb.sh('nft list set inet berth userblock')).stdout, /elements = \{ 10\.99\.0\.2 \}/);
      assert.notEqual((await sb.outside(`${CURL_NO} http://${HOST_ADDR}:8080/`, { allowFail: true })).code, 0, 'the carried rule holds');
      assert.equal((await sb.sh(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'web\n', 'published ports work through inet berth');
      await sb.sh('nft flush chain inet berth user');
      assert.equal((await sb.outside(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'web\n');
    } finally {
      await sb.restartDaemon();
    }
  });

  it('berthd --ports-from: only those sources reach published ports from outside; the host and containers still do', async () => {
    await sb.restartDaemon(['--ports-from', '192.0.2.0/24', '--ports-from', '198.51.100.7']);
    assert.notEqual((await sb.outside(`${CURL_NO} http://${HOST_ADDR}:8080/`, { allowFail: true })).code, 0, 'a source not allowed reached a published port');
    assert.equal((await sb.sh(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'web\n');
    assert.equal((await sb.berth(['run', '--rm', '--network', 'n1', 'busybox', 'sh', '-c', `${WGET} http://${HOST_ADDR}:8080/`])).stdout, 'web\n');
    const whoami = await sb.outsideWhoami();
    assert.equal((await sb.berth(['exec', 'web', 'sh', '-c', `${WGET} ${whoami}/index.html`])).stdout, 'outside-ok\n', 'containers keep their way out');
    // Back to no restriction: the outside machine reaches the port again.
    await sb.restartDaemon();
    assert.equal((await sb.waitFor(`${CURL} http://${HOST_ADDR}:8080/`, 'published port from outside', 'outside')).stdout, 'web\n');
  });

  it('a bad --ports-from is refused with a clear error', async () => {
    await sb.stopDaemon();
    await assert.rejects(sb.startDaemon(['--ports-from', '10.0.0.300/8']), /invalid --ports-from "10\.0\.0\.300\/8": expected an IPv4 address or CIDR/);
    await sb.startDaemon();
  });
});

// IPv6 through the real CLI, in the sandbox whose link to the outside machine carries both
// families (host fd99::1, outside fd99::2): published ports answer on [::] and [::1] as with
// Docker 20.10+ (the IPv6 side of a container without an IPv6 address is carried by one relay
// process), one-family bindings stay on their family, and a restart of berthd (even a SIGKILL)
// keeps the IPv6 side answering.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_ADDR, HOST_ADDR6, Sandbox, shq } from '../harness/sandbox';

const skip = Sandbox.skipReason();
const CURL = 'curl -s --max-time 5';

/** busybox httpd on port 80 serving `text`; /cgi-bin/ip answers the client's address. */
function webServer(text: string): string[] {
  const script = [
    `echo ${text} > /www/index.html`,
    'mkdir -p /www/cgi-bin',
    `printf '%s\\n' '#!/bin/sh' 'printf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"' > /www/cgi-bin/ip`,
    'chmod +x /www/cgi-bin/ip',
    'httpd -p 80 -h /www',
    'exec sleep 100000',
  ].join('; ');
  return ['busybox', 'sh', '-c', script];
}

/** A UDP echo server (python3 from the host image) on IPv4: answers "echo:<data>". */
const UDP_ECHO = (port: number) => ['host', '/usr/bin/python3', '-c',
  `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(("0.0.0.0", ${port}))\nwhile True:\n    d, a = s.recvfrom(2048)\n    s.sendto(b"echo:" + d, a)\n`];
/** Sends a datagram over IPv6 until an answer comes (at most 10 tries); prints it. */
const UDP_ASK6 = (host: string, port: number, msg: string) => `/usr/bin/python3 -c ${shq(
  `import socket, sys\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\ns.settimeout(1)\nfor i in range(10):\n    s.sendto(b"${msg}", ("${host}", ${port}))\n    try:\n        print(s.recvfrom(2048)[0].decode()); sys.exit(0)\n    except socket.timeout:\n        pass\nsys.exit(1)\n`)}`;

describe('IPv6', { skip }, () => {
  let sb: Sandbox;
  const refused = async (cmd: string, where: 'host' | 'outside' = 'host') =>
    (where === 'host' ? await sb.sh(cmd, { allowFail: true }) : await sb.outside(cmd, { allowFail: true })).code !== 0;

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('-p 8080:80 answers on [::1] and the host\'s IPv6 address, from the host and the outside machine', async () => {
    await sb.berth(['run', '-d', '--name', 'web', '-p', '8080:80', ...webServer('web')]);
    assert.equal((await sb.berth(['port', 'web'])).stdout, '80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n');
    assert.equal(await sb.inspect('web', '{{json .NetworkSettings.Ports}}'),
      '{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}]}');
    assert.equal(await sb.inspect('web', '{{json .HostConfig.PortBindings}}'), '{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}');
    assert.equal((await sb.waitFor(`${CURL} http://[::1]:8080/`, '[::1]:8080')).stdout, 'web\n');
    assert.equal((await sb.sh(`${CURL} http://[${HOST_ADDR6}]:8080/`)).stdout, 'web\n');
    assert.equal((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8080/`)).stdout, 'web\n');
    assert.equal((await sb.outside(`${CURL} http://${HOST_ADDR}:8080/`)).stdout, 'web\n');
    // The relay connects from the host: the container sees its gateway as the client (as
    // behind Docker's userland proxy).
    // (busybox httpd listens on IPv6 and prints an IPv4 client mapped: [::ffff:172.17.0.1])
    assert.match((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8080/cgi-bin/ip`)).stdout, /^\[::ffff:172\.17\.0\.1\]\n$/);
  });

  it('-p [::1]:… and -p 127.0.0.1:… bind one family only', async () => {
    await sb.berth(['run', '-d', '--name', 'lo6', '-p', '[::1]:8081:80', '-p', '127.0.0.1:8082:80', ...webServer('lo6')]);
    assert.equal((await sb.berth(['port', 'lo6'])).stdout, '80/tcp -> 127.0.0.1:8082\n80/tcp -> [::1]:8081\n');
    assert.equal((await sb.berth(['ps', '--filter', 'name=lo6', '--format', '{{.Ports}}'])).stdout,
      '127.0.0.1:8082->80/tcp, [::1]:8081->80/tcp\n');
    assert.equal((await sb.waitFor(`${CURL} http://[::1]:8081/`, '[::1]:8081')).stdout, 'lo6\n');
    assert.ok(await refused(`${CURL} http://[${HOST_ADDR6}]:8081/`), '[::1] only');
    assert.ok(await refused(`${CURL} http://[${HOST_ADDR6}]:8081/`, 'outside'), '[::1] only');
    assert.ok(await refused(`${CURL} http://127.0.0.1:8081/`), 'no IPv4 side');
    assert.equal((await sb.sh(`${CURL} http://127.0.0.1:8082/`)).stdout, 'lo6\n');
    assert.ok(await refused(`${CURL} http://[::1]:8082/`), '127.0.0.1 only: no IPv6 side');
    // The same port on another IPv6 address is free; on :: it is taken.
    const clash = await sb.berth(['run', '-d', '--name', 'clash6', '-p', '8081:80', 'busybox', 'sleep', '100000'], { allowFail: true });
    assert.equal(clash.code, 125);
    assert.match(clash.stderr, /Bind for :::8081 failed: port is already allocated/);
    await sb.berth(['rm', 'clash6']);
  });

  it('UDP over IPv6 reaches a container without an IPv6 address and answers come back', async () => {
    await sb.berth(['run', '-d', '--name', 'u6', '-p', '4355:53/udp', ...UDP_ECHO(53)]);
    const r = await sb.waitFor(UDP_ASK6(HOST_ADDR6, 4355, 'ping6'), 'udp over IPv6', 'outside');
    assert.equal(r.stdout, 'echo:ping6\n');
    assert.equal((await sb.sh(UDP_ASK6('::1', 4355, 'ping-lo6'))).stdout, 'echo:ping-lo6\n');
  });

  it('the IPv6 side keeps answering while berthd is down, and after its SIGKILL and restart', async () => {
    const relayPid = (await sb.sh('pgrep -x berth-relay')).stdout.trim();
    assert.match(relayPid, /^\d+$/, 'one relay process');
    await sb.killDaemon();
    assert.equal((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8080/`)).stdout, 'web\n');
    await sb.startDaemon();
    assert.equal((await sb.sh('pgrep -x berth-relay')).stdout.trim(), relayPid, 'the same relay, adopted');
    assert.equal((await sb.outside(`${CURL} http://[${HOST_ADDR6}]:8080/`)).stdout, 'web\n');
    // Stopped: its ports close on both families; started again: open again.
    await sb.berth(['stop', '-t', '0', 'web']);
    assert.ok(await refused(`${CURL} http://[::1]:8080/`));
    await sb.berth(['start', 'web']);
    assert.equal((await sb.waitFor(`${CURL} http://[::1]:8080/`, '[::1]:8080 again')).stdout, 'web\n');
  });

  it('a relay that dies is started again with its table', async () => {
    await sb.sh('pkill -KILL -x berth-relay');
    // The next change of published ports finds it gone and starts another from the saved table.
    await sb.berth(['run', '-d', '--name', 'web2', '-p', '8090:80', ...webServer('web2')]);
    assert.equal((await sb.waitFor(`${CURL} http://[::1]:8090/`, '[::1]:8090')).stdout, 'web2\n');
    assert.equal((await sb.sh(`${CURL} http://[::1]:8080/`)).stdout, 'web\n');
  });

  it('removing containers closes their IPv6 side; nothing is left', async () => {
    await sb.berth(['rm', '-f', 'web', 'web2', 'lo6', 'u6']);
    assert.ok(await refused(`${CURL} http://[::1]:8080/`));
    assert.ok(await refused(`${CURL} http://[::1]:8081/`));
    assert.equal((await sb.sh('ss -H -ltnu6 | wc -l')).stdout.trim(), '0', 'no IPv6 socket listens');
  });
});

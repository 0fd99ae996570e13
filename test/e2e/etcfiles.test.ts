// /etc/hosts, /etc/hostname and /etc/resolv.conf inside containers, as Docker 20.10 writes them:
// the default bridge, -h, --add-host, --dns/--dns-search/--dns-option (the seeds' command
// literally), and the host and none modes. The sandbox host's resolv.conf is HOST_RESOLV_CONF:
// one loopback resolver (which containers must not get), two others, a search and an option.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_RESOLV_CONF, Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();
const DEFAULT_HOSTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n'
  + 'ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';
const FILTERED_RESOLV = 'nameserver 10.99.0.2\nnameserver 192.0.2.53\nsearch corp.example\noptions ndots:2\n';
const SHOW = 'cat /etc/hosts; echo ---; cat /etc/hostname; echo ---; cat /etc/resolv.conf; echo ---; hostname';

describe('/etc files', { skip }, () => {
  let sb: Sandbox;
  /** Run SHOW in a detached container and return its parts, its address and id. */
  const show = async (...flags: string[]) => {
    const id = (await sb.berth(['run', '-d', ...flags, 'busybox', 'sleep', '1000'])).stdout.trim();
    const out = (await sb.berth(['exec', id, 'sh', '-c', SHOW])).stdout;
    const ip = await sb.inspect(id, '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
    await sb.berth(['rm', '-f', id]);
    const [hosts, hostname, resolv, uname] = out.split('---\n');
    return { id, ip, hosts, hostname, resolv, uname };
  };

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('default bridge: localhost lines, own address and short id; the host\'s resolvers without loopback', async () => {
    const c = await show();
    assert.match(c.ip, /^172\.17\.0\.\d+$/);
    assert.equal(c.hosts, `${DEFAULT_HOSTS}${c.ip}\t${c.id.slice(0, 12)}\n`);
    assert.equal(c.hostname, `${c.id.slice(0, 12)}\n`);
    assert.equal(c.uname, `${c.id.slice(0, 12)}\n`);
    assert.equal(c.resolv, FILTERED_RESOLV);
  });

  it('the seeds\' command: -h FQDN --dns --dns-search --add-host', async () => {
    const r = await sb.berth(['run', '--name', 'mydocker1', '--network', 'bridge', '-h', 'mydocker1.rayx.me', '--dns', '8.8.8.8',
      '--dns-search', 'rayx.me', '--add-host', 'www.rayx.me:54.12.17.68', '--rm', 'busybox:latest', 'sh', '-c',
      `${SHOW}; echo ---; ip -4 -o addr show eth0; hostname -d`]);
    const [hosts, hostname, resolv, uname, rest] = r.stdout.split('---\n');
    const ip = /inet (\S+)\//.exec(rest)![1];
    assert.equal(hosts, `${DEFAULT_HOSTS}54.12.17.68\twww.rayx.me\n${ip}\tmydocker1.rayx.me mydocker1\n`);
    assert.equal(hostname, 'mydocker1.rayx.me\n');
    assert.equal(uname, 'mydocker1.rayx.me\n');
    assert.match(rest, /\nrayx\.me\n$/);
    // Only --dns and --dns-search given: the options come from the host's file.
    assert.equal(resolv, 'search rayx.me\nnameserver 8.8.8.8\noptions ndots:2\n');
  });

  it('several --dns, --dns-search, --dns-option and --add-host, in order', async () => {
    const c = await show('-h', 'web', '--dns', '1.1.1.1', '--dns', '9.9.9.9', '--dns-search', 'a.example', '--dns-search', 'b.example',
      '--dns-option', 'ndots:3', '--dns-option', 'timeout:1', '--add-host', 'www.rayx.me:54.12.17.68', '--add-host', 'other:10.1.2.3');
    assert.equal(c.resolv, 'search a.example b.example\nnameserver 1.1.1.1\nnameserver 9.9.9.9\noptions ndots:3 timeout:1\n');
    assert.equal(c.hosts, `${DEFAULT_HOSTS}54.12.17.68\twww.rayx.me\n10.1.2.3\tother\n${c.ip}\tweb\n`);
    assert.equal(c.hostname, 'web\n');
  });

  it('--dns alone keeps the host\'s search and options', async () => {
    const c = await show('--dns', '1.1.1.1');
    assert.equal(c.resolv, 'search corp.example\nnameserver 1.1.1.1\noptions ndots:2\n');
  });

  it('--network none: no address line; --network host: the host\'s files and name', async () => {
    const n = await show('--network', 'none');
    assert.equal(n.hosts, DEFAULT_HOSTS);
    assert.equal(n.hostname, `${n.id.slice(0, 12)}\n`);
    assert.equal(n.resolv, FILTERED_RESOLV);

    const h = await show('--network', 'host');
    const hostHosts = (await sb.sh('cat /etc/hosts')).stdout;
    assert.equal(h.hosts, hostHosts);
    assert.equal(h.hostname, 'berth-host\n');
    assert.equal(h.uname, 'berth-host\n');
    assert.equal(h.resolv, HOST_RESOLV_CONF, 'host networking keeps the loopback resolver: it is reachable there');
  });

  it('a container on a user-defined network sees its own name in /etc/hosts', async () => {
    await sb.berth(['network', 'create', 'etcnet']);
    const c = await show('--network', 'etcnet', '--name', 'named1');
    assert.equal(c.hosts, `${DEFAULT_HOSTS}${c.ip}\t${c.id.slice(0, 12)}\n`);
  });
});

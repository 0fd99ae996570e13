#!/usr/bin/env node
// The seeds' overlay network commands on two hosts, printing each command and its output: this
// is where the README's overlay example comes from. The two hosts are sandboxes of the test
// harness (network, mount and PID namespaces of their own, each with its berthd), joined by a
// cable 10.77.0.1 ⇄ 10.77.0.2; nothing on the machine changes. Run as root after `npm run build`.
'use strict';
const { Sandbox } = require('../dist/test/harness/sandbox');

async function main() {
  // (a short lease, so the walkthrough shows a dead host going Down in seconds)
  const opts = { daemonArgs: ['--cluster-ttl', '3'] };
  const [h1, h2] = await Promise.all([Sandbox.start(opts), Sandbox.start(opts)]);
  try {
    await Promise.all([h1.importBusybox(), h2.importBusybox()]);
    await Sandbox.link(h1, h2, 'eth1', '10.77.0.1', '10.77.0.2');
    const show = async (host, name, args) => {
      const r = await host.berth(args, { allowFail: true });
      const quote = (a) => (/[\s'"$<>|]/.test(a) ? `'${a}'` : a);
      process.stdout.write(`${name}$ berth ${args.map(quote).join(' ')}\n${r.stdout}${r.stderr}\n`);
      return r.stdout;
    };
    await show(h1, 'host1', ['swarm', 'init', '--advertise-addr', '10.77.0.1']);
    const token = (await h1.berth(['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
    await show(h2, 'host2', ['swarm', 'join', '--token', token, '10.77.0.1:2377', '--advertise-addr', '10.77.0.2']);
    await show(h1, 'host1', ['network', 'create', '-d', 'overlay', '--attachable', 'my-overlay-net']);
    await show(h2, 'host2', ['network', 'ls']);
    await show(h1, 'host1', ['run', '-d', '--name', 'web', '--network', 'my-overlay-net', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    await show(h2, 'host2', ['run', '--rm', '--network', 'my-overlay-net', 'busybox', 'sh', '-c',
      'ip -4 addr show eth0 | grep inet; ping -c1 web | head -2; wget -qO- http://web/hostname']);
    await show(h1, 'host1', ['network', 'create', '--opt', 'encrypted', '--driver', 'overlay', '--attachable', 'my-net']);
    await show(h2, 'host2', ['run', '-d', '--name', 'db', '--network', 'my-overlay-net', 'busybox', 'sleep', '1000']);
    await show(h1, 'host1', ['node', 'ls']);
    await show(h1, 'host1', ['exec', 'web', 'ping', '-c1', 'db']);
    // host2's berthd dies (SIGKILL): its lease expires, host1 sees it Down and its container's name gone.
    process.stdout.write('host2$ kill -9 $(pidof berthd)\n\n');
    await h2.killDaemon();
    await new Promise((r) => setTimeout(r, 6000));
    process.stdout.write('(6 seconds later)\n');
    await show(h1, 'host1', ['node', 'ls']);
    await show(h1, 'host1', ['exec', 'web', 'nslookup', 'db']);
    process.stdout.write('host2$ berthd … &   # back: it registers again, with its containers\n\n');
    await h2.startDaemon(opts.daemonArgs);
    await new Promise((r) => setTimeout(r, 3000));
    await show(h1, 'host1', ['node', 'ls']);
    await show(h1, 'host1', ['exec', 'web', 'ping', '-c1', 'db']);
    await show(h2, 'host2', ['rm', '-f', 'db']);
    await show(h1, 'host1', ['rm', '-f', 'web']);
    await show(h1, 'host1', ['network', 'rm', 'my-overlay-net']);
  } finally {
    await Promise.all([h1.cleanup(), h2.cleanup()]);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });

#!/usr/bin/env node
// A dual-stack overlay network on two hosts, printing each command and its output: this is
// where the README's "IPv6 on overlay networks" example comes from. The hosts are sandboxes of
// the test harness, as in overlay-walkthrough.js (cabled 10.77.0.1 ⇄ 10.77.0.2; nothing on the
// machine changes). Run as root after `npm run build`.
'use strict';
const { Sandbox } = require('../dist/test/harness/sandbox');

async function main() {
  const [h1, h2] = await Promise.all([Sandbox.start(), Sandbox.start()]);
  try {
    await Promise.all([h1.importBusybox(), h2.importBusybox()]);
    await Sandbox.link(h1, h2, 'eth1', '10.77.0.1', '10.77.0.2');
    const show = async (host, name, args) => {
      const r = await host.berth(args, { allowFail: true });
      const quote = (a) => (/[\s'"$<>|{}]/.test(a) ? `'${a}'` : a);
      process.stdout.write(`${name}$ berth ${args.map(quote).join(' ')}\n${r.stdout}${r.stderr}\n`);
      return r.stdout;
    };
    await h1.berth(['swarm', 'init', '--advertise-addr', '10.77.0.1']);
    const token = (await h1.berth(['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
    await h2.berth(['swarm', 'join', '--token', token, '10.77.0.1:2377', '--advertise-addr', '10.77.0.2']);
    await show(h1, 'host1', ['network', 'create', '-d', 'overlay', '--attachable', '--ipv6', '--subnet', '10.0.6.0/24', '--subnet', 'fd00:6::/64', 'ov6']);
    await new Promise((r) => setTimeout(r, 500));
    await show(h2, 'host2', ['network', 'inspect', '-f', '{{.EnableIPv6}} {{json .IPAM.Config}}', 'ov6']);
    await show(h1, 'host1', ['run', '-d', '--name', 'web', '--network', 'ov6', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    await show(h2, 'host2', ['run', '-d', '--name', 'db', '--network', 'ov6', '--ip6', 'fd00:6::99', 'busybox', 'sleep', '1000']);
    await show(h2, 'host2', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}}{{end}}', 'db']);
    await show(h2, 'host2', ['exec', 'db', 'ip', '-6', 'route']);
    await show(h2, 'host2', ['exec', 'db', 'nslookup', '-type=AAAA', 'web', '127.0.0.11']);
    await show(h2, 'host2', ['exec', 'db', 'ping', '-6', '-c1', 'web']);
    await show(h1, 'host1', ['exec', 'web', 'nslookup', 'fd00:6::99', '127.0.0.11']);
    await show(h2, 'host2', ['exec', 'db', 'wget', '-qO-', 'http://[fd00:6::2]/hostname']);
    await show(h2, 'host2', ['run', '--rm', '--network', 'ov6', '--ip6', 'fd00:7::5', 'busybox', 'true']);
    await show(h1, 'host1', ['network', 'create', '-d', 'overlay', '--ipv6', '--subnet', 'fd00:6::/80', 'ov7']);
    await show(h1, 'host1', ['network', 'create', '-d', 'overlay', '--ipv6', 'ov8']);
    await show(h2, 'host2', ['rm', '-f', 'db']);
    await show(h1, 'host1', ['rm', '-f', 'web']);
    await show(h1, 'host1', ['network', 'rm', 'ov6']);
  } finally {
    await Promise.all([h1.cleanup(), h2.cleanup()]);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });

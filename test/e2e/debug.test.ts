// `berthd --debug` prints every change it makes to the kernel: a network create and a run -p
// against a real berthd, and the log must show each step a reader would look for (the link
// made, the sysctls written, the nft transaction, the namespace, the container's process).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();

describe('berthd --debug', { skip }, () => {
  let sb: Sandbox;
  before(async () => {
    sb = await Sandbox.start({ daemonArgs: ['--debug'] });
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('shows the link, sysctl and nft changes of a network create and a run -p', async () => {
    let from = sb.daemonLog().length;
    await sb.berth(['network', 'create', '--subnet', '10.77.0.0/24', 'dbgnet']);
    const bridge = `br-${(await sb.berth(['network', 'inspect', '-f', '{{.Id}}', 'dbgnet'])).stdout.slice(0, 12)}`;
    let out = sb.daemonLog().slice(from);
    const says = (re: RegExp, what: string) => assert.match(out, re, `${what} in the debug log:\n${out}`);
    says(new RegExp(`^\\[debug\\] exec: ip -batch -\\n(\\[debug\\]   .*\\n)*\\[debug\\]   link add name ${bridge} .*type bridge$`, 'm'), 'the bridge made');
    says(new RegExp(`^\\[debug\\] sysctl: net\\.ipv4\\.conf\\.${bridge}\\.route_localnet=1$`, 'm'), 'the bridge\'s sysctl written');
    says(/^\[debug\] nft -f - \(libnftables\)\n(\[debug\]   .*\n)*\[debug\]   .*10\.77\.0\.0\/24/m, 'the nft transaction naming the subnet');

    from = sb.daemonLog().length;
    await sb.berth(['run', '-d', '--name', 'web', '--network', 'dbgnet', '-p', '8080:80', 'busybox', 'sleep', '1000']);
    out = sb.daemonLog().slice(from);
    says(/^\[debug\] exec: unshare --net=\S+ ip link set lo up$/m, 'the network namespace made');
    says(/^\[debug\]   link add \S+ .*type veth peer name /m, 'the veth pair made');
    says(/^\[debug\] nft -f - \(libnftables\)\n(\[debug\]   .*\n)*\[debug\]   add element inet berth \S+ \{[^}]*8080/m, 'the published port added to berth\'s nft map');
    says(/^\[debug\] conmon .*--runtime \S*\/runc .*--bundle \S+/m, 'the container\'s monitor (conmon) started with runc and the bundle');
    says(/^\[debug\] exec: runc .* start [0-9a-f]{64}$/m, 'the container process started through runc');

    from = sb.daemonLog().length;
    await sb.berth(['rm', '-f', 'web']);
    await sb.berth(['network', 'rm', 'dbgnet']);
    out = sb.daemonLog().slice(from);
    says(/^\[debug\] exec: umount --lazy \S+$/m, 'the network namespace removed');
    // berth renames the bridge to a spare name before it deletes it: either line counts.
    says(new RegExp(`^\\[debug\\]   link set dev ${bridge} name (\\S+)\\n[\\s\\S]*^\\[debug\\] exec: ip link del \\1$|^\\[debug\\] exec: ip link del ${bridge}$`, 'm'), 'the bridge removed');
    says(/^\[debug\]   delete element inet berth \S+ \{[^}]*8080/m, 'the published port removed');
  });

  it('without --debug the same commands print no debug line', { skip: process.env.BERTH_E2E_DEBUG === '1' && 'BERTH_E2E_DEBUG adds --debug' }, async () => {
    sb.daemonArgs.splice(sb.daemonArgs.indexOf('--debug'), 1);
    await sb.restartDaemon();
    const from = sb.daemonLog().length;
    await sb.berth(['network', 'create', 'quietnet']);
    await sb.berth(['run', '-d', '--name', 'quiet', '--network', 'quietnet', '-p', '8081:80', 'busybox', 'sleep', '1000']);
    await sb.berth(['rm', '-f', 'quiet']);
    await sb.berth(['network', 'rm', 'quietnet']);
    assert.doesNotMatch(sb.daemonLog().slice(from), /\[debug\]/);
  });
});

// Container settings that docker-compose and the SDKs send, each doing what Docker does (none
// accepted and dropped): bind mounts (-v, --mount), tmpfs, capabilities, extra groups, namespaced
// sysctls, --add-host host-gateway, --stop-signal / --stop-timeout, and restart policies
// (including across a berthd restart).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, poll } from '../harness/sandbox';
import { api } from '../harness/api';

const skip = Sandbox.skipReason();

/** The effective capability bits of PID 1 in a container, from /proc/1/status. */
const capBit = (capEff: string, bit: number) => (BigInt(`0x${capEff}`) >> BigInt(bit)) & 1n;

describe('container settings', { skip }, () => {
  let sb: Sandbox;
  const run = (args: string[], allowFail = false) => sb.berth(['run', '--rm', ...args], { allowFail });

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('-v HOST:CTR[:ro] and --mount type=bind: the host directory, read-only when asked', async () => {
    const dir = `${sb.top}/shared`;
    await sb.sh(`mkdir -p ${dir} && echo from-host > ${dir}/in.txt`);
    assert.equal((await run(['-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'cat /data/in.txt; echo from-ctr > /data/out.txt'])).stdout, 'from-host\n');
    assert.equal((await sb.sh(`cat ${dir}/out.txt`)).stdout, 'from-ctr\n');
    const ro = await run(['-v', `${dir}:/data:ro`, 'busybox', 'sh', '-c', 'echo x > /data/no.txt'], true);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal((await run(['--mount', `type=bind,source=${dir},target=/m,readonly`, 'busybox', 'cat', '/m/in.txt'])).stdout, 'from-host\n');
    // -v makes a missing host directory (Docker's rule); --mount refuses a missing source.
    await run(['-v', `${sb.top}/made-by-v:/made`, 'busybox', 'true']);
    assert.equal((await sb.sh(`test -d ${sb.top}/made-by-v && echo yes`)).stdout, 'yes\n');
    const missing = await run(['--mount', `type=bind,source=${sb.top}/nope,target=/m`, 'busybox', 'true'], true);
    assert.match(missing.stderr, /bind source path does not exist: .*\/nope/);
    const named = await sb.berth(['create', '-v', 'myvol:/data', 'busybox', 'true'], { allowFail: true });
    assert.equal(named.code, 1);
    assert.match(named.stderr, /berth has no named volumes/);
  });

  it('--tmpfs and --mount type=tmpfs', async () => {
    const out = (await run(['--tmpfs', '/scratch:size=1m', '--mount', 'type=tmpfs,target=/t2', 'busybox', 'sh', '-c', 'grep -E " /(scratch|t2) " /proc/mounts'])).stdout;
    assert.match(out, /^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/m);
    assert.match(out, /^tmpfs \/t2 tmpfs /m);
  });

  it('--cap-add and --cap-drop change the process\'s capabilities; unknown ones are refused', async () => {
    const capEff = async (...flags: string[]) => (await run([...flags, 'busybox', 'sh', '-c', "grep CapEff /proc/1/status | cut -f2"])).stdout.trim();
    const dflt = await capEff();
    assert.equal(capBit(dflt, 12), 0n, 'no NET_ADMIN by default');
    assert.equal(capBit(dflt, 0), 1n, 'CHOWN by default');
    const added = await capEff('--cap-add', 'NET_ADMIN', '--cap-drop', 'chown');
    assert.equal(capBit(added, 12), 1n);
    assert.equal(capBit(added, 0), 0n);
    assert.equal((await run(['--cap-add', 'NET_ADMIN', 'busybox', 'ip', 'link', 'set', 'lo', 'mtu', '1280'], true)).code, 0);
    assert.notEqual((await run(['busybox', 'ip', 'link', 'set', 'lo', 'mtu', '1280'], true)).code, 0);
    const bad = await sb.berth(['create', '--cap-add', 'FLY', 'busybox', 'true'], { allowFail: true });
    assert.match(bad.stderr, /unknown capability: "CAP_FLY"/);
  });

  it('--group-add adds supplementary groups', async () => {
    assert.match((await run(['--group-add', '4242', 'busybox', 'id', '-G'])).stdout, /\b4242\b/);
  });

  it('--sysctl sets namespaced sysctls in the container; refused with --network host or outside the namespaces', async () => {
    assert.equal((await run(['--sysctl', 'net.core.somaxconn=1234', 'busybox', 'cat', '/proc/sys/net/core/somaxconn'])).stdout, '1234\n');
    assert.notEqual((await sb.sh('cat /proc/sys/net/core/somaxconn')).stdout, '1234\n', 'the host keeps its own');
    const host = await sb.berth(['create', '--network', 'host', '--sysctl', 'net.core.somaxconn=1', 'busybox', 'true'], { allowFail: true });
    assert.match(host.stderr, /sysctl "net.core.somaxconn" not allowed in host network namespace/);
    const vm = await sb.berth(['create', '--sysctl', 'vm.swappiness=1', 'busybox', 'true'], { allowFail: true });
    assert.match(vm.stderr, /sysctl "vm.swappiness" is not allowed/);
  });

  it('--add-host NAME:host-gateway is the default bridge\'s gateway', async () => {
    const hosts = (await run(['--add-host', 'gw.test:host-gateway', 'busybox', 'cat', '/etc/hosts'])).stdout;
    assert.match(hosts, /^172\.17\.0\.1\tgw\.test$/m);
  });

  it('--stop-signal and --stop-timeout are what stop uses', async () => {
    await sb.berth(['run', '-d', '--name', 'sig', '--stop-signal', 'USR1', '--stop-timeout', '30', 'busybox', 'sh', '-c',
      "trap 'echo got-usr1; exit 7' USR1; while :; do sleep 1; done"]);
    assert.equal(await sb.inspect('sig', '{{.Config.StopSignal}} {{.Config.StopTimeout}}'), 'SIGUSR1 30');
    await sb.berth(['stop', 'sig']);
    assert.equal(await sb.inspect('sig', '{{.State.ExitCode}}'), '7', 'ended by its own trap, not SIGKILL');
    assert.match((await sb.berth(['logs', 'sig'])).stdout, /got-usr1/);
    await sb.berth(['rm', 'sig']);
  });

  it('restart policies: on-failure:N retries N times, always restarts until stopped', async () => {
    await sb.berth(['run', '-d', '--name', 'fails', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']);
    const done = await poll(() => sb.inspect('fails', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}'), (v) => v === '2 exited 3', 100);
    assert.equal(done, '2 exited 3');
    await sb.berth(['run', '-d', '--name', 'always', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.2; exit 0']);
    const again = await poll(() => sb.inspect('always', '{{.RestartCount}}'), (v) => Number(v) >= 2, 100);
    assert.ok(Number(again) >= 2, `restarted ${again} times`);
    // stop ends it for good (whether it was running or waiting to restart)
    await sb.berth(['stop', '-t', '0', 'always']);
    const count = await sb.inspect('always', '{{.RestartCount}}');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await sb.inspect('always', '{{.State.Status}} {{.RestartCount}}'), `exited ${count}`);
    const both = await sb.berth(['create', '--rm', '--restart', 'always', 'busybox', 'true'], { allowFail: true });
    assert.match(both.stderr, /Conflicting options: --restart and --rm/, 'the CLI refuses it, as docker\'s does');
    const api1 = await api(sb, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } });
    assert.equal(api1.status, 400);
    assert.equal(api1.body.message, 'conflicting options: cannot specify both --restart and --rm');
    await sb.berth(['rm', 'fails', 'always']);
    // `restart` of a --rm container starts it again (Docker): the stop is not its end.
    await sb.berth(['run', '-d', '--rm', '--name', 'rr', 'busybox', 'sleep', '1000']);
    await sb.berth(['restart', '-t', '0', 'rr']);
    assert.equal(await sb.inspect('rr', '{{.State.Status}}'), 'running');
    await sb.berth(['rm', '-f', 'rr']);
  });

  it('a container with --restart always that dies while berthd is down runs again after berthd starts', async () => {
    await sb.berth(['run', '-d', '--name', 'phoenix', '--restart', 'always', 'busybox', 'sleep', '1000']);
    const pid = await sb.inspect('phoenix', '{{.State.Pid}}');
    await sb.stopDaemon();
    await sb.sh(`kill -9 ${pid}`);
    await sb.startDaemon();
    const state = await poll(() => sb.inspect('phoenix', '{{.State.Status}} {{.RestartCount}}'), (v) => v === 'running 1', 100);
    assert.equal(state, 'running 1');
    assert.notEqual(await sb.inspect('phoenix', '{{.State.Pid}}'), pid);
    await sb.berth(['rm', '-f', 'phoenix']);
  });
});

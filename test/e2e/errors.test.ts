// Every bad input of the issue through the real CLI: the message (Docker 20.10's wording, with
// "berth" for "docker"), the exit code, and that nothing was left behind: the same links, nft
// ruleset, networks, containers and mounts as before the command.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();
/** What `berth run` prints for an error: Docker's form. */
const runErr = (msg: string) => `berth: ${msg}\n\nRun 'berth run --help' for more information\n`;
const daemon = (msg: string) => `Error response from daemon: ${msg}`;

describe('bad input', { skip }, () => {
  let sb: Sandbox;
  let clean: Awaited<ReturnType<Sandbox['snapshot']>>;

  /**
   * The command fails with `code` and exactly (or matching) `stderr`, and changes nothing.
   * `created`: a `run` without --rm whose start fails leaves that container in state
   * "created", as Docker does; it is checked, then removed before the comparison.
   */
  const refused = async (args: string[], code: number, stderr: string | RegExp, created?: string) => {
    const r = await sb.berth(args, { allowFail: true });
    assert.equal(r.code, code, `berth ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    if (typeof stderr === 'string') assert.equal(r.stderr, stderr, `berth ${args.join(' ')}`);
    else assert.match(r.stderr, stderr, `berth ${args.join(' ')}`);
    // (inspect prints an empty JSON list for what it did not find, as docker does)
    assert.equal(r.stdout, args.includes('inspect') ? '[]\n' : '', `berth ${args.join(' ')}: stdout`);
    if (created) {
      assert.equal(await sb.inspect(created, '{{.State.Status}}'), 'created');
      await sb.berth(['rm', created]);
    }
    assert.deepEqual(await sb.snapshot(), clean, `berth ${args.join(' ')} left something behind`);
  };

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
    // Fixtures the errors refer to; `clean` is taken with them in place.
    await sb.berth(['network', 'create', '--subnet', '10.40.0.0/24', 'zok']);
    await sb.berth(['network', 'create', '--subnet', '10.45.0.0/30', 'ztiny']);
    await sb.berth(['run', '-d', '--name', 't1', '--network', 'ztiny', 'busybox', 'sleep', '100000']);
    await sb.berth(['run', '-d', '--name', 'ipx', '--network', 'zok', '--ip', '10.40.0.5', '-p', '8080:80', 'busybox', 'sleep', '100000']);
    clean = await sb.snapshot();
  });
  after(async () => { await sb?.cleanup(); });

  it('invalid subnets, gateways, ranges and aux addresses', async () => {
    await refused(['network', 'create', '--subnet', '10.40.0.0/33', 'ze1'], 1, `${daemon('Invalid subnet 10.40.0.0/33 : invalid CIDR address: 10.40.0.0/33')}\n`);
    await refused(['network', 'create', '--subnet', 'abc', 'ze1'], 1, `${daemon('Invalid subnet abc : invalid CIDR address: abc')}\n`);
    await refused(['network', 'create', '--subnet', '10.50.0.0/24', '--gateway', '10.51.0.1', 'ze1'], 1, /^(Error response from daemon: )?no matching subnet for gateway 10\.51\.0\.1\n$/);
    await refused(['network', 'create', '--subnet', '10.50.0.0/24', '--gateway', 'abc', 'ze1'], 1, /^(Error response from daemon: )?no matching subnet for gateway abc\n$/);
    await refused(['network', 'create', '--subnet', '10.50.0.0/24', '--ip-range', '10.51.0.0/25', 'ze1'], 1, /^(Error response from daemon: )?no matching subnet for range 10\.51\.0\.0\/25\n$/);
    await refused(['network', 'create', '--gateway', '10.50.0.1', 'ze1'], 1, /^(Error response from daemon: )?every ip-range or gateway must have a corresponding subnet\n$/);
    await refused(['network', 'create', '--subnet', '10.50.0.0/24', '--aux-address', 'a=10.51.0.5', 'ze1'], 1, /^(Error response from daemon: )?no matching subnet for aux-address 10\.51\.0\.5\n$/);
    await refused(['network', 'create', '--subnet', '10.50.0.0/24', '--aux-address', 'a=10.50.0.1', 'ze1'], 1,
      `${daemon('failed to allocate secondary ip address (a:10.50.0.1): Address already in use')}\n`);
    await refused(['network', 'create', '--subnet', '10.50.0.0/24', '--gateway', '10.50.0.0', 'ze1'], 1,
      `${daemon('failed to allocate gateway (10.50.0.0): Address already in use')}\n`);
  });

  it('overlapping subnets, duplicate and predefined names, unknown drivers and networks', async () => {
    const overlap = `${daemon('Pool overlaps with other one on this address space')}\n`;
    await refused(['network', 'create', '--subnet', '10.40.0.128/25', 'ze2'], 1, overlap);
    await refused(['network', 'create', '--subnet', '10.0.0.0/8', 'ze2'], 1, overlap);
    await refused(['network', 'create', '--subnet', '172.17.5.0/24', 'ze2'], 1, overlap);
    await refused(['network', 'create', 'zok'], 1, `${daemon('network with name zok already exists')}\n`);
    await refused(['network', 'create', 'host'], 1, `${daemon('operation is not permitted on predefined host network')}\n`);
    await refused(['network', 'create', '-d', 'nosuchdrv', 'ze3'], 1, `${daemon('plugin "nosuchdrv" not found')}\n`);
    await refused(['network', 'rm', 'bridge'], 1, /^Error response from daemon: bridge is a pre-defined network and cannot be removed\n/);
    await refused(['network', 'rm', 'host'], 1, /^Error response from daemon: host is a pre-defined network and cannot be removed\n/);
    await refused(['network', 'rm', 'nosuchnet'], 1, /^Error response from daemon: network nosuchnet not found\n/);
    await refused(['network', 'inspect', 'nosuchnet'], 1, /network nosuchnet not found/);
    await refused(['network', 'connect', 'nosuchnet', 't1'], 1, `${daemon('network nosuchnet not found')}\n`);
    await refused(['network', 'connect', 'zok', 'nosuchc'], 1, `${daemon('No such container: nosuchc')}\n`);
    await refused(['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true'], 125, runErr(daemon('network nosuchnet not found')));
  });

  it('--ip outside the subnet, in use, the gateway, malformed, on the default bridge', async () => {
    await refused(['run', '--rm', '--network', 'zok', '--ip', '10.99.0.5', 'busybox', 'true'], 125,
      runErr(daemon('no configured subnet or ip-range contain the IP address 10.99.0.5')));
    await refused(['run', '--rm', '--network', 'zok', '--ip', '10.40.0.5', 'busybox', 'true'], 125, runErr(daemon('Address already in use')));
    await refused(['run', '--rm', '--network', 'zok', '--ip', '10.40.0.1', 'busybox', 'true'], 125, runErr(daemon('Address already in use')));
    await refused(['run', '--rm', '--network', 'zok', '--ip', 'abc', 'busybox', 'true'], 125, /invalid IPv4 address: abc/);
    await refused(['run', '--rm', '--ip', '172.17.0.50', 'busybox', 'true'], 125,
      runErr(daemon('user specified IP address is supported on user defined networks only')));
    await refused(['run', '--rm', '--mac-address', 'zz', 'busybox', 'true'], 125, /zz is not a valid mac address/);
  });

  it('an exhausted pool', async () => {
    const id = await sb.inspect('ztiny', '{{.Id}}', 'network');
    await refused(['run', '-d', '--name', 't2', '--network', 'ztiny', 'busybox', 'sleep', '100000'], 125,
      runErr(daemon(`no available IPv4 addresses on this network's address pools: ztiny (${id})`)), 't2');
  });

  it('duplicate and invalid container names, unknown containers and images', async () => {
    const ipx = await sb.inspect('ipx', '{{.Id}}');
    await refused(['run', '--name', 'ipx', 'busybox', 'true'], 125,
      runErr(daemon(`Conflict. The container name "/ipx" is already in use by container "${ipx}". You have to remove (or rename) that container to be able to reuse that name.`)));
    await refused(['run', '--name', 'bad/name', 'busybox', 'true'], 125,
      runErr(daemon('Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')));
    for (const cmd of [['stop'], ['kill'], ['start'], ['restart'], ['logs'], ['port'], ['rm'], ['rm', '-f']]) {
      await refused([...cmd, 'nosuch'], 1, /^Error response from daemon: No such container: nosuch\n/);
    }
    await refused(['inspect', 'nosuch'], 1, /Error: No such object: nosuch\n$/);
    await refused(['run', '--rm', 'nosuchimg', 'true'], 125, /nosuchimg/);
    await refused(['create', 'nosuchimg'], 1, /nosuchimg/);
    await refused(['rmi', 'nosuchimg'], 1, `${daemon('No such image: nosuchimg:latest')}\n`);
  });

  it('malformed and out-of-range port specs', async () => {
    const cases: Array<[string, string]> = [
      ['80000:80', 'invalid hostPort: 80000'],
      ['127.0.0.1:99999:80', 'invalid hostPort: 99999'],
      ['abc', 'invalid containerPort: abc'],
      ['8080:80/xyz', 'invalid proto: xyz'],
      ['8000-8001:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 8000-8001'],
      ['1.2.3.4.5:80:80', 'invalid IP address: 1.2.3.4.5'],
    ];
    for (const [spec, msg] of cases) await refused(['run', '--rm', '-p', spec, 'busybox', 'true'], 125, runErr(msg));
  });

  it('settings berth does not implement are refused by the daemon, not ignored', async () => {
    const cases: Array<[string[], string]> = [
      [['--privileged'], 'berth does not support privileged containers (HostConfig.Privileged)'],
      [['--read-only'], 'berth does not support read-only root filesystems (HostConfig.ReadonlyRootfs)'],
      [['--init'], 'berth does not support an init process (HostConfig.Init)'],
      [['--log-driver', 'syslog'], 'berth does not support the log driver "syslog" (container logs are kept as json-file\'s) (HostConfig.LogConfig.Type)'],
      [['-v', 'myvol:/data'], "invalid volume specification: 'myvol:/data': berth has no named volumes: give an absolute host path to bind-mount"],
      [['--cap-add', 'FLY'], 'unknown capability: "CAP_FLY"'],
      [['--sysctl', 'vm.swappiness=1'], 'sysctl "vm.swappiness" is not allowed: only namespaced sysctls (net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*)'],
      [['--stop-signal', 'SIGNOPE'], 'Invalid signal: SIGNOPE'],
    ];
    // (mounts, capabilities, sysctls, restart policies and stop signals are implemented: test/e2e/hostconfig.test.ts)
    for (const [flags, msg] of cases) {
      await refused(['run', '--rm', ...flags, 'busybox', 'true'], 125, runErr(daemon(msg)));
    }
    await refused(['exec', '--privileged', 't1', 'true'], 1, `${daemon('berth does not support privileged exec (Privileged)')}\n`);
    await refused(['stop', '-t', 'abc', 't1'], 1, /^(Error response from daemon: strconv\.Atoi: parsing "abc": invalid syntax|.*invalid argument "abc".*)\n/);
    await refused(['kill', '-s', 'NOSUCH', 't1'], 1, `${daemon('Invalid signal: NOSUCH')}\n`);
  });

  it('a host port in use', async () => {
    await refused(['run', '-d', '--name', 'clash', '-p', '8080:80', 'busybox', 'sleep', '100000'], 125,
      /Bind for 0\.0\.0\.0:8080 failed: port is already allocated/, 'clash');
  });

  it('a container whose process cannot start gives back its address, ports and links', async () => {
    const r = await sb.berth(['run', '-d', '--name', 'broken', '--network', 'zok', '-p', '8090:80', 'busybox', 'nonexistent'], { allowFail: true });
    assert.equal(r.code, 127);
    assert.match(r.stderr, /executable file not found in \$PATH/);
    const now = await sb.snapshot();
    assert.equal(now.links, clean.links, 'no veth left');
    assert.equal(now.nft, clean.nft, 'no rule left');
    assert.equal(await sb.inspect('broken', '{{.State.Running}}'), 'false');
    await sb.berth(['rm', 'broken']);
    assert.deepEqual(await sb.snapshot(), clean);
    // The address and the port are free again.
    await sb.berth(['run', '-d', '--name', 'fine', '--network', 'zok', '-p', '8090:80', 'busybox', 'sleep', '100000']);
    assert.equal(await sb.inspect('fine', '{{.NetworkSettings.Networks.zok.IPAddress}}'), '10.40.0.2');
    await sb.berth(['rm', '-f', 'fine']);
    assert.deepEqual(await sb.snapshot(), clean);
  });
});

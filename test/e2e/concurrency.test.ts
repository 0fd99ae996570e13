// Parallel clients, as docker-compose and the SDKs drive a daemon: many requests in flight at
// once on one berthd. Each case races requests that decide something unique (a name, a subnet,
// an address, a host port, an endpoint on a network that is being removed) and checks Docker's
// outcome: one wins, the others get a clean 4xx with Docker's message, nothing is duplicated,
// no 500, and the kernel holds exactly what the records say.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox } from '../harness/sandbox';
import { api, message, statuses, type ApiResult } from '../harness/api';

const skip = Sandbox.skipReason();

describe('parallel clients', { skip }, () => {
  let sb: Sandbox;

  const sleeper = (network?: string, extra: Record<string, unknown> = {}) => ({
    Image: 'busybox', Cmd: ['sleep', '1000'],
    HostConfig: { ...(network ? { NetworkMode: network } : {}), ...extra },
  });
  const createAndStart = async (name: string, body: object): Promise<ApiResult> => {
    const c = await api(sb, 'POST', `/containers/create?name=${name}`, body);
    if (c.status !== 201) return c;
    return api(sb, 'POST', `/containers/${c.body.Id}/start`);
  };
  const noServerErrors = (rs: ApiResult[]) => {
    const bad = rs.filter((r) => r.status >= 500);
    assert.equal(bad.length, 0, `server errors: ${bad.map(message).join('; ')}`);
  };
  /** Host-side veths in the sandbox host, and the endpoints the records say exist. */
  const vethsAndEndpoints = async () => {
    const veths = (await sb.sh("ip -o link show type veth | cut -d: -f2 | sed 's/@.*//;s/ //g'")).stdout.split('\n')
      .filter((l) => l && l !== 'eth0' && !l.startsWith('outside')).sort();
    const list = (await api(sb, 'GET', '/containers/json')).body as any[];
    const eps: string[] = [];
    for (const c of list) {
      const j = (await api(sb, 'GET', `/containers/${c.Id}/json`)).body;
      for (const n of Object.keys(j.NetworkSettings.Networks ?? {})) eps.push(`${j.Name}@${n}`);
    }
    return { veths, eps };
  };
  const removeAll = async () => {
    const ids = (await sb.berth(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await sb.berth(['rm', '-f', ...ids]);
    await sb.berth(['network', 'prune', '-f']);
  };

  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('20 parallel `network create samenet`: one network, 19 × 409 with Docker\'s message', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, () => api(sb, 'POST', '/networks/create', { Name: 'samenet' })));
    noServerErrors(rs);
    assert.equal(statuses(rs), '201×1 409×19');
    for (const r of rs.filter((x) => x.status === 409)) assert.equal(message(r), 'network with name samenet already exists');
    const names = (await sb.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter((n) => n === 'samenet');
    assert.equal(names.length, 1);
    await sb.berth(['network', 'rm', 'samenet']);
  });

  it('10 parallel `network create` without a subnet: 10 distinct subnets, distinct container addresses', async () => {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => api(sb, 'POST', '/networks/create', { Name: `auto${i}` })));
    noServerErrors(rs);
    assert.equal(statuses(rs), '201×10');
    const subnets = await Promise.all(rs.map((_, i) => sb.inspect(`auto${i}`, '{{range .IPAM.Config}}{{.Subnet}}{{end}}', 'network')));
    assert.equal(new Set(subnets).size, 10, `subnets: ${subnets.join(' ')}`);
    // One container on each, started in parallel: every address is different, every bridge its own.
    const started = await Promise.all(rs.map((_, i) => createAndStart(`onauto${i}`, sleeper(`auto${i}`))));
    assert.equal(statuses(started), '204×10');
    const ips = await Promise.all(rs.map((_, i) => sb.inspect(`onauto${i}`, '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')));
    assert.equal(new Set(ips).size, 10, `addresses: ${ips.join(' ')}`);
    const routes = (await sb.sh('ip -4 route show proto kernel')).stdout;
    for (const s of subnets) assert.equal(routes.split('\n').filter((l) => l.startsWith(`${s} `)).length, 1, `one route for ${s}:\n${routes}`);
    await removeAll();
  });

  it('20 containers started in parallel on one network: 20 distinct addresses, each reachable', async () => {
    await sb.berth(['network', 'create', 'crowd']);
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => createAndStart(`crowd${i}`, sleeper('crowd'))));
    noServerErrors(rs);
    assert.equal(statuses(rs), '204×20');
    const ips = await Promise.all(rs.map((_, i) => sb.inspect(`crowd${i}`, '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')));
    assert.equal(new Set(ips).size, 20, `addresses: ${ips.join(' ')}`);
    assert.equal((await sb.berth(['exec', 'crowd0', 'ping', '-c1', '-W2', ips[19]], { allowFail: true })).code, 0);
    await removeAll();
  });

  it('20 parallel `create --name dupname`: one container, 19 × 409 with Docker\'s message', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, () => api(sb, 'POST', '/containers/create?name=dupname', sleeper())));
    noServerErrors(rs);
    assert.equal(statuses(rs), '201×1 409×19');
    const id = rs.find((r) => r.status === 201)!.body.Id;
    for (const r of rs.filter((x) => x.status === 409)) {
      assert.equal(message(r), `Conflict. The container name "/dupname" is already in use by container "${id}". ` +
        'You have to remove (or rename) that container to be able to reuse that name.');
    }
    assert.equal((await sb.berth(['ps', '-aq'])).stdout.trim(), id.slice(0, 12));
    await removeAll();
  });

  it('200 renames racing each other: no 500, and names stay unique', async () => {
    const ids: string[] = [];
    for (const n of ['ra', 'rb', 'rc', 'rd']) ids.push((await api(sb, 'POST', `/containers/create?name=${n}`, sleeper())).body.Id);
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      api(sb, 'POST', `/containers/${ids[i % 4]}/rename?name=${['x', 'y', 'z', 'w', 'v'][(i * 7) % 5]}${i % 3}`)));
    noServerErrors(rs);
    for (const r of rs) assert.ok([204, 400, 409].includes(r.status), `${r.status} ${message(r)}`);
    const names = (await sb.berth(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
    assert.equal(names.length, 4);
    assert.equal(new Set(names).size, 4, names.join(' '));
    // What the daemon serves is what it recorded: the same after a restart.
    await sb.restartDaemon();
    const again = (await sb.berth(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
    assert.deepEqual(again.sort(), names.sort());
    await removeAll();
  });

  it('`rm -f` racing `network connect`: no 500, no veth left without a container', async () => {
    await sb.berth(['network', 'create', 'racenet']);
    for (let round = 0; round < 5; round++) {
      const c = await createAndStart(`victim${round}`, sleeper());
      assert.equal(c.status, 204, message(c));
      const rs = await Promise.all([
        ...Array.from({ length: 4 }, () => api(sb, 'POST', '/networks/racenet/connect', { Container: `victim${round}` })),
        api(sb, 'DELETE', `/containers/victim${round}?force=1`),
      ]);
      noServerErrors(rs);
      assert.equal(rs[4].status, 204, message(rs[4]));
    }
    const { veths, eps } = await vethsAndEndpoints();
    assert.deepEqual(eps, []);
    assert.deepEqual(veths, []);
    await removeAll();
  });

  it('`network rm` racing `network connect`: either the network goes and no container records it, or the rm is refused', async () => {
    for (let round = 0; round < 4; round++) {
      await sb.berth(['network', 'create', 'doomed']);
      const running = await Promise.all(Array.from({ length: 5 }, (_, i) => createAndStart(`r${round}c${i}`, sleeper())));
      assert.equal(statuses(running), '204×5');
      const stopped = await Promise.all(Array.from({ length: 4 }, (_, i) => api(sb, 'POST', `/containers/create?name=r${round}s${i}`, sleeper())));
      const targets = [...running.map((_, i) => `r${round}c${i}`), ...stopped.map((_, i) => `r${round}s${i}`)];
      const connects = targets.map((t) => api(sb, 'POST', '/networks/doomed/connect', { Container: t }));
      const rm = api(sb, 'DELETE', '/networks/doomed');
      const rs = await Promise.all([...connects, rm]);
      noServerErrors(rs);
      const rmResult = rs[rs.length - 1];
      const exists = (await sb.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').includes('doomed');
      if (rmResult.status === 204) {
        assert.equal(exists, false);
        for (const r of rs.slice(0, -1)) assert.ok([200, 404].includes(r.status), `${r.status} ${message(r)}`);
      } else {
        assert.equal(rmResult.status, 403, message(rmResult));
        assert.match(message(rmResult), /^error while removing network: network doomed has active endpoints \(.*\)$/);
        assert.equal(exists, true);
      }
      // No container records a network that does not exist (stopped ones included).
      for (const t of targets) {
        const nets = (await sb.inspect(t, '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}')).split(' ').filter(Boolean);
        if (!exists) assert.ok(!nets.includes('doomed'), `${t} records the removed network: ${nets.join(' ')}`);
      }
      const { veths, eps } = await vethsAndEndpoints();
      assert.equal(veths.length, eps.length, `veths ${veths.join(' ')} vs endpoints ${eps.join(' ')}`);
      await removeAll();
    }
  });

  it('10 parallel runs publishing one host port: one gets it, 9 get Docker\'s error and leave nothing', async () => {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      createAndStart(`pub${i}`, sleeper(undefined, { PortBindings: { '80/tcp': [{ HostPort: '8090' }] } }))));
    noServerErrors(rs);
    assert.equal(statuses(rs), '204×1 409×9');
    for (const r of rs.filter((x) => x.status !== 204)) {
      assert.match(message(r), /Bind for 0\.0\.0\.0:8090 failed: port is already allocated/);
    }
    const { veths, eps } = await vethsAndEndpoints();
    assert.equal(eps.length, 1);
    assert.equal(veths.length, 1);
    assert.equal((await sb.sh("nft list map inet berth pub_port 2>/dev/null | grep -c ' 8090 ' || true")).stdout.trim() !== '0', true);
    await removeAll();
  });

  it('a slow stop holds up only its own container: unrelated requests finish before it', async () => {
    // A container that ignores SIGTERM: `stop -t 8` takes the full 8 s.
    const slow = await createAndStart('stubborn', { Image: 'busybox', Cmd: ['sh', '-c', "trap '' TERM; while :; do sleep 1; done"] });
    assert.equal(slow.status, 204, message(slow));
    const other = await createAndStart('bystander', sleeper());
    assert.equal(other.status, 204, message(other));
    const done: string[] = [];
    const track = (what: string, p: Promise<ApiResult>) => p.then((r) => { done.push(what); return r; });
    const stop = track('stop', api(sb, 'POST', '/containers/stubborn/stop?t=8'));
    const others = await Promise.all([
      track('create', api(sb, 'POST', '/containers/create?name=newcomer', sleeper())),
      track('rename', api(sb, 'POST', '/containers/bystander/rename?name=bystander2')),
      track('network create', api(sb, 'POST', '/networks/create', { Name: 'sidenet' })),
      track('connect', api(sb, 'POST', '/networks/sidenet/connect', { Container: 'bystander' })),
      track('list', api(sb, 'GET', '/containers/json?all=1')),
    ]);
    noServerErrors(others);
    const stopped = await stop;
    assert.equal(stopped.status, 204, message(stopped));
    assert.equal(done[done.length - 1], 'stop', `order of completion: ${done.join(', ')}`);
    await removeAll();
  });

  it('20 parallel runs with -P: 20 distinct host ports', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      createAndStart(`eph${i}`, { ...sleeper(undefined, { PublishAllPorts: true }), ExposedPorts: { '80/tcp': {} } })));
    noServerErrors(rs);
    assert.equal(statuses(rs), '204×20');
    const ports = await Promise.all(rs.map((_, i) => sb.berth(['port', `eph${i}`, '80']).then((r) => r.stdout.trim())));
    assert.equal(new Set(ports).size, 20, ports.join(' '));
    await removeAll();
  });
});

// Overlay networks on etcd with three hosts, all managers (three etcd members, one per host,
// berthd's children), on a switch (a bridge in a fourth namespace). Containers on all three
// reach each other by name and address; kill -9 of the etcd leader's host (berthd and etcd)
// while the other two keep creating containers: none fails, no address twice, names keep
// resolving; the dead host's endpoints go when its lease expires; it rejoins on restart. A
// host cut off from the other two: its start fails with the clear error, nothing half-made,
// and it catches up when reconnected. The lease TTL is 3 s (--cluster-ttl).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox } from '../harness/sandbox';

const skip = Sandbox.skipReason();
const ADDR = ['10.78.0.1', '10.78.0.2', '10.78.0.3'];
const TTL = ['--cluster-ttl', '3'];
const ipOf = (h: Sandbox, c: string) => h.inspect(c, '{{(index .NetworkSettings.Networks "ov3").IPAddress}}');

/** f() until ok(v), for up to `ms` (a hang guard: each wait ends at the condition). */
async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await f();
  while (!ok(v) && Date.now() < end) { await new Promise((r) => setTimeout(r, 200)); v = await f(); }
  assert.ok(ok(v), `${what}: last ${JSON.stringify(v)}`);
  return v;
}

describe('overlay networks on etcd, three hosts', { skip }, () => {
  let lab: Sandbox, h: Sandbox[];

  before(async () => {
    [lab, ...h] = await Promise.all([Sandbox.start({ daemon: false }), ...ADDR.map(() => Sandbox.start({ daemonArgs: TTL }))]);
    await Promise.all(h.map((x) => x.importBusybox()));
    await Sandbox.lab(lab, h, 'ul0', ADDR);
  });
  after(async () => { await Promise.all([lab, ...(h ?? [])].map((x) => x?.cleanup())); });

  /** Which host's etcd member leads now (etcd's status, through its JSON gateway). */
  async function leader(among: number[]): Promise<number> {
    for (const i of among) {
      const r = await h[i].sh(`curl -sk -X POST -d '{}' https://${ADDR[i]}:2377/v3/maintenance/status`, { allowFail: true });
      try {
        const s = JSON.parse(r.stdout);
        if (s.leader && s.leader === s.header?.member_id) return i;
      } catch { /* not answering */ }
    }
    return -1;
  }

  it('three managers: swarm init, two joins with the manager token', async () => {
    await h[0].berth(['swarm', 'init', '--advertise-addr', ADDR[0]]);
    const token = (await h[0].berth(['swarm', 'join-token', '-q', 'manager'])).stdout.trim();
    assert.equal((await h[1].berth(['swarm', 'join', '--token', token, `${ADDR[0]}:2377`, '--advertise-addr', ADDR[1]])).stdout,
      'This node joined a swarm as a manager.\n');
    await h[2].berth(['swarm', 'join', '--token', token, `${ADDR[0]}:2377`, '--advertise-addr', ADDR[2]]);
    const ls = await until(async () => (await h[2].berth(['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}'])).stdout.trim().split('\n').sort(),
      (v) => v.length === 3 && v.every((l) => l.startsWith('Ready')), 'three Ready managers');
    assert.deepEqual(ls.map((l) => l.split(' ')[1] ?? '').sort(), ['Leader', 'Reachable', 'Reachable']);
  });

  it('containers on all three reach each other by name and address', async () => {
    await h[0].berth(['network', 'create', '-d', 'overlay', '--attachable', 'ov3']);
    for (const x of h) await until(async () => (await x.berth(['network', 'ls', '-q', '--filter', 'name=ov3'])).stdout.trim(), (s) => s !== '', 'ov3 everywhere');
    await Promise.all(h.map((x, i) => x.berth(['run', '-d', '--name', `x${i}`, '--network', 'ov3', 'busybox', 'sleep', '1000'])));
    const ips = await Promise.all(h.map((x, i) => ipOf(x, `x${i}`)));
    assert.equal(new Set(ips).size, 3);
    for (const [i, x] of h.entries()) {
      for (const j of [0, 1, 2].filter((j) => j !== i)) {
        await until(async () => (await x.berth(['exec', `x${i}`, 'ping', '-c1', '-W1', `x${j}`], { allowFail: true })).code, (c) => c === 0, `x${i} → x${j} by name`);
        assert.equal((await x.berth(['exec', `x${i}`, 'ping', '-c1', '-W1', ips[j]], { allowFail: true })).code, 0, `x${i} → x${j} by address`);
      }
    }
  });

  it('kill -9 of the etcd leader\'s host: the others keep creating, no address twice, names resolve; its endpoints go; it rejoins', async () => {
    const dead = await until(() => leader([0, 1, 2]), (i) => i >= 0, 'an etcd leader');
    const alive = [0, 1, 2].filter((i) => i !== dead);
    await h[dead].killDaemon();
    await h[dead].sh(`kill -9 $(cat ${h[dead].dataRoot}/cluster/etcd/etcd.pid)`);
    // (if this test fails midway, the host is started again all the same: the next tests then
    // report their own result, not "Cannot connect to the berth daemon")
    let restarted = false;
    const names = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
    try {
      // The two others create containers right away, in parallel, while a new leader is elected.
      const runs = await Promise.all(names.map((n, i) => h[alive[i % 2]].berth(['run', '-d', '--name', n, '--network', 'ov3', 'busybox', 'sleep', '1000'], { allowFail: true })));
      assert.deepEqual(runs.map((r) => r.code), names.map(() => 0), runs.map((r) => r.stderr).join(''));
      const ips = await Promise.all(names.map((n, i) => ipOf(h[alive[i % 2]], n)));
      const before = await Promise.all(alive.map((i) => ipOf(h[i], `x${i}`)));
      assert.equal(new Set([...ips, ...before]).size, ips.length + before.length, `no address twice: ${ips.join(' ')} ${before.join(' ')}`);
      // Names keep resolving across the two.
      await until(async () => (await h[alive[0]].berth(['exec', `x${alive[0]}`, 'ping', '-c1', '-W1', 'k2'], { allowFail: true })).code, (c) => c === 0, 'k2 by name');
      // The dead host's endpoint leaves the others' forwarding tables when its lease expires.
      const vx = (await h[alive[0]].sh('ip -o link show type vxlan | grep -o "vx-[0-9a-f]*" | head -1')).stdout.trim();
      // (its address may already be another container's: a freed address is given out again)
      const toDead = new RegExp(`^(?!00:00:00:00:00:00)\\S+ dst ${ADDR[dead].replace(/\./g, '\\.')} `, 'm');
      await until(async () => toDead.test((await h[alive[0]].sh(`bridge fdb show dev ${vx}`)).stdout), (has) => !has, 'no forwarding entry to the dead host');
      assert.match((await h[alive[1]].berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).stdout, /Down/);
      // Back: berthd starts its etcd member again, registers again, x<dead> is found again.
      await h[dead].startDaemon();
      restarted = true;
      await until(async () => (await h[alive[0]].berth(['exec', `x${alive[0]}`, 'ping', '-c1', '-W1', `x${dead}`], { allowFail: true })).code,
        (c) => c === 0, 'the restarted host\'s container by name', 60_000);
    } finally {
      if (!restarted) await h[dead].ensureDaemon();
    }
    await Promise.all(names.map((n, i) => h[alive[i % 2]].berth(['rm', '-f', n])));
  });

  it('a host cut off: the clear error, nothing half-made; it catches up when reconnected', async () => {
    await lab.sh('ip link set lab3 down');
    const linksBefore = (await h[2].sh('ip -o link show | wc -l')).stdout;
    const r = await h[2].berth(['run', '-d', '--name', 'cut', '--network', 'ov3', 'busybox', 'sleep', '1000'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the cluster store is not reachable: /);
    assert.equal((await h[2].sh('ip -o link show | wc -l')).stdout, linksBefore, 'no link left behind');
    assert.notEqual(await h[2].inspect('cut', '{{.State.Status}}'), 'running');
    await h[2].berth(['rm', '-f', 'cut']);
    // Meanwhile the others go on.
    await h[0].berth(['run', '-d', '--name', 'late', '--network', 'ov3', 'busybox', 'sleep', '1000']);
    await lab.sh('ip link set lab3 up');
    await until(async () => (await h[2].berth(['exec', 'x2', 'ping', '-c1', '-W1', 'late'], { allowFail: true })).code, (c) => c === 0, 'caught up: late by name', 60_000);
    await until(async () => (await h[0].berth(['exec', 'x0', 'ping', '-c1', '-W1', 'x2'], { allowFail: true })).code, (c) => c === 0, 'x2 registered again', 60_000);
    await h[0].berth(['rm', '-f', 'late']);
  });
});

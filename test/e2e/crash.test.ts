// kill -9 at any instant: a seeded mixed workload (run -d with -p and --network, some --rm,
// rm -f, network create/rm (bridge, macvlan), connect/disconnect, start/stop/restart, rename)
// from several clients in parallel; berthd is killed with SIGKILL at a random moment of each
// round (and sometimes again during its restart) and started again, and then records,
// kernel objects and processes must agree exactly (test/harness/consistency.ts), every running
// container must still serve its published port and reach a peer, and `berth start` / `rm -f`
// of every listed container must work.
//
// The seed is printed; BERTH_CRASH_SEED=N replays a run, BERTH_CRASH_ROUNDS=N changes its length.
// Then the same at exact points (wrappers of ip/nft/runc/crun/conmon/mount in berthd's PATH), and a power loss.
import { promises as fs } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_ADDR, Sandbox } from '../harness/sandbox';
import { api, cgroupsLeft, checkConsistency } from '../harness/consistency';
import { rng as prng } from '../harness/rng';

const skip = Sandbox.skipReason();
const SEED = Number(process.env.BERTH_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.BERTH_CRASH_ROUNDS ?? 20);
const CLIENTS = 3;
const MAX_CONTAINERS = 6;
const MAX_NETWORKS = 4;

describe(`kill -9 berthd at random moments (seed ${SEED})`, { skip }, () => {
  let sb: Sandbox;
  const rnd = prng(SEED);
  const pick = <T>(xs: T[]): T | undefined => (xs.length ? xs[Math.floor(rnd() * xs.length)] : undefined);
  let serial = 0;
  let port = 18000;

  before(async () => {
    process.stdout.write(`# crash test seed ${SEED} (replay: BERTH_CRASH_SEED=${SEED})\n`);
    sb = await Sandbox.start();
    await sb.importBusybox();
    await sb.berth(['network', 'create', 'cnet0']);
  });
  after(async () => { await sb?.cleanup(); });

  const containers = async (): Promise<any[]> => (await api(sb, 'GET', '/containers/json?all=1')).body ?? [];
  const userNets = async (): Promise<string[]> =>
    ((await api(sb, 'GET', '/networks')).body ?? []).map((n: any) => n.Name).filter((n: string) => /^cnet/.test(n));

  /** Every container the workload made: none may leave a cgroup behind. */
  const everyId: string[] = [];
  /** Outcomes of the workload's requests ("POST /containers/create 201": n), printed at the end. */
  const tally = new Map<string, number>();
  const call = async (method: string, p: string, body?: unknown) => {
    const key = `${method} ${p.replace(/[0-9a-f]{64}/, 'ID').replace(/c\d+|cnet\d+/g, 'X').replace(/\?.*/, '')}`;
    try {
      const r = await api(sb, method, p, body);
      tally.set(`${key} ${r.status}`, (tally.get(`${key} ${r.status}`) ?? 0) + 1);
      return r;
    } catch (e) {
      tally.set(`${key} cut`, (tally.get(`${key} cut`) ?? 0) + 1);
      throw e;
    }
  };

  /** One random operation through the API; errors (the daemon being killed, a lost race) are expected. */
  async function op(view: { cs: any[]; nets: string[]; age: number }): Promise<void> {
    // Listings are refreshed now and then, not before every request: more requests race.
    if (view.age++ % 3 === 0) { view.cs = await containers(); view.nets = await userNets(); }
    const r = rnd();
    const { cs, nets } = view;
    const c = pick(cs);
    if (r < 0.28 && cs.length < MAX_CONTAINERS + 2) {
      const name = `c${serial++}`;
      const net = pick(['bridge', ...nets])!;
      const p = port++;
      const created = await call('POST', `/containers/create?name=${name}`, {
        Image: 'busybox', Cmd: ['httpd', '-f', '-p', '80', '-h', '/etc'],
        // (some --rm: a stop or a crash during one then also removes the container)
        HostConfig: { NetworkMode: net, PortBindings: { '80/tcp': [{ HostPort: String(p) }] }, AutoRemove: rnd() < 0.15 },
      });
      if (created.status === 201) {
        everyId.push(created.body.Id);
        await call('POST', `/containers/${created.body.Id}/start`);
      }
    } else if (r < 0.40 && c) {
      await call('DELETE', `/containers/${c.Id}?force=1`);
    } else if (r < 0.48 && nets.length < MAX_NETWORKS) {
      // A bridge network, or a macvlan one whose parent berth makes (a private link).
      await call('POST', '/networks/create', { Name: `cnet${serial++}`, ...(rnd() < 0.3 ? { Driver: 'macvlan' } : {}) });
    } else if (r < 0.54) {
      const n = pick(nets.filter((x) => x !== 'cnet0'));
      if (n) await call('DELETE', `/networks/${n}`);
    } else if (r < 0.68 && c) {
      const n = pick(nets);
      if (n) await call('POST', `/networks/${n}/connect`, { Container: c.Id });
    } else if (r < 0.76 && c) {
      const n = pick(Object.keys(c.NetworkSettings?.Networks ?? {}));
      if (n) await call('POST', `/networks/${n}/disconnect`, { Container: c.Id });
    } else if (r < 0.84 && c) {
      await call('POST', `/containers/${c.Id}/stop?t=1`);
    } else if (r < 0.90 && c) {
      await call('POST', `/containers/${c.Id}/start`);
    } else if (r < 0.94 && c) {
      await call('POST', `/containers/${c.Id}/restart?t=1`);
    } else if (c) {
      await call('POST', `/containers/${c.Id}/rename?name=c${serial++}`);
    }
  }

  async function client(stop: { now: boolean }): Promise<void> {
    const view = { cs: [] as any[], nets: [] as string[], age: 0 };
    while (!stop.now) {
      try { await op(view); } catch { return; /* berthd is gone */ }
    }
  }

  /** Published ports answer with the container's own hostname; one container reaches a peer. */
  async function works(): Promise<string[]> {
    const bad: string[] = [];
    const running = (await containers()).filter((c) => c.State === 'running');
    for (const c of running) {
      // (a container disconnected from the network it was started on lost its ports with it;
      // that its records and the nft table agree is the checker's part)
      const p = (c.Ports ?? []).find((x: any) => x.PublicPort);
      if (!p) continue;
      const host = c.Id.slice(0, 12);
      const r = await sb.sh(`curl -s --max-time 5 http://${HOST_ADDR}:${p.PublicPort}/hostname`, { allowFail: true });
      if (r.stdout.trim() !== host) bad.push(`${c.Names[0]}: port ${p.PublicPort} answered ${JSON.stringify(r.stdout.trim())} (exit ${r.code}), want ${host}`);
    }
    // A peer on a shared network: by name (the embedded resolver) where the asking container was
    // started on that user-defined network, else by address.
    const byNet = new Map<string, Array<{ name: string; ip: string; primary: boolean }>>();
    for (const c of running) {
      for (const [n, e] of Object.entries<any>(c.NetworkSettings?.Networks ?? {})) {
        if (!e.IPAddress) continue;
        if (!byNet.has(n)) byNet.set(n, []);
        byNet.get(n)!.push({ name: c.Names[0].slice(1), ip: e.IPAddress, primary: c.HostConfig?.NetworkMode === n });
      }
    }
    const named = [...byNet.entries()].find(([n, l]) => n !== 'bridge' && l.length >= 2 && l.some((x) => x.primary));
    const asker = named?.[1].find((x) => x.primary);
    const pair = named ? [asker!, named[1].find((x) => x !== asker)!] : [...byNet.values()].find((l) => l.length >= 2);
    if (pair) {
      const target = named ? pair[1].name : pair[1].ip;
      const r = await sb.berth(['exec', pair[0].name, 'ping', '-c1', '-W3', target], { allowFail: true });
      tally.set(named ? 'peer pinged by name' : 'peer pinged by address', (tally.get(named ? 'peer pinged by name' : 'peer pinged by address') ?? 0) + 1);
      if (r.code !== 0) bad.push(`${pair[0].name} cannot reach ${pair[1].name} at ${target}: ${r.stdout}${r.stderr}`);
    }
    return bad;
  }

  it('the checker sees an orphan veth, a stray state file and a left-over intent', async () => {
    assert.deepEqual(await checkConsistency(sb), []);
    await sb.sh('ip link add vethorphan type veth peer name vethorphan1 && ip link set vethorphan alias berth:0123456789ab');
    await sb.sh(`touch ${sb.dataRoot}/state/containers/x.json.1234.tmp && mkdir -p ${sb.dataRoot}/state/intents && echo '{}' > ${sb.dataRoot}/state/intents/start-x.json`);
    const found = (await checkConsistency(sb)).join('\n');
    assert.match(found, /veth vethorphan \(berth:0123456789ab\) belongs to no running container/);
    assert.match(found, /stray file x\.json\.1234\.tmp/);
    assert.match(found, /intent start-x left over/);
    await sb.sh(`ip link del vethorphan; rm ${sb.dataRoot}/state/containers/x.json.1234.tmp ${sb.dataRoot}/state/intents/start-x.json`);
    assert.deepEqual(await checkConsistency(sb), []);
  });

  it(`${ROUNDS} rounds: SIGKILL mid-workload, restart, records = kernel = processes`, async () => {
    const failures: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const stop = { now: false };
      const clients = Array.from({ length: CLIENTS }, () => client(stop));
      const delay = 150 + Math.floor(rnd() * 2500);
      await new Promise((r) => setTimeout(r, delay));
      await sb.killDaemon();
      stop.now = true;
      await Promise.all(clients);
      let killedInInit = 0;
      if (rnd() < 0.3) {
        // Killed again during its start-up recovery.
        sb.spawnDaemon();
        killedInInit = 50 + Math.floor(rnd() * 1500);
        await new Promise((r) => setTimeout(r, killedInInit));
        await sb.killDaemon();
      }
      await sb.startDaemon();

      const found = await checkConsistency(sb);
      if (found.length) failures.push(`round ${round} (killed after ${delay} ms${killedInInit ? `, then ${killedInInit} ms into its restart` : ''}), after the restart:\n    ${found.join('\n    ')}`);
      const broken = await works();
      if (broken.length) failures.push(`round ${round}: running containers that do not work:\n    ${broken.join('\n    ')}`);

      // Every listed container can be started (a container of a removed network is refused
      // with Docker's message) and removed.
      for (const c of await containers()) {
        if (c.State === 'running') continue;
        const name = c.Names[0].slice(1);
        const r = await sb.berth(['start', name], { allowFail: true });
        if (r.code !== 0 && !/network \S+ not found/.test(r.stderr)) failures.push(`round ${round}: berth start ${name} failed: ${r.stderr.trim()}`);
        if (r.code !== 0) await sb.berth(['rm', '-f', name]);
      }
      const all = await containers();
      const extra = all.slice(0, Math.max(0, all.length - MAX_CONTAINERS + 2)).map((c) => c.Names[0].slice(1));
      if (extra.length) {
        const r = await sb.berth(['rm', '-f', ...extra], { allowFail: true });
        if (r.code !== 0) failures.push(`round ${round}: berth rm -f ${extra.join(' ')} failed: ${r.stderr.trim()}`);
      }
      const after = await checkConsistency(sb);
      if (after.length) failures.push(`round ${round}, after start / rm -f of the survivors:\n    ${after.join('\n    ')}`);
      if (failures.length > 12) break;
    }
    process.stdout.write(`# requests of the workload: ${[...tally].sort().map(([k, n]) => `${k}: ${n}`).join(', ')}\n`);
    assert.deepEqual(failures, [], `seed ${SEED} (replay: BERTH_CRASH_SEED=${SEED})`);
  });

  it('everything can be removed and nothing is left', async () => {
    const ids = (await containers()).map((c) => c.Id);
    if (ids.length) await sb.berth(['rm', '-f', ...ids]);
    for (const n of await userNets()) await sb.berth(['network', 'rm', n]);
    assert.deepEqual(await checkConsistency(sb), []);
    const veths = (await sb.sh('ip -o link show type veth | grep -v ": eth0@" || true')).stdout;
    assert.equal(veths, '', 'no container veth is left');
    assert.deepEqual(await cgroupsLeft(everyId), [], 'no container cgroup is left on the machine');
  });
});

// SIGKILL at exact points: wrappers first in berthd's PATH run the real ip / nft / runc / crun / conmon /
// umount and, when the command matches the armed pattern, kill berthd (before or after the
// real command ran, or instead of it), so every window between a kernel step and the record
// that accounts for it is hit on purpose, not by chance.
const WRAPPED = ['ip', 'nft', 'runc', 'crun', 'conmon', 'mount', 'umount', 'unshare'];
const WRAPPER = `#!/bin/sh
# crash-point wrapper: run the real command; kill berthd when the armed pattern matches.
name=\${0##*/}
real=$(cat "$BERTH_CP_DIR/real-$name")
input=
case " $* " in *" -batch - "*|*" -f - "*) input=$(cat) ;; esac
fire=
if [ -f "$BERTH_CP_DIR/armed" ]; then
  read -r when pattern < "$BERTH_CP_DIR/armed"
  if printf '%s %s %s' "$name" "$*" "$input" | tr '\\n' ' ' | grep -Eq -- "$pattern" && mv "$BERTH_CP_DIR/armed" "$BERTH_CP_DIR/fired" 2>/dev/null; then fire=$when; fi
fi
killberthd() {
  p=$PPID
  while [ "$p" -gt 1 ]; do
    if tr '\\0' ' ' < /proc/$p/cmdline | grep -q 'bin/berthd '; then kill -9 "$p"; return; fi
    p=$(cut -d' ' -f4 /proc/$p/stat)
  done
}
case $fire in
  instead) killberthd; exit 1 ;;
  before) killberthd ;;
esac
if [ -n "$input" ]; then printf '%s\\n' "$input" | "$real" "$@"; else "$real" "$@"; fi
rc=$?
[ "$fire" = after ] && killberthd
exit $rc
`;

describe('SIGKILL at each step of each change', { skip }, () => {
  let sb: Sandbox;
  let dir = '';
  const WEB = ['busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'];

  before(async () => {
    sb = await Sandbox.start({ daemon: false });
    dir = `${sb.top}/crashpoints`;
    await sb.sh(`mkdir -p ${dir}/bin && for c in ${WRAPPED.join(' ')}; do command -v $c > ${dir}/real-$c; done`);
    await fs.writeFile(sb.hostPath(`${dir}/bin/wrapper`), WRAPPER, { mode: 0o755 });
    await sb.sh(`for c in ${WRAPPED.join(' ')}; do ln -s wrapper ${dir}/bin/$c; done`);
    sb.daemonEnv = { BERTH_CP_DIR: dir, BERTH_NFT: 'program', PATH: `${dir}/bin:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
    await sb.startDaemon();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  /**
   * Arm the pattern, do the change (berthd dies in it), start berthd again: it must have
   * finished or undone the change, with records, kernel and processes in agreement.
   */
  async function crashIn(when: 'before' | 'after' | 'instead', pattern: string, change: () => Promise<unknown>,
    recovery?: ['before' | 'after' | 'instead', string], whileDown?: () => Promise<unknown>): Promise<void> {
    await fs.writeFile(sb.hostPath(`${dir}/armed`), `${when} ${pattern}\n`);
    await change().catch(() => undefined);
    const fired = await fs.readFile(sb.hostPath(`${dir}/fired`), 'utf8').catch(() => '');
    await fs.rm(sb.hostPath(`${dir}/armed`), { force: true });
    await fs.rm(sb.hostPath(`${dir}/fired`), { force: true });
    assert.ok(fired, `the change never ran a command matching ${pattern}`);
    await sb.killDaemon();
    await whileDown?.();
    if (recovery) await crashInRecovery(...recovery);
    await sb.startDaemon();
    assert.deepEqual(await checkConsistency(sb), [], `after a SIGKILL ${when} ${pattern}`);
  }

  /** Start berthd and kill it again while its start-up recovery runs the matching command. */
  async function crashInRecovery(when: 'before' | 'after' | 'instead', pattern: string): Promise<void> {
    await fs.writeFile(sb.hostPath(`${dir}/armed`), `${when} ${pattern}\n`);
    sb.spawnDaemon();
    let fired = '';
    for (let i = 0; i < 300 && !fired; i++) {
      await new Promise((r) => setTimeout(r, 50));
      fired = await fs.readFile(sb.hostPath(`${dir}/fired`), 'utf8').catch(() => '');
    }
    await fs.rm(sb.hostPath(`${dir}/armed`), { force: true });
    await fs.rm(sb.hostPath(`${dir}/fired`), { force: true });
    assert.ok(fired, `the recovery never ran a command matching ${pattern}`);
    await sb.killDaemon();
  }

  const state = (name: string) => sb.inspect(name, '{{.State.Status}}');
  const nets = async () => (await sb.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n');
  const hostname = async (name: string) => (await sb.inspect(name, '{{.Id}}')).slice(0, 12);
  const serves = async (port: number, name: string) =>
    assert.equal((await sb.waitFor(`curl -s --max-time 5 http://${HOST_ADDR}:${port}/hostname`, name)).stdout.trim(), await hostname(name));

  it('start: after the netns, the veth, the rootfs mount, at conmon, after the ports; and the recovery itself cut short', async () => {
    await sb.berth(['network', 'create', 'cp0']);
    await sb.berth(['create', '--name', 's1', '-p', '19101:80', ...WEB]);
    await crashIn('after', '^unshare --net=', () => api(sb, 'POST', '/containers/s1/start'));
    await crashIn('after', '^ip .*type veth', () => api(sb, 'POST', '/containers/s1/start'));
    assert.notEqual(await state('s1'), 'running');
    await crashIn('after', '^mount -t overlay', () => api(sb, 'POST', '/containers/s1/start'));
    await crashIn('before', '^conmon ', () => api(sb, 'POST', '/containers/s1/start'));
    assert.notEqual(await state('s1'), 'running', 'a process runc started before it was recorded is undone');
    // Killed before conmon wrote conmon.pid: conmon is found all the same.
    const s1 = await sb.inspect('s1', '{{.Id}}');
    await crashIn('before', '^conmon ', () => api(sb, 'POST', '/containers/s1/start'), undefined,
      () => sb.sh(`rm -f ${sb.execRoot}/containers/${s1}/conmon.pid`));
    assert.notEqual(await state('s1'), 'running');
    await crashIn('after', '^nft .*pub_port', () => api(sb, 'POST', '/containers/s1/start'));
    // The recovery itself cut short: while it undoes a start (runc delete, the rootfs unmount).
    await sb.berth(['start', 's1']);
    await crashIn('after', '^ip .*type veth', () => api(sb, 'POST', '/networks/cp0/connect', { Container: 's1' }));
    await sb.berth(['stop', '-t', '1', 's1']);
    await crashIn('before', '^conmon ', () => api(sb, 'POST', '/containers/s1/start'), ['after', '^(runc|crun) .* delete']);
    await crashIn('before', '^conmon ', () => api(sb, 'POST', '/containers/s1/start'), ['instead', '^umount ']);
    await crashIn('after', '^ip .*type veth', () => api(sb, 'POST', '/containers/s1/start'), ['after', '^nft -f']);
    await sb.berth(['start', 's1']);
    await serves(19101, 's1');
    await sb.berth(['network', 'rm', 'cp0']);
    // With -t, the runtime hands the terminal to conmon over a socket.
    await sb.berth(['create', '-t', '--name', 'st', 'busybox', 'sleep', '424242']);
    await crashIn('before', '^conmon ', () => api(sb, 'POST', '/containers/st/start'));
    assert.notEqual(await state('st'), 'running');
    await sb.berth(['start', 'st']);
    assert.equal(await state('st'), 'running');
    await sb.berth(['rm', '-f', 'st']);
  });

  it('network create and rm: after the bridge, after the macvlan parent, before the parent goes', async () => {
    await crashIn('after', '^ip .*type bridge', () => api(sb, 'POST', '/networks/create', { Name: 'cp1' }));
    assert.ok(!(await nets()).includes('cp1'));
    await sb.berth(['network', 'create', 'cp1']);
    // (the kernel may have no dummy links: then the parent is a veth pair)
    await crashIn('after', 'link add dm-[0-9a-f]+ .*type veth', () => api(sb, 'POST', '/networks/create', { Name: 'cpm', Driver: 'macvlan' }));
    assert.ok(!(await nets()).includes('cpm'));
    await sb.berth(['network', 'create', '-d', 'macvlan', 'cpm']);
    await crashIn('instead', 'link del dm-', () => api(sb, 'DELETE', '/networks/cpm'));
    assert.ok(!(await nets()).includes('cpm'));
    await crashIn('after', 'name bspare-', () => api(sb, 'DELETE', '/networks/cp1'));
    assert.ok(!(await nets()).includes('cp1'));
    await sb.berth(['network', 'create', 'cp1']);
  });

  it('connect and disconnect of a running container: after the veth or macvlan interface, before the old one goes', async () => {
    await sb.berth(['run', '-d', '--name', 's2', '-p', '19102:80', ...WEB]);
    await crashIn('after', '^ip .*type veth', () => api(sb, 'POST', '/networks/cp1/connect', { Container: 's2' }));
    await sb.berth(['network', 'connect', 'cp1', 's2']);
    await crashIn('instead', '^ip link del veth', () => api(sb, 'POST', '/networks/cp1/disconnect', { Container: 's2' }));
    assert.equal(await sb.inspect('s2', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'), 'bridge');
    // A macvlan interface lives only in the container's namespace: no sweep of the host finds it.
    await sb.berth(['network', 'create', '-d', 'macvlan', 'cpm2']);
    await crashIn('after', 'link add link dm-[0-9a-f]+ name eth', () => api(sb, 'POST', '/networks/cpm2/connect', { Container: 's2' }));
    await sb.berth(['network', 'connect', 'cpm2', 's2']);
    await crashIn('instead', '^ip -batch - link del dev eth', () => api(sb, 'POST', '/networks/cpm2/disconnect', { Container: 's2' }));
    assert.equal(await sb.inspect('s2', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'), 'bridge');
    await sb.berth(['network', 'rm', 'cpm2']);
    await serves(19102, 's2');
  });

  it('stop and rm -f: after the ports are unpublished, before the rootfs is unmounted, after runc delete', async () => {
    await crashIn('after', '^nft .*delete element', () => api(sb, 'POST', '/containers/s2/stop?t=1'));
    await sb.berth(['start', 's2']);
    await serves(19102, 's2');
    await crashIn('instead', '^umount ', () => api(sb, 'DELETE', '/containers/s2?force=1'));
    await crashIn('after', '^(runc|crun) .* delete', () => api(sb, 'DELETE', '/containers/s1?force=1'));
    const ids = (await sb.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    const left = (await sb.berth(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).stdout;
    if (left.trim()) await sb.berth(['rm', '-f', ...left.trim().split('\n').map((l) => l.split(' ')[0])]);
    await sb.berth(['network', 'rm', 'cp1']);
    assert.deepEqual(await checkConsistency(sb), []);
    assert.deepEqual(await cgroupsLeft(ids), [], 'no container cgroup is left on the machine');
  });
});

// A power loss: the machine stops at once and comes back with the data root as it was on disk
// and nothing else (no process, mount, link, nft table, or exec-root file).
describe('a power loss', { skip }, () => {
  let sb: Sandbox;
  const WEB = ['busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'];
  before(async () => {
    sb = await Sandbox.start();
    await sb.importBusybox();
  });
  after(async () => { await sb?.cleanup(); });

  it('berthd comes back with every container stopped, networks rebuilt, and everything startable', async () => {
    await sb.berth(['network', 'create', 'pnet']);
    await sb.berth(['network', 'create', '-d', 'macvlan', 'pmac']);
    await sb.berth(['run', '-d', '--name', 'p1', '--network', 'pnet', '-p', '19201:80', ...WEB]);
    await sb.berth(['run', '-d', '--name', 'p2', '-p', '19202:80', ...WEB]);
    await sb.berth(['network', 'connect', 'pnet', 'p2']);
    await sb.berth(['run', '-d', '--name', 'p3', '--network', 'pmac', ...WEB]);
    await sb.berth(['create', '--name', 'p4', ...WEB]);
    await sb.killDaemon();
    // Every process but the sandbox's init, then what the kernel and the tmpfs under /run hold.
    await sb.sh(`kill -9 -1; sleep 0.5; grep -o ' ${sb.execRoot}/[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l;
      rm -rf ${sb.execRoot}/*; nft flush ruleset;
      for l in $(ip -o link show | cut -d: -f2 | sed 's/@.*//'); do case $l in lo|eth0) ;; *) ip link del $l 2>/dev/null ;; esac; done; true`);
    await sb.startDaemon();
    assert.deepEqual(await checkConsistency(sb), []);
    const states = (await sb.berth(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(states, ['p1 exited', 'p2 exited', 'p3 exited', 'p4 created']);
    await sb.berth(['start', 'p1', 'p2', 'p3', 'p4']);
    for (const [port, name] of [[19201, 'p1'], [19202, 'p2']] as const) {
      const id = (await sb.inspect(name, '{{.Id}}')).slice(0, 12);
      assert.equal((await sb.waitFor(`curl -s --max-time 5 http://${HOST_ADDR}:${port}/hostname`, name)).stdout.trim(), id);
    }
    const p1 = await sb.inspect('p1', '{{.NetworkSettings.Networks.pnet.IPAddress}}');
    await sb.berth(['exec', 'p2', 'ping', '-c1', '-W3', p1]);
    assert.deepEqual(await checkConsistency(sb), []);
    const ids = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((n) => sb.inspect(n, '{{.Id}}')));
    await sb.berth(['rm', '-f', 'p1', 'p2', 'p3', 'p4']);
    await sb.berth(['network', 'rm', 'pnet', 'pmac']);
    assert.deepEqual(await checkConsistency(sb), []);
    assert.deepEqual(await cgroupsLeft(ids), [], 'no container cgroup is left on the machine');
  });
});

// A consistency checker for a sandbox whose berthd is up: do berthd's records (what the API
// lists, the state files on disk), the kernel (veths, bridges, namespaces, mounts, berth's nft
// table) and the runtime (runc's containers, shims, container processes) agree exactly?
//
// The crash and full-disk tests call it after every restart: any object the records do not
// account for (an orphan), and any record whose object is missing, is one discrepancy, worded
// for a person. An empty list means consistent.
//
// Where berth keeps things (src/runtime/runtime.ts, src/engine/sandbox.ts, src/store/):
//   <data>/state/{containers,networks,intents}/<id>.json   records and write-ahead intents
//   <data>/containers/<id>/                                  a container's logs, /etc files, upper dir
//   <exec>/containers/<id>/ (rootfs mounted while running)   its OCI bundle and conmon's files
//   <exec>/runc/, <exec>/runtime-crun/                       the OCI runtimes' own state (--root)
//   <exec>/netns/<short id>                                  a running container's netns handle
//   host links with alias "berth:<12 hex>"                   bridges (network id) and veths (container id)
//   table inet berth                                           bridges/masq/... sets, pub_* maps
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Sandbox } from './sandbox';

/** The subset of a container record the checker reads. */
interface ContainerRec {
  Id: string; Name: string;
  State: { Running: boolean; Pid: number; Status: string };
  HostConfig: { NetworkMode: string };
  netnsPath: string | null;
  endpoints: Record<string, { NetworkID: string; IPAddress: string; IPPrefixLen: number; ifname: string; hostIfname: string; MacAddress: string }>;
  ports: Array<{ proto: string; hostIp: string; hostPort: number; containerIp: string; containerPort: number; count: number; bridgeName: string }>;
}

interface NetworkRec {
  Id: string; Name: string; Driver: string; Internal: boolean; EnableIPv6?: boolean; bridgeName?: string;
  parent?: string; createdParent?: boolean;
  Options: Record<string, string>;
  IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
}

/** GET a path of berthd's API over its socket; JSON body. */
export function api(sb: Sandbox, method: string, p: string, body?: unknown, timeoutMs = 60_000): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({
      socketPath: sb.hostPath(sb.socket), method, path: p, timeout: timeoutMs,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: any = text;
        try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${p}: no answer within ${timeoutMs} ms`)));
    req.end(data);
  });
}

async function readJsonDir<T>(dir: string, problems: string[], what: string): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!f.endsWith('.json')) { problems.push(`${what}: stray file ${f} in ${path.basename(dir)}/ (a write cut short?)`); continue; }
    try {
      out.set(f.slice(0, -5), JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')) as T);
    } catch (e) {
      problems.push(`${what}: unreadable state file ${f}: ${(e as Error).message}`);
    }
  }
  return out;
}

const short = (id: string) => id.slice(0, 12);

/** The OCI runtimes and their state roots under the exec-root (src/runtime/runtime.ts rootOf). */
const RUNTIME_ROOTS: Array<[string, string]> = [['runc', 'runc'], ['crun', 'runtime-crun']];

/** nft's JSON for an element (or a map key / value) as "a . b", ranges "a-b", prefixes "a/n". */
function nftText(v: any): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.map(nftText).join(', ');
  if (v.concat) return v.concat.map(nftText).join(' . ');
  if (v.prefix) return `${v.prefix.addr}/${v.prefix.len}`;
  if (v.range) return `${nftText(v.range[0])}-${nftText(v.range[1])}`;
  if (v.elem) return nftText(v.elem.val);
  if (v.set) return nftText(v.set);
  return JSON.stringify(v);
}

/** Elements of berth's sets and maps ("key" for sets, "key : value" for maps), by name. */
async function nftElements(sb: Sandbox): Promise<Map<string, Set<string>> | string> {
  const r = await sb.sh('nft -j list table inet berth', { allowFail: true });
  if (r.code !== 0) return `table inet berth is missing: ${r.stderr.trim()}`;
  const out = new Map<string, Set<string>>();
  for (const o of JSON.parse(r.stdout).nftables ?? []) {
    const s = o.set ?? o.map;
    if (!s) continue;
    const elems = new Set<string>();
    for (const e of s.elem ?? []) {
      if (Array.isArray(e)) elems.add(`${nftText(e[0])} : ${nftText(e[1])}`);
      else elems.add(nftText(e));
    }
    out.set(s.name, elems);
  }
  return out;
}

function hostKey(hostIp: string): string {
  if (!hostIp || hostIp === '0.0.0.0') return '0.0.0.0/0';
  return hostIp === '::' ? '::/0' : hostIp;
}

/**
 * What berth's table must hold for these networks and running containers (firewall/ruleset.ts's
 * layout). IPv6 masquerade (masq6) depends on a berthd flag and is not checked.
 */
function expectedElements(nets: NetworkRec[], running: ContainerRec[]): Map<string, Set<string>> {
  const want = new Map<string, Set<string>>();
  const add = (set: string, e: string) => { if (!want.has(set)) want.set(set, new Set()); want.get(set)!.add(e); };
  for (const n of ['bridges', 'samebr', 'internal', 'masq', 'hairpin', 'pub_port', 'pub_addr', 'pub_addrport',
    'hairpin6', 'pub_port6', 'pub_addr6', 'pub_addrport6']) want.set(n, new Set());
  for (const n of nets) {
    if (n.Driver !== 'bridge' || !n.bridgeName) continue;
    const subnet = n.IPAM.Config.find((c) => !c.Subnet.includes(':'))?.Subnet;
    const subnet6 = n.EnableIPv6 ? n.IPAM.Config.find((c) => c.Subnet.includes(':'))?.Subnet : undefined;
    add('bridges', n.bridgeName);
    add('samebr', `${n.bridgeName} . ${n.bridgeName}`);
    add('hairpin', `${n.bridgeName} . ${subnet}`);
    if (subnet6) add('hairpin6', `${n.bridgeName} . ${subnet6}`);
    if (n.Internal) add('internal', n.bridgeName);
    else if (n.Options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false') add('masq', subnet!);
  }
  for (const c of running) {
    for (const m of c.ports ?? []) {
      const v6 = m.hostIp.includes(':');
      // (the relay's: the IPv6 side of an IPv4-only container, and [::1])
      if (v6 && (!m.containerIp.includes(':') || m.hostIp === '::1')) continue;
      const f = v6 ? '6' : '';
      const h = hostKey(m.hostIp);
      if ((h === '0.0.0.0/0' || h === '::/0') && m.count === 1) add(`pub_port${f}`, `${m.proto} . ${m.hostPort} : ${m.containerIp} . ${m.containerPort}`);
      else if (m.hostPort === m.containerPort) {
        const ports = m.count > 1 ? `${m.hostPort}-${m.hostPort + m.count - 1}` : `${m.hostPort}`;
        add(`pub_addr${f}`, `${h} . ${m.proto} . ${ports} : ${m.containerIp}`);
      } else {
        for (let i = 0; i < m.count; i++) add(`pub_addrport${f}`, `${h} . ${m.proto} . ${m.hostPort + i} : ${m.containerIp} . ${m.containerPort + i}`);
      }
    }
  }
  return want;
}

/**
 * cgroup directories (any hierarchy: v2, or each v1 controller) of these containers. cgroupfs is
 * the machine's, not the sandbox's: a container's leftover cgroup outlives the test.
 */
export async function cgroupsLeft(ids: string[]): Promise<string[]> {
  const root = '/sys/fs/cgroup';
  const parents = [path.join(root, 'berth'), ...(await fs.readdir(root).catch(() => [] as string[])).map((h) => path.join(root, h, 'berth'))];
  const left: string[] = [];
  for (const p of parents) {
    for (const id of ids) {
      if (await fs.stat(path.join(p, id)).then(() => true, () => false)) left.push(path.join(p, id));
    }
  }
  return left;
}

/**
 * Compare berthd's records with the kernel and the runtime. Returns the discrepancies, one
 * sentence each; [] when everything agrees.
 */
export async function checkConsistency(sb: Sandbox): Promise<string[]> {
  const problems: string[] = [];
  const data = sb.hostPath(sb.dataRoot);
  const exec = sb.hostPath(sb.execRoot);

  // ---- records: the state files, and what the API serves from memory
  const recs = await readJsonDir<ContainerRec>(path.join(data, 'state', 'containers'), problems, 'containers');
  const netRecs = await readJsonDir<NetworkRec>(path.join(data, 'state', 'networks'), problems, 'networks');
  const intents = await readJsonDir<unknown>(path.join(data, 'state', 'intents'), problems, 'intents');
  for (const [k, v] of intents) problems.push(`intent ${k} left over: ${JSON.stringify(v)}`);

  const listed = await api(sb, 'GET', '/containers/json?all=1');
  if (listed.status !== 200) return [...problems, `GET /containers/json answered ${listed.status}: ${JSON.stringify(listed.body)}`];
  const apiById = new Map<string, any>(listed.body.map((c: any) => [c.Id, c]));
  for (const [id, c] of recs) {
    const a = apiById.get(id);
    if (!a) { problems.push(`container ${c.Name} (${short(id)}) has a state file but the API does not list it`); continue; }
    if ((a.State === 'running') !== c.State.Running) problems.push(`container ${c.Name}: API says ${a.State}, its state file says Running=${c.State.Running}`);
  }
  for (const [id, a] of apiById) if (!recs.has(id)) problems.push(`container ${a.Names?.[0]} (${short(id)}) is listed by the API but has no state file`);
  const netList = await api(sb, 'GET', '/networks');
  const apiNets = new Set<string>((netList.body ?? []).filter((n: any) => n.Scope === 'local').map((n: any) => n.Id));
  for (const id of netRecs.keys()) if (!apiNets.has(id)) problems.push(`network ${netRecs.get(id)!.Name} has a state file but the API does not list it`);
  for (const id of apiNets) if (!netRecs.has(id)) problems.push(`network ${id.slice(0, 12)} is listed by the API but has no state file`);
  const names = new Map<string, string>();
  for (const c of recs.values()) {
    if (names.has(c.Name)) problems.push(`two containers named ${c.Name}: ${short(names.get(c.Name)!)} and ${short(c.Id)}`);
    names.set(c.Name, c.Id);
  }

  const running = [...recs.values()].filter((c) => c.State.Running);
  const runningIds = new Set(running.map((c) => c.Id));
  const nets = [...netRecs.values()];
  const netById = new Map(nets.map((n) => [n.Id, n]));

  // ---- the runtime: the OCI runtimes' containers (runc's and crun's), conmon, processes
  const runc: Array<{ id: string; pid: number; status: string }> = [];
  for (const [bin, root] of RUNTIME_ROOTS) {
    if (!(await fs.stat(path.join(exec, root)).catch(() => null))) continue;
    const list = await sb.sh(`${bin} --root=${sb.execRoot}/${root} list --format json`, { allowFail: true });
    if (list.code !== 0) problems.push(`${bin} list failed: ${list.stderr.trim()}`);
    else runc.push(...(JSON.parse(list.stdout || 'null') ?? []));
  }
  const runcById = new Map(runc.map((r) => [r.id, r]));
  for (const r of runc) {
    const c = recs.get(r.id);
    if (!c) problems.push(`runc has container ${short(r.id)} (${r.status}, pid ${r.pid}) that no record names`);
    else if (!c.State.Running) problems.push(`runc has container ${c.Name} (${r.status}, pid ${r.pid}) but its record says ${c.State.Status}`);
    else if (r.status !== 'running') problems.push(`container ${c.Name} is recorded running but runc says ${r.status}`);
  }
  const procs = await sb.sh(`for d in /proc/[0-9]*; do c=$(tr '\\0' ' ' < $d/cmdline 2>/dev/null) && [ -n "$c" ] && echo "\${d#/proc/} $c"; done; true`);
  const procLines = procs.stdout.split('\n').filter(Boolean);
  // Container processes, by their cgroup (runtime/spec.ts: /berth/<id>).
  const cgroups = await sb.sh(`for d in /proc/[0-9]*; do c=$(cat $d/cgroup 2>/dev/null) && echo "\${d#/proc/} $c"; done; true`);
  const inContainer = new Map<string, number[]>();
  for (const l of cgroups.stdout.split('\n')) {
    const m = /^(\d+) .*\/berth\/([0-9a-f]{64})$/.exec(l);
    if (m) inContainer.set(m[2], [...(inContainer.get(m[2]) ?? []), Number(m[1])]);
  }
  for (const [id, ps] of inContainer) {
    if (!recs.get(id)?.State.Running) problems.push(`processes ${ps.join(' ')} run in the cgroup of ${recs.get(id)?.Name ?? short(id)}, which is not recorded running${recs.has(id) ? '' : ' (no record)'}`);
  }
  const pids = new Set(procLines.map((l) => Number(l.split(' ')[0])));
  const bundleRe = new RegExp(`${sb.execRoot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/containers/([0-9a-f]{64})`);
  const shims = new Map<string, number>();
  for (const l of procLines) {
    const m = bundleRe.exec(l);
    if (!m || !/ --bundle /.test(l)) continue;
    const id = m[1];
    if (/^\d+ (\S*\/)?conmon /.test(l)) shims.set(id, (shims.get(id) ?? 0) + 1);
    if (!runningIds.has(id)) problems.push(`process for container ${recs.get(id)?.Name ?? short(id)} not recorded running: ${l.slice(0, 160)}`);
  }
  for (const c of running) {
    const r = runcById.get(c.Id);
    if (!r) problems.push(`container ${c.Name} is recorded running but runc does not know it`);
    if (!inContainer.get(c.Id)?.includes(c.State.Pid)) problems.push(`container ${c.Name}: its recorded pid ${c.State.Pid} is not a process in its cgroup`);
    if (!pids.has(c.State.Pid)) problems.push(`container ${c.Name} is recorded running with pid ${c.State.Pid}, which does not exist`);
    else if (r && r.pid !== c.State.Pid) problems.push(`container ${c.Name}: recorded pid ${c.State.Pid}, runc says ${r.pid}`);
    if (!shims.has(c.Id)) problems.push(`container ${c.Name} is recorded running but has no shim`);
    else if (shims.get(c.Id)! > 1) problems.push(`container ${c.Name} has ${shims.get(c.Id)} shims`);
  }

  const stopped = [...recs.values()].filter((c) => !c.State.Running).map((c) => c.Id);
  for (const d of await cgroupsLeft(stopped)) problems.push(`cgroup ${d} of a container not recorded running`);

  // ---- mounts: rootfs of running containers, netns handles
  const mountinfo = (await sb.sh('cat /proc/self/mountinfo')).stdout.split('\n');
  const mounts = mountinfo.map((l) => l.split(' ')[4]).filter(Boolean);
  const rootfsMounted = new Set<string>();
  const netnsMounted = new Set<string>();
  for (const mp of mounts) {
    if (!mp.startsWith(sb.execRoot + '/')) continue;
    const rel = mp.slice(sb.execRoot.length + 1).split('/');
    if (rel[0] === 'containers' && rel[2] === 'rootfs' && rel.length === 3) {
      rootfsMounted.add(rel[1]);
      if (!runningIds.has(rel[1])) problems.push(`rootfs of ${recs.get(rel[1])?.Name ?? short(rel[1])} is mounted but it is not recorded running`);
    } else if (rel[0] === 'netns' && rel.length === 2) {
      netnsMounted.add(mp);
    } else if (!RUNTIME_ROOTS.some(([, root]) => rel[0] === root)) {
      problems.push(`unexpected mount under the exec-root: ${mp}`);
    }
  }
  const ownNetns = new Set<string>();
  for (const c of running) {
    if (!rootfsMounted.has(c.Id)) problems.push(`container ${c.Name} is recorded running but its rootfs is not mounted`);
    const mode = c.HostConfig.NetworkMode;
    if (mode === 'host' || mode.startsWith('container:')) continue;
    if (!c.netnsPath) { problems.push(`container ${c.Name} is running without a netns handle in its record`); continue; }
    ownNetns.add(c.netnsPath);
    if (!netnsMounted.has(c.netnsPath)) problems.push(`container ${c.Name}: its netns handle ${c.netnsPath} is not mounted`);
  }
  for (const mp of netnsMounted) if (!ownNetns.has(mp)) problems.push(`netns handle ${path.basename(mp)} is mounted but no running container owns it`);
  for (const f of await fs.readdir(path.join(exec, 'netns')).catch(() => [] as string[])) {
    const p = path.join(sb.execRoot, 'netns', f);
    if (!ownNetns.has(p) && !netnsMounted.has(p)) problems.push(`file netns/${f} left behind`);
  }

  // ---- files: directories of containers without a record, temporary files
  for (const d of await fs.readdir(path.join(exec, 'containers')).catch(() => [] as string[])) {
    if (!recs.has(d)) problems.push(`bundle directory exec/containers/${short(d)} has no record`);
  }
  for (const d of await fs.readdir(path.join(data, 'containers')).catch(() => [] as string[])) {
    if (!recs.has(d)) problems.push(`directory data/containers/${short(d)} has no record`);
  }
  for (const c of recs.values()) {
    if (!(await fs.stat(path.join(data, 'containers', c.Id)).catch(() => null))) problems.push(`container ${c.Name} has no data directory`);
  }
  for (const [bin, root] of RUNTIME_ROOTS) {
    for (const d of await fs.readdir(path.join(exec, root)).catch(() => [] as string[])) {
      if (!runcById.has(d)) problems.push(`${bin} state directory ${root}/${short(d)} that ${bin} does not list`);
    }
  }
  for (const d of await fs.readdir(path.join(data, 'images')).catch(() => [] as string[])) {
    if (d === 'tmp') {
      const left = await fs.readdir(path.join(data, 'images', 'tmp')).catch(() => [] as string[]);
      if (left.length) problems.push(`images/tmp holds ${left.join(' ')} (an import cut short?)`);
    } else if (/^[0-9a-f]{64}$/.test(d) && !(await fs.stat(path.join(data, 'images', d, 'image.json')).catch(() => null))) {
      problems.push(`image directory images/${short(d)} has no image.json (half-written)`);
    }
  }
  const tmp = await sb.sh(`find ${sb.dataRoot} ${sb.execRoot} -name '*.tmp' 2>/dev/null; true`);
  for (const f of tmp.stdout.split('\n').filter(Boolean)) {
    problems.push(`temporary file left: ${f}`);
  }

  // ---- links in the host namespace
  const links: Array<{ ifname: string; ifalias?: string; master?: string; operstate?: string; linkinfo?: { info_kind?: string } }> =
    JSON.parse((await sb.sh('ip -d -j link show')).stdout);
  const addrs: Array<{ ifname: string; addr_info: Array<{ family: string; local: string; prefixlen: number }> }> =
    JSON.parse((await sb.sh('ip -j addr show')).stdout);
  const byName = new Map(links.map((l) => [l.ifname, l]));
  const bridgeOf = new Map<string, NetworkRec>();
  for (const n of nets) if (n.Driver === 'bridge' && n.bridgeName) bridgeOf.set(n.bridgeName, n);
  for (const [br, n] of bridgeOf) {
    if (!byName.has(br)) { problems.push(`network ${n.Name}: bridge ${br} is missing`); continue; }
    const gw = n.IPAM.Config[0]?.Gateway;
    const has = addrs.find((a) => a.ifname === br)?.addr_info.some((x) => x.family === 'inet' && x.local === gw);
    if (!has) problems.push(`network ${n.Name}: bridge ${br} lacks its gateway address ${gw}`);
  }
  const wantVeths = new Map<string, { c: ContainerRec; net: NetworkRec | undefined }>();
  for (const c of running) {
    for (const ep of Object.values(c.endpoints ?? {})) {
      if (ep.hostIfname) wantVeths.set(ep.hostIfname, { c, net: netById.get(ep.NetworkID) });
    }
  }
  for (const l of links) {
    if (!l.ifalias?.startsWith('berth:') || l.ifalias.startsWith('berth:parent')) continue; // (parents: below)
    const kind = l.linkinfo?.info_kind;
    if (kind === 'bridge' && !bridgeOf.has(l.ifname)) problems.push(`bridge ${l.ifname} (${l.ifalias}) belongs to no network`);
    if (kind === 'veth' && !wantVeths.has(l.ifname)) problems.push(`veth ${l.ifname} (${l.ifalias}) belongs to no running container's endpoint`);
  }
  // Parents berth made for macvlan/ipvlan networks (a private link "dm-/di-<network>", or a VLAN).
  const parents = new Map(nets.filter((n) => n.createdParent && n.parent).map((n) => [n.parent!, n]));
  for (const [p, n] of parents) if (!byName.has(p)) problems.push(`network ${n.Name}: its parent link ${p} is missing`);
  for (const l of links) {
    const made = /^d[mi]-[0-9a-f]{12}$/.test(l.ifname) || l.ifalias?.startsWith('berth:parent');
    if (made && !parents.has(l.ifname)) problems.push(`link ${l.ifname} (a ${l.linkinfo?.info_kind} berth made as a network's parent) belongs to no network`);
  }
  for (const [veth, { c, net }] of wantVeths) {
    const l = byName.get(veth);
    if (!l) problems.push(`container ${c.Name}: veth ${veth} is missing`);
    else if (net?.bridgeName && l.master !== net.bridgeName) problems.push(`container ${c.Name}: veth ${veth} is on ${l.master ?? 'no bridge'}, not ${net.bridgeName}`);
  }

  // ---- inside each running container's namespace: its interfaces and addresses
  const seenIp = new Map<string, string>();
  for (const c of running) {
    for (const [netName, ep] of Object.entries(c.endpoints ?? {})) {
      const k = `${ep.NetworkID}/${ep.IPAddress}`;
      if (seenIp.has(k)) problems.push(`address ${ep.IPAddress} on ${netName} is recorded for both ${seenIp.get(k)} and ${c.Name}`);
      seenIp.set(k, c.Name);
      if (!netById.has(ep.NetworkID)) problems.push(`container ${c.Name} has an endpoint on network ${netName}, which has no record`);
    }
    const mode = c.HostConfig.NetworkMode;
    if (!c.netnsPath || mode === 'host' || mode.startsWith('container:') || !netnsMounted.has(c.netnsPath)) continue;
    const r = await sb.sh(`nsenter --net=${c.netnsPath} ip -j addr show`, { allowFail: true });
    if (r.code !== 0) { problems.push(`container ${c.Name}: cannot enter its netns: ${r.stderr.trim()}`); continue; }
    const inside: typeof addrs = JSON.parse(r.stdout);
    const wantIf = new Map(Object.values(c.endpoints ?? {}).map((e) => [e.ifname, e]));
    for (const i of inside) {
      if (i.ifname === 'lo') continue;
      const e = wantIf.get(i.ifname);
      if (!e) { problems.push(`container ${c.Name} has interface ${i.ifname} that no endpoint records`); continue; }
      const v4 = i.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
      if (v4.join() !== `${e.IPAddress}/${e.IPPrefixLen}`) problems.push(`container ${c.Name}: ${i.ifname} has ${v4.join(' ') || 'no address'}, recorded ${e.IPAddress}/${e.IPPrefixLen}`);
    }
    for (const name of wantIf.keys()) if (!inside.some((i) => i.ifname === name)) problems.push(`container ${c.Name}: interface ${name} is missing in its netns`);
  }

  // ---- berth's nft table
  const have = await nftElements(sb);
  if (typeof have === 'string') problems.push(have);
  else {
    for (const [set, want] of expectedElements(nets, running)) {
      const got = have.get(set) ?? new Set<string>();
      for (const e of want) if (!got.has(e)) problems.push(`nft ${set} lacks element ${e}`);
      for (const e of got) if (!want.has(e)) problems.push(`nft ${set} has element ${e} that no record accounts for`);
    }
  }
  return problems;
}

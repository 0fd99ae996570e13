// The engine's side of the swarm (src/cluster/): what this host builds from the cluster state
// (overlay network records and kernel devices, names of containers on other hosts), and the
// Docker-shaped answers of /swarm, /nodes and /info's Swarm section.
import * as os from 'node:os';
import * as path from 'node:path';
import { Cluster, type ClusterOptions } from '../cluster/cluster';
import type { ClusterState } from '../cluster/state';
import type { DnsContainer } from '../dns/records';
import type { OverlaySpec } from './drivers/overlay';
import type { Drivers } from './drivers/registry';
import type { SwarmApi } from './api';
import type { Networks } from './networks';
import type { OverlayHooks } from './sandbox';
import { ApiError, notFound } from '../util/errors';
import { log } from '../util/log';
import { VXLAN_PORT } from './drivers/overlay';

export const NOT_IN_SWARM = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

export class Swarm implements SwarmApi {
  readonly cluster: Cluster;

  /**
   * `changed`: called after this host followed a new state (the engine refreshes names);
   * `attached`: whether a running container of this host is on a swarm network.
   */
  constructor(dataRoot: string, private readonly networks: Networks, private readonly drivers: Drivers,
              private readonly version: string, private readonly changed: () => Promise<void>,
              private readonly attached: () => boolean, opts: ClusterOptions = {}) {
    this.cluster = new Cluster(path.join(dataRoot, 'cluster'), (s) => this.follow(s), () => networks.usedSubnets(), opts);
  }

  /** What the sandboxes need to put containers on overlay networks. */
  hooks(): OverlayHooks {
    return {
      nodeId: () => this.cluster.nodeId,
      addEndpoint: (r) => this.cluster.addEndpoint(r),
      removeEndpoint: (id) => this.cluster.removeEndpoint(id),
    };
  }

  /** An overlay network on this host: its VNI, this host's address, the other hosts and their containers' MACs. */
  spec(id: string): OverlaySpec {
    const vni = this.cluster.current?.networks.find((n) => n.id === id)?.vni;
    if (vni === undefined) throw new ApiError(404, `network ${id} not found in the swarm`);
    const self = this.cluster.config;
    // (hosts that are Down get no broadcasts; they are back in the list when their lease is)
    const alive = new Set(this.cluster.current?.alive ?? []);
    const nodes = (this.cluster.current?.nodes ?? []).filter((n) => alive.has(n.id) || n.id === self?.nodeId);
    const hosts = new Map(nodes.map((n) => [n.id, n.addr]));
    const remote = (this.cluster.current?.endpoints ?? [])
      .filter((e) => e.networkId === id && e.nodeId !== self?.nodeId && hosts.has(e.nodeId) && e.mac)
      .map((e) => ({ mac: e.mac, host: hosts.get(e.nodeId)! }));
    return { id, vni, local: self?.advertiseAddr ?? '', peers: nodes.filter((n) => n.id !== self?.nodeId).map((n) => n.addr), remote };
  }

  /** A new cluster state: overlay network records, bridges, VXLAN entries and names follow. */
  private async follow(s: ClusterState | null): Promise<void> {
    const { current, removed } = this.networks.syncOverlay(s?.networks ?? []);
    for (const n of current) {
      await this.drivers.of(n).createNetwork(n).catch((e) => log.warn(`overlay ${n.Name}: ${(e as Error).message}`));
    }
    // (networks removed while berthd was down: the start's sweep of berth's links takes theirs)
    for (const n of removed) await this.drivers.of(n).deleteNetwork(n).catch((e) => log.warn(`overlay ${n.Name}: ${(e as Error).message}`));
    await this.changed();
  }

  /** Containers on other hosts of the cluster, by their overlay endpoints (for the resolver). */
  remoteNames(): DnsContainer[] {
    const s = this.cluster.current;
    if (!s) return [];
    const byContainer = new Map<string, DnsContainer>();
    for (const e of s.endpoints) {
      if (e.nodeId === this.cluster.nodeId) continue;
      const net = s.networks.find((n) => n.id === e.networkId);
      if (!net) continue;
      let c = byContainer.get(e.containerId);
      if (!c) { c = { id: e.containerId, name: e.name, hostname: e.hostname, endpoints: [], upstreams: [] }; byContainer.set(e.containerId, c); }
      c.endpoints.push({ networkId: net.id, networkName: net.name, ip: e.ip, ...(e.ip6 ? { ip6: e.ip6 } : {}), aliases: e.aliases });
    }
    return [...byContainer.values()];
  }

  /** /info's Swarm section, as the docker CLI reads it. */
  info(): any {
    const cfg = this.cluster.config;
    const s = this.cluster.current;
    if (!cfg) {
      return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
    }
    const managers = (s?.nodes ?? []).filter((n) => n.role === 'manager');
    return {
      NodeID: cfg.nodeId, NodeAddr: cfg.advertiseAddr, LocalNodeState: 'active', ControlAvailable: cfg.role !== 'worker', Error: '',
      RemoteManagers: managers.length ? managers.map((m) => ({ NodeID: m.id, Addr: `${m.addr}:2377` })) : [{ NodeID: '', Addr: cfg.managerAddr }],
      Nodes: s?.nodes.length ?? 0, Managers: managers.length,
      ...(cfg.role !== 'worker' ? { Cluster: this.json() } : {}),
    };
  }

  /** GET /swarm (managers only, as in Docker). */
  json(): any {
    const cfg = this.cluster.config;
    if (!cfg || cfg.role === 'worker') throw new ApiError(503, NOT_IN_SWARM);
    return {
      ID: cfg.clusterId || this.cluster.current?.clusterId || '', Version: { Index: this.cluster.current?.version ?? 0 }, CreatedAt: cfg.createdAt, UpdatedAt: cfg.createdAt,
      Spec: { Name: 'default', Labels: {} }, JoinTokens: { Worker: cfg.token, Manager: cfg.managerToken },
      DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24, DataPathPort: VXLAN_PORT,
    };
  }

  /** GET /nodes (managers only): the cluster's hosts, in Docker's shape. */
  nodes(): any[] {
    const cfg = this.cluster.config;
    const s = this.cluster.current;
    if (!cfg || cfg.role === 'worker' || !s) throw new ApiError(503, NOT_IN_SWARM);
    return s.nodes.map((n) => ({
      ID: n.id, Version: { Index: s.version }, CreatedAt: cfg.createdAt, UpdatedAt: cfg.createdAt,
      Spec: { Labels: {}, Role: n.role ?? 'worker', Availability: 'active' },
      Description: { Hostname: n.hostname, Platform: { Architecture: os.arch() === 'x64' ? 'x86_64' : os.arch(), OS: 'linux' }, Engine: { EngineVersion: this.version } },
      Status: { State: this.cluster.nodeReady(n.id) ? 'ready' : 'down', Addr: n.addr },
      ...(n.role === 'manager' ? {
        ManagerStatus: { Leader: n.id === s.managerNodeId, Reachability: this.cluster.nodeReady(n.id) ? 'reachable' : 'unreachable', Addr: `${n.addr}:2377` },
      } : {}),
    }));
  }

  node(ref: string): any {
    const n = this.nodes().find((x) => x.ID === ref || x.Description.Hostname === ref || (ref.length >= 1 && x.ID.startsWith(ref)));
    if (!n) throw notFound(`node ${ref} not found`);
    return n;
  }

  /** The hosts of an overlay network, as `network inspect` shows them (Peers). */
  peers(): Array<{ Name: string; IP: string }> {
    return (this.cluster.current?.nodes ?? []).map((p) => ({ Name: p.hostname, IP: p.addr }));
  }

  // ---- the API's swarm requests

  async swarmInit(body: any): Promise<string> { return this.cluster.init(body ?? {}); }
  async swarmJoin(body: any): Promise<void> { await this.cluster.join(body ?? {}); }

  async swarmLeave(force: boolean): Promise<void> {
    if (this.attached() && !force) throw new ApiError(503, 'containers of this node are attached to overlay networks: stop them first, or use --force');
    await this.cluster.leave(force);
  }

  swarmJson(): any { return this.json(); }
  swarmNodes(): any[] { return this.nodes(); }
  swarmNode(ref: string): any { return this.node(ref); }
  async swarmNodeRemove(ref: string, force: boolean): Promise<void> { await this.cluster.removeNode(this.node(ref).ID, force); }
}

// Docker-shaped JSON for inspect and list answers, built from berth's records. Pure: no I/O,
// so the exact shapes are unit-tested without a daemon.
import type { ContainerRecord, NetworkRecord } from './types';
import { traitsOf } from './drivers/registry';
import { ipamConfigJson } from './ipamview';
import { configuredNetworks } from './netmode';
import { ZERO_TIME, unixSeconds } from './time';
import { shortId } from '../util/ids';
import { humanDuration } from '../util/duration';

interface ContainerPaths { root: string; logPath: string }

/** NetworkSettings.Ports: every exposed port, with its host bindings while running. */
export function portsMap(c: ContainerRecord): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  if (c.State.Running && c.noPortMap) return out;
  for (const key of Object.keys(c.Config.ExposedPorts ?? {})) out[key] = null;
  if (!c.State.Running) return out;
  for (const m of c.ports ?? []) {
    for (let i = 0; i < m.count; i++) {
      const key = `${m.containerPort + i}/${m.proto}`;
      (out[key] ??= []).push({ HostIp: m.hostIp || '0.0.0.0', HostPort: String(m.hostPort + i) });
    }
  }
  return out;
}

function endpointJson(ep: ContainerRecord['endpoints'][string] | undefined, cfg: any, running: boolean, aliasesExtra: string[]) {
  const live = running && ep;
  const aliases = [...(cfg?.Aliases ?? []), ...(live ? aliasesExtra : [])];
  return {
    IPAMConfig: cfg?.IPAMConfig && Object.keys(cfg.IPAMConfig).length ? cfg.IPAMConfig : null,
    Links: cfg?.Links ?? null,
    Aliases: aliases.length ? [...new Set(aliases)] : null,
    NetworkID: live ? ep!.NetworkID : (cfg?.NetworkID ?? ''),
    EndpointID: live ? ep!.EndpointID : '',
    Gateway: live ? ep!.Gateway : '',
    IPAddress: live ? ep!.IPAddress : '',
    IPPrefixLen: live ? ep!.IPPrefixLen : 0,
    IPv6Gateway: live ? ep!.IPv6Gateway ?? '' : '',
    GlobalIPv6Address: live ? ep!.GlobalIPv6Address ?? '' : '',
    GlobalIPv6PrefixLen: live ? ep!.GlobalIPv6PrefixLen ?? 0 : 0,
    MacAddress: live ? ep!.MacAddress : '',
    DriverOpts: cfg?.DriverOpts ?? null,
    DNSNames: null as string[] | null,
  };
}

/** The networks a container is attached to (running) or configured for (stopped). */
function networksJson(c: ContainerRecord, isDefaultBridge: (name: string) => boolean): Record<string, any> {
  const out: Record<string, any> = {};
  const cfgs = c.NetworkingConfig?.EndpointsConfig ?? {};
  const mode = c.HostConfig.NetworkMode || 'default';
  const names = new Set<string>();
  if (mode === 'host' || mode === 'none') names.add(mode);
  for (const n of configuredNetworks(c)) names.add(n);
  for (const [n, ep] of Object.entries(c.endpoints ?? {})) if (!ep.hidden) names.add(n);
  for (const name of names) {
    // Docker adds the short id as an alias on user-defined networks (not on the default bridge).
    const extra = isDefaultBridge(name) || name === 'host' || name === 'none' ? [] : [shortId(c.Id)];
    const ep = endpointJson(c.endpoints?.[name], cfgs[name], c.State.Running, extra);
    // API 1.44+: the names the embedded resolver answers for it there (user-defined networks).
    if (extra.length && c.State.Running && c.endpoints?.[name]) {
      ep.DNSNames = [...new Set([c.Name, ...(cfgs[name]?.Aliases ?? []), shortId(c.Id), c.Config.Hostname].filter(Boolean))];
    }
    out[name] = ep;
  }
  return out;
}

export function containerJson(c: ContainerRecord, paths: ContainerPaths, imageId: string,
                              isDefaultBridge: (name: string) => boolean): any {
  const cmd: string[] = [...(c.Config.Entrypoint ?? []), ...(c.Config.Cmd ?? [])];
  const networks = networksJson(c, isDefaultBridge);
  const bridgeEp = c.State.Running ? Object.entries(c.endpoints ?? {}).find(([n]) => isDefaultBridge(n))?.[1] : undefined;
  return {
    Id: c.Id,
    Created: c.Created,
    Path: cmd[0] ?? '',
    Args: cmd.slice(1),
    State: { ...c.State },
    Image: imageId,
    ResolvConfPath: `${paths.root}/resolv.conf`,
    HostnamePath: `${paths.root}/hostname`,
    HostsPath: `${paths.root}/hosts`,
    LogPath: paths.logPath,
    Name: `/${c.Name}`,
    RestartCount: c.RestartCount,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: c.HostConfig,
    GraphDriver: { Data: null, Name: 'overlay' },
    Mounts: [],
    Config: c.Config,
    NetworkSettings: {
      Bridge: '',
      SandboxID: c.netnsPath ? shortId(c.Id) : '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: portsMap(c),
      SandboxKey: c.netnsPath ?? '',
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: bridgeEp?.EndpointID ?? '',
      Gateway: bridgeEp?.Gateway ?? '',
      GlobalIPv6Address: bridgeEp?.GlobalIPv6Address ?? '',
      GlobalIPv6PrefixLen: bridgeEp?.GlobalIPv6PrefixLen ?? 0,
      IPAddress: bridgeEp?.IPAddress ?? '',
      IPPrefixLen: bridgeEp?.IPPrefixLen ?? 0,
      IPv6Gateway: bridgeEp?.IPv6Gateway ?? '',
      MacAddress: bridgeEp?.MacAddress ?? '',
      Networks: networks,
    },
  };
}

/** The Ports list of GET /containers/json (what `ps` shows in PORTS). */
export function portsList(c: ContainerRecord): Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> {
  const out: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> = [];
  const published = new Set<string>();
  if (c.State.Running && c.noPortMap) return out;
  if (c.State.Running) {
    for (const m of c.ports ?? []) {
      for (let i = 0; i < m.count; i++) {
        out.push({ IP: m.hostIp || '0.0.0.0', PrivatePort: m.containerPort + i, PublicPort: m.hostPort + i, Type: m.proto });
        published.add(`${m.containerPort + i}/${m.proto}`);
      }
    }
  }
  // Like Docker, a container that is not running lists no ports at all.
  for (const key of c.State.Running ? Object.keys(c.Config.ExposedPorts ?? {}) : []) {
    if (published.has(key)) continue;
    const [port, proto] = key.split('/');
    out.push({ PrivatePort: Number(port), Type: proto || 'tcp' });
  }
  return out;
}

export function statusText(c: ContainerRecord, now = Date.now()): string {
  const s = c.State;
  if (s.Running) return `Up ${humanDuration(now - Date.parse(s.StartedAt))}`;
  if (s.Status === 'created') return 'Created';
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.FinishedAt === ZERO_TIME) return 'Created';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

export function containerListEntry(c: ContainerRecord, imageId: string, isDefaultBridge: (name: string) => boolean): any {
  const cmd: string[] = [...(c.Config.Entrypoint ?? []), ...(c.Config.Cmd ?? [])];
  const networks = networksJson(c, isDefaultBridge);
  for (const n of Object.values(networks)) n.Aliases = null;
  return {
    Id: c.Id,
    Names: [`/${c.Name}`],
    Image: c.Image,
    ImageID: imageId,
    Command: cmd.join(' '),
    Created: unixSeconds(c.Created),
    Ports: portsList(c),
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: statusText(c),
    HostConfig: { NetworkMode: c.HostConfig.NetworkMode || 'default' },
    NetworkSettings: { Networks: networks },
    Mounts: [],
  };
}

export function networkJson(n: NetworkRecord, containers: ContainerRecord[]): any {
  const members: Record<string, any> = {};
  for (const c of containers) {
    const ep = c.State.Running ? c.endpoints?.[n.Name] : undefined;
    if (!ep || ep.NetworkID !== n.Id) continue;
    members[c.Id] = {
      Name: c.Name,
      EndpointID: ep.EndpointID,
      MacAddress: ep.MacAddress,
      IPv4Address: `${ep.IPAddress}/${ep.IPPrefixLen}`,
      IPv6Address: ep.GlobalIPv6Address ? `${ep.GlobalIPv6Address}/${ep.GlobalIPv6PrefixLen}` : '',
    };
  }
  // host-mode containers show up on the "host" network, as in Docker.
  if (traitsOf(n).namespace === 'host') {
    for (const c of containers) {
      if (c.State.Running && c.HostConfig.NetworkMode === 'host') {
        members[c.Id] = { Name: c.Name, EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' };
      }
    }
  }
  return {
    Name: n.Name,
    Id: n.Id,
    Created: n.Created,
    Scope: n.Scope,
    Driver: n.Driver,
    EnableIPv6: n.EnableIPv6,
    IPAM: { ...n.IPAM, Config: ipamConfigJson(n.IPAM.Config) },
    Internal: n.Internal,
    Attachable: n.Attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: members,
    Options: n.Options,
    Labels: n.Labels,
  };
}


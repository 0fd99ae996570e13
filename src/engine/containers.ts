// Containers as records: create (the checks of its config, networking and links, Docker's
// way), rename, the legacy links' removal, list, inspect, top, attach, logs, resize, prune.
// Their lives (start, stop, kill, restart, rm, wait) are lifecycle.ts's; this service hands
// those requests over.
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { AttachOptions, Attachment, ContainersApi, LogOptions } from './api';
import type { ContainerRecord } from './types';
import type { ContainerRecords } from './records';
import type { Lifecycle } from './lifecycle';
import type { Networks } from './networks';
import { parseNetworkMode, type NetMode } from './netmode';
import { endpointLinks, parseLink, recordedLink } from './links';
import { processExtras } from './hostconfig';
import { containerJson, containerListEntry } from './inspect';
import { nowRfc3339, ZERO_TIME } from './time';
import { matchContainerFilters, validateFilters } from './filters';
import { traitsOf } from './drivers/registry';
import { mergeEnv } from './env';
import { normalizeSignal, ps, type ImageStore, type Runtime } from '../runtime';
import { commandLine } from '../runtime/spec';
import { badRequest, conflict, noSuchContainer, noSuchImage, EMPTY_CREATE_CONFIG, HOSTNAME_NETWORK_CONFLICT } from '../util/errors';
import { newId } from '../util/ids';
import { randomName, validateContainerName } from '../util/names';

export class ContainerService implements ContainersApi {
  constructor(private readonly records: ContainerRecords, private readonly lifecycle: Lifecycle,
              private readonly networks: Networks, private readonly images: ImageStore, private readonly runtime: Runtime,
              private readonly dataRoot: string, private readonly refreshNames: () => Promise<void>) {}

  // (their lives: lifecycle.ts)
  startContainer(ref: string): Promise<void> { return this.lifecycle.startContainer(ref); }
  stopContainer(ref: string, timeoutSec?: number, signal?: string): Promise<void> { return this.lifecycle.stopContainer(ref, timeoutSec, signal); }
  killContainer(ref: string, signal?: string): Promise<void> { return this.lifecycle.killContainer(ref, signal); }
  restartContainer(ref: string, timeoutSec?: number, signal?: string): Promise<void> { return this.lifecycle.restartContainer(ref, timeoutSec, signal); }
  removeContainer(ref: string, opts: { force: boolean }): Promise<void> { return this.lifecycle.removeContainer(ref, opts); }
  waitContainer(ref: string, condition?: string): Promise<{ StatusCode: number; Error: null | { Message: string } }> {
    return this.lifecycle.waitContainer(ref, condition);
  }

  /** The name is decided and recorded while no other create or rename runs: one wins, the rest get 409. */
  createContainer(name: string | undefined, body: any): Promise<{ Id: string; Warnings: string[] }> {
    return this.records.naming.run(() => this.create(name, body));
  }

  private async create(name: string | undefined, body: any): Promise<{ Id: string; Warnings: string[] }> {
    if (!body || typeof body !== 'object') throw badRequest(EMPTY_CREATE_CONFIG);
    if (name !== undefined && name !== '') {
      validateContainerName(name);
      name = name.replace(/^\//, '');
      const other = this.records.findByName(name);
      if (other) {
        throw conflict(`Conflict. The container name "/${name}" is already in use by container "${other.Id}". ` +
          'You have to remove (or rename) that container to be able to reuse that name.');
      }
    } else {
      do { name = randomName(); } while (this.records.findByName(name));
    }
    const imageRef = String(body.Image ?? '');
    if (!imageRef) throw badRequest(EMPTY_CREATE_CONFIG);
    const image = this.images.resolve(imageRef);
    if (!image) throw noSuchImage(imageRef.includes(':') || imageRef.includes('@') ? imageRef : `${imageRef}:latest`);

    const hostConfig = { ...defaultHostConfig(), ...(body.HostConfig ?? {}) };
    // (the API checked it is json-file or nothing: berth serves logs as that driver does, and
    // says so, since clients such as docker-py read logs only from json-file or journald)
    hostConfig.LogConfig = { Type: 'json-file', Config: {} };
    // The OCI runtime by name, the daemon's default if none (an unknown one is Docker's 400).
    hostConfig.Runtime = this.runtime.runtimes.resolve(hostConfig.Runtime).name;
    if (!hostConfig.NetworkMode) hostConfig.NetworkMode = 'default';
    // Endpoint configs by network name; the docker CLI may key them "default" or by network id.
    const endpoints: Record<string, any> = {};
    for (const [key, cfg] of Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {})) {
      const name = key === 'default' ? 'bridge' : (this.networks.find(key)?.Name ?? key);
      endpoints[name] = cfg ?? {};
    }
    const warnings: string[] = [];
    this.validateNetworking(hostConfig, endpoints, body);
    const mode = parseNetworkMode(hostConfig.NetworkMode);
    this.placeLinks(name!, mode, hostConfig, endpoints);
    processExtras(hostConfig, mode); // mounts, capabilities, groups, sysctls: refused now if wrong
    if (mode.kind !== 'network' && Object.keys(hostConfig.PortBindings ?? {}).length) {
      warnings.push('Published ports are discarded when using host network mode');
      hostConfig.PortBindings = {};
    }

    const id = newId();
    const imgCfg = image.Config ?? {};
    const { entrypoint, cmd } = commandLine(imgCfg, {
      entrypoint: body.Entrypoint != null ? toArgv(body.Entrypoint) : null,
      cmd: body.Cmd != null ? toArgv(body.Cmd) : null,
    });
    if ((!entrypoint || entrypoint.length === 0) && (!cmd || cmd.length === 0)) throw badRequest('No command specified');

    const exposed: Record<string, {}> = { ...(imgCfg.ExposedPorts ?? {}), ...(body.ExposedPorts ?? {}) };
    for (const key of Object.keys(hostConfig.PortBindings ?? {})) exposed[key.includes('/') ? key : `${key}/tcp`] = {};
    const env = mergeEnv(imgCfg.Env ?? [], body.Env ?? []);
    const hostname = body.Hostname || (mode.kind === 'host' ? os.hostname() : id.slice(0, 12));

    const c: ContainerRecord = {
      Id: id,
      Name: name!,
      Created: nowRfc3339(),
      Image: imageRef,
      ImageID: image.Id,
      Config: {
        Hostname: hostname,
        Domainname: body.Domainname ?? '',
        User: body.User ?? imgCfg.User ?? '',
        AttachStdin: !!body.AttachStdin,
        AttachStdout: body.AttachStdout ?? true,
        AttachStderr: body.AttachStderr ?? true,
        ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
        Tty: !!body.Tty,
        OpenStdin: !!body.OpenStdin,
        StdinOnce: !!body.StdinOnce,
        Env: env,
        Cmd: cmd,
        Image: imageRef,
        Volumes: null,
        WorkingDir: body.WorkingDir || imgCfg.WorkingDir || '',
        Entrypoint: entrypoint,
        OnBuild: null,
        Labels: { ...(imgCfg.Labels ?? {}), ...(body.Labels ?? {}) },
        ...(body.MacAddress ? { MacAddress: body.MacAddress } : {}),
        // --stop-signal / --stop-timeout: what stop uses when the request names none.
        ...(body.StopSignal || imgCfg.StopSignal ? { StopSignal: normalizeSignal(body.StopSignal || imgCfg.StopSignal) } : {}),
        ...(Number.isInteger(body.StopTimeout) ? { StopTimeout: body.StopTimeout } : {}),
      },
      HostConfig: hostConfig,
      NetworkingConfig: { EndpointsConfig: endpoints },
      State: {
        Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
        Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
      },
      RestartCount: 0,
      netnsPath: null,
      endpoints: {},
      ports: [],
    };
    if (c.Config.ExposedPorts === undefined) delete c.Config.ExposedPorts;
    try {
      await this.runtime.prepare(c.Id);
      await this.records.add(c);
    } catch (e) {
      // Nothing half-made: no directory without a record (a full disk fails here).
      await this.runtime.remove(c.Id).catch(() => undefined);
      await this.records.delete(c.Id).catch(() => undefined);
      throw e;
    }
    this.records.event(c, 'create');
    return { Id: id, Warnings: warnings };
  }

  /** Refuse at create time what would fail at start (unknown network, --ip on the default bridge). */
  /**
   * Legacy links, as Docker keeps them: on the default bridge the targets must exist and the
   * links are recorded "/target:/name/alias"; on a user-defined network they become the
   * endpoint's Links ("target:alias", names only this container resolves; the target may come later).
   */
  private placeLinks(name: string, mode: NetMode, hostConfig: any, endpoints: Record<string, any>): void {
    const given = hostConfig.Links ?? [];
    if (!Array.isArray(given)) throw badRequest('HostConfig.Links: must be a list of "name:alias"');
    for (const [netName, cfg] of Object.entries(endpoints)) {
      if (!cfg) continue;
      const links = endpointLinks(cfg.Links, `EndpointsConfig.${netName}`, !!this.networks.find(netName)?.isDefault);
      if (links) cfg.Links = links; else delete cfg.Links;
    }
    const links = given.map(parseLink);
    if (!links.length) { hostConfig.Links = null; return; }
    if (mode.kind === 'host') throw badRequest("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
    if (mode.kind === 'container') throw badRequest("conflicting options: container type network can't be used with links. This would result in undefined behavior");
    const net = mode.kind === 'network' ? this.networks.find(mode.name) : undefined;
    if (net && !net.isDefault) {
      const cfg = (endpoints[net.Name] ??= {});
      const mine: string[] = cfg.Links ?? [];
      for (const l of links) if (!mine.includes(`${l.target}:${l.alias}`)) mine.push(`${l.target}:${l.alias}`);
      cfg.Links = mine;
      hostConfig.Links = null;
      return;
    }
    hostConfig.Links = links.map((l) => {
      const target = this.records.find(l.target);
      if (!target) throw badRequest(`could not get container for ${l.target}: No such container: ${l.target}`);
      return recordedLink(target.Name, name, l.alias);
    });
  }

  /** `rm --link LINKER/ALIAS`: forget one legacy link of a container (Docker's messages). */
  async removeLink(path: string): Promise<void> {
    const name = path.replace(/^\//, '');
    const slash = name.lastIndexOf('/');
    if (slash < 0) throw conflict('Conflict, cannot remove the default link name of the container');
    const [linker, alias] = [name.slice(0, slash), name.slice(slash + 1)];
    const c = this.records.find(linker);
    if (!c) throw noSuchContainer(path);
    await this.records.withLock(c.Id, async () => {
      const links: string[] = c.HostConfig.Links ?? [];
      const keep = links.filter((spec) => parseLink(spec).alias !== alias);
      if (keep.length === links.length) throw noSuchContainer(path);
      const next = structuredClone(c);
      next.HostConfig.Links = keep.length ? keep : null;
      await this.records.save(next);
      c.HostConfig.Links = next.HostConfig.Links;
    });
  }

  private validateNetworking(hostConfig: any, endpoints: Record<string, any>, body: any): void {
    const mode = parseNetworkMode(hostConfig.NetworkMode);
    if (mode.kind === 'container') {
      this.records.get(mode.ref);
      if (Object.keys(hostConfig.PortBindings ?? {}).length || hostConfig.PublishAllPorts) {
        throw badRequest('conflicting options: port publishing and the container type network mode');
      }
      if (body.Hostname) throw badRequest(HOSTNAME_NETWORK_CONFLICT);
    }
    if (mode.kind === 'host' && body.Hostname) {
      // Docker allows -h with host networking since 20.10 only as a no-op warning; accept it.
    }
    for (const [name, cfg] of Object.entries(endpoints)) {
      const net = this.networks.get(name);
      if (mode.kind !== 'network' && traitsOf(net).namespace === 'own') {
        throw badRequest('conflicting options: network mode and endpoint configuration');
      }
      const ip = cfg?.IPAMConfig?.IPv4Address;
      if (ip) {
        this.networks.checkRequestedIp(net, ip);
      }
      if (cfg?.IPAMConfig?.IPv6Address) this.networks.checkRequestedIp6(net, cfg.IPAMConfig.IPv6Address);
      if (cfg?.Aliases?.length && net.isDefault) {
        throw badRequest('network-scoped alias is supported only for containers in user defined networks');
      }
    }
    if (mode.kind === 'network') this.networks.get(mode.name);
  }

  async renameContainer(ref: string, newName: string): Promise<void> {
    const c = this.records.get(ref);
    validateContainerName(newName);
    await this.records.withLock(c.Id, () => this.records.naming.run(() => this.rename(c, newName)));
  }

  private async rename(c: ContainerRecord, newName: string): Promise<void> {
    const name = newName.replace(/^\//, '');
    if (name === c.Name) throw badRequest('Renaming a container with the same name as its current name');
    const other = this.records.findByName(name);
    if (other) {
      throw conflict(`Conflict. The container name "/${name}" is already in use by container "${other.Id}". ` +
        'You have to remove (or rename) that container to be able to reuse that name.');
    }
    const oldName = c.Name;
    c.Name = name;
    try {
      await this.records.save(c);
    } catch (e) {
      c.Name = oldName;
      throw e;
    }
    this.records.event(c, 'rename', { oldName: `/${oldName}` });
    await this.refreshNames();
  }

  async listContainers(opts: { all: boolean; filters: Record<string, string[]>; limit?: number }): Promise<any[]> {
    validateFilters(opts.filters, ['name', 'id', 'status', 'label', 'network', 'exited', 'ancestor', 'expose', 'publish', 'before', 'since', 'health', 'isolation', 'is-task', 'volume']);
    let list = [...this.records.values()]
      .filter((c) => opts.all || c.State.Running || (opts.filters.status?.length ?? 0) > 0)
      .filter((c) => matchContainerFilters(c, opts.filters, (r) => this.networks.find(r)))
      .sort((a, b) => b.Created.localeCompare(a.Created));
    if (opts.limit && opts.limit > 0) list = list.slice(0, opts.limit);
    return list.map((c) => containerListEntry(c, c.ImageID, this.records.isDefaultBridge));
  }

  async inspectContainer(ref: string): Promise<any> {
    const c = this.records.get(ref);
    const root = path.join(this.dataRoot, 'containers', c.Id);
    return containerJson(c, { root, logPath: this.runtime.logPath(c.Id) }, c.ImageID, this.records.isDefaultBridge);
  }

  /** `docker top`: the container's processes as `ps` (with Docker's default -ef) shows them. */
  async topContainer(ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const c = this.records.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    const pids = new Set(await this.runtime.pids(c.Id));
    const args = (psArgs || '-ef').split(/\s+/).filter(Boolean);
    const r = await ps(args);
    // ps_args are the client's: ps refusing them, or output without a PID column, is a 400.
    if (r.code !== 0) throw badRequest(`ps: ${r.stderr.trim() || `exit status ${r.code}`}`);
    const lines = r.stdout.split('\n').filter((l) => l.trim());
    const titles = (lines[0] ?? '').trim().split(/\s+/);
    const pidCol = titles.indexOf('PID');
    if (pidCol < 0) throw badRequest("Couldn't find PID field in ps output");
    const rows = lines.slice(1).map((l) => {
      const f = l.trim().split(/\s+/);
      return [...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')];
    }).filter((f) => pids.has(Number(f[pidCol])));
    return { Titles: titles, Processes: rows };
  }

  async attachContainer(ref: string, opts: AttachOptions): Promise<Attachment> {
    const c = this.records.get(ref);
    const a = this.runtime.attach(c.Id, {
      stdin: opts.stdin && c.Config.OpenStdin,
      logs: opts.logs,
      stream: opts.stream,
    });
    return { tty: c.Config.Tty, output: a.output, input: a.input };
  }

  async containerLogs(ref: string, opts: LogOptions): Promise<{ tty: boolean; output: Readable }> {
    const c = this.records.get(ref);
    return { tty: c.Config.Tty, output: this.runtime.logs(c.Id, { follow: opts.follow && c.State.Running, tail: opts.tail, timestamps: opts.timestamps }) };
  }

  async resizeContainer(ref: string, h: number, w: number): Promise<void> {
    const c = this.records.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    await this.runtime.resize(c.Id, h, w);
  }

  async pruneContainers(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    for (const c of [...this.records.values()]) {
      if (c.State.Running || !matchContainerFilters(c, filters, (r) => this.networks.find(r))) continue;
      await this.lifecycle.remove(c, false);
      deleted.push(c.Id);
    }
    return { ContainersDeleted: deleted, SpaceReclaimed: 0 };
  }
}

function toArgv(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return [v];
  return [];
}

function defaultHostConfig(): any {
  return {
    Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'default',
    PortBindings: {}, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false,
    VolumeDriver: '', VolumesFrom: null, CapAdd: null, CapDrop: null, CgroupnsMode: 'private',
    Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null, IpcMode: 'private',
    Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false,
    ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: '',
  };
}

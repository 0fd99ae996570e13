// The daemon's brain: containers and networks, their records, and the order in which a change
// happens. Kernel work is delegated to the sandbox (networking) and the runtime (processes).
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { AttachOptions, Attachment, EngineApi, ExecHandle, LogOptions } from './api';
import type { ContainerRecord, NetworkRecord } from './types';
import { normalizeRef } from '../runtime/refs';
import { ApiError, badRequest, conflict, notFound, notModified, noSuchContainer, noSuchImage, forbidden, noSuchNetwork, activeEndpoints } from '../util/errors';
import { Networks, NetworkDefaults } from './networks';
import { Sandboxes } from './sandbox';
import { configuredNetworks, parseNetworkMode, type NetMode } from './netmode';
import { endpointLinks, linkEnv, parseLink, recordedLink } from './links';
import { processExtras } from './hostconfig';
import { SpoofGuard } from './firewall/antispoof';
import { apparmorEnabled } from '../kernel/lsm';
import { restartDelay, shouldRestart } from './restart';
import { containerJson, containerListEntry, networkJson, portsMap } from './inspect';
import { nowRfc3339, ZERO_TIME } from './time';
import { hostsFile, resolvConf, hostnameFile } from './etcfiles';
import { matchContainerFilters, matchNetworkFilters, validateFilters } from './filters';
import { BridgeDriver } from './drivers/bridge';
import { driverNames, driverTraits, traitsOf } from './drivers/registry';
import { Swarm, NOT_IN_SWARM } from './swarm';
import { PortPublisher } from './portmap/publisher';
import { Firewall } from './firewall/firewall';
import { DnsService } from './dns';
import { deleteNetns, ensureNetnsDir, listNetnsFiles } from '../kernel/netns';
import { hostHosts, hostResolvConf, osRelease } from '../kernel/hostfiles';
import { ipBatch, listLinksIn } from '../kernel/ip';
import { EventBus } from './events';
import { Store } from '../store/store';
import { Journal } from '../store/journal';
import { KeyedLock, Mutex } from '../util/lock';
import { ImageStore, Runtime, normalizeSignal, ps, readContainerFile, type ImageRecord } from '../runtime';
import { newId, shortId } from '../util/ids';
import { randomName, validateContainerName } from '../util/names';
import { log } from '../util/log';

export interface EngineOptions extends NetworkDefaults {
  dataRoot: string;
  execRoot: string;
  debug: boolean;
  insecureRegistries?: string[];
  /** berthd --ports-from: the sources outside the bridges that may reach published ports (empty: any). */
  portsFrom?: string[];
  /** berthd --default-runtime / --add-runtime. */
  runtimes?: { default?: string; add?: Record<string, string> };
}

const KIND = 'containers';
export const API_VERSION = '1.45';
export const MIN_API_VERSION = '1.24';
export const BERTH_VERSION = '0.1.0';

interface ExecRecord {
  ID: string; ContainerID: string; Config: any; Running: boolean; ExitCode: number | null; Pid: number;
}

export class Engine implements EngineApi {
  private readonly store: Store;
  private readonly containers = new Map<string, ContainerRecord>();
  readonly images: ImageStore;
  readonly runtime: Runtime;
  private readonly firewall = new Firewall();
  private readonly spoofGuard = new SpoofGuard();
  private readonly bridge = new BridgeDriver(this.firewall);
  private readonly publisher = new PortPublisher(this.firewall);
  readonly networks: Networks;
  private readonly sandboxes: Sandboxes;
  private readonly dns: DnsService;
  private readonly swarm: Swarm;
  readonly events = new EventBus();
  /** Running execs, for resizing their terminal. */
  private readonly execProcs = new Map<string, { resize(h: number, w: number): Promise<void> }>();
  private readonly execs = new Map<string, ExecRecord>();
  /** Resolvers of wait() calls, by container id. */
  private readonly waiters = new Map<string, Array<{ cond: string; resolve: (code: number) => void }>>();
  /** A container's exit handling in progress (so stop returns after the teardown finished). */
  private readonly exiting = new Map<string, Promise<void>>();
  /** Serializes changes per container: start/stop/connect/rm of one container never interleave. */
  private readonly locks = new KeyedLock();
  /** Container names are decided one at a time (create, rename): never two with one name. */
  private readonly naming = new Mutex();
  /** Restart policies: pending restarts, and the last back-off of each container. */
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly restartDelays = new Map<string, number>();
  /** Containers being stopped by a `restart` request right now. */
  private readonly userRestarts = new Set<string>();
  /** init() is done: restarts may be armed. */
  private serving = false;
  /** Write-ahead intents of multi-step changes, finished or undone at the next start. */
  private readonly journal: Journal;

  constructor(private readonly opts: EngineOptions) {
    this.firewall.options = { portsFrom: opts.portsFrom ?? [] };
    this.store = new Store(path.join(opts.dataRoot, 'state'));
    this.journal = new Journal(this.store);
    this.images = new ImageStore(opts.dataRoot);
    this.runtime = new Runtime({ execRoot: opts.execRoot, dataRoot: opts.dataRoot, runtimes: opts.runtimes });
    this.networks = new Networks(this.store, this.bridge, opts);
    this.sandboxes = new Sandboxes(this.networks, this.bridge, this.publisher, opts.execRoot);
    this.dns = new DnsService(this.networks, (m) => log.warn(`${m}`), { execRoot: opts.execRoot, debug: opts.debug });
    this.swarm = new Swarm(opts.dataRoot, this.networks, BERTH_VERSION, () => this.dnsSync());
    this.sandboxes.overlay = this.swarm.hooks();
    this.sandboxes.guard = this.spoofGuard;
  }

  /** Bring up the daemon: restore networks, adopt running containers, sweep leftovers. */
  async init(): Promise<void> {
    await ensureNetnsDir(path.join(this.opts.execRoot, 'netns'));
    await this.store.init();
    await this.images.init();
    await this.bridge.init();
    await this.publisher.init();
    await this.spoofGuard.init();
    await this.networks.restore();
    await this.swarm.cluster.load();
    for (const c of await this.store.loadAll<ContainerRecord>(KIND)) this.containers.set(c.Id, c);
    const intents = await this.journal.pending();
    await this.undoStarts(intents.filter((i) => i.op === 'start').map((i) => i.container));
    for (const c of this.containers.values()) await this.adopt(c);
    // Until now berth's nft table stayed as the last daemon left it, serving the containers
    // that kept running; one transaction now makes it what the records say.
    await this.firewall.sync();
    await this.spoofGuard.sync();
    await this.sweepRuntime();
    const bridges = this.networks.list().filter((n) => n.bridgeName).map((n) => n.bridgeName!)
      .concat(this.swarm.devices());
    const veths = [...this.containers.values()].flatMap((c) => Object.values(c.endpoints ?? {}).map((e) => e.hostIfname));
    const parents = this.networks.list().filter((n) => n.createdParent && n.parent).map((n) => n.parent!);
    await this.bridge.cleanupStale({ bridges, hostIfnames: veths, parents });
    await this.sweepNetns();
    for (const i of intents) await this.journal.end(i);
    await this.dnsSync();
    this.serving = true;
    for (const c of this.containers.values()) if (c.State.Restarting) this.armRestart(c, this.restartDelays.get(c.Id) ?? 100);
  }

  /**
   * Starts that a killed daemon left unfinished: a start is finished only once its record says
   * running, so any whose record does not is undone (its process, if runc got that far, goes;
   * its veths, netns and ports are named by no record and go with the sweeps below).
   */
  private async undoStarts(ids: string[]): Promise<void> {
    for (const id of ids) {
      const c = this.containers.get(id);
      if (c?.State.Running) continue;
      await this.runtime.discard(id);
      if (c) {
        c.netnsPath = null; c.endpoints = {}; c.ports = []; c.dns = undefined;
        if (c.HostConfig.AutoRemove) await this.remove(c, true).catch(() => undefined);
      }
    }
  }

  /**
   * Runtime objects no record accounts for: runc containers and bundles of containers not
   * recorded running (a start cut short before its record), directories of containers with
   * no record (a create or rm cut short).
   */
  private async sweepRuntime(): Promise<void> {
    const shims = await this.runtime.shims();
    const ids = new Set([...await this.runtime.known(), ...shims.keys()]);
    for (const id of ids) {
      if (!this.containers.get(id)?.State.Running) await this.runtime.discard(id, shims);
    }
    for (const id of await this.runtime.stored()) {
      if (!this.containers.has(id)) await this.runtime.remove(id);
    }
  }

  private containerEvent(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.events.emit('container', action, c.Id, { ...(c.Config.Labels ?? {}), image: c.Image, name: c.Name, ...extra });
  }

  private networkEvent(networkId: string, action: string, containerId?: string): void {
    const n = this.networks.find(networkId);
    if (!n) return;
    this.events.emit('network', action, n.Id, { name: n.Name, type: n.Driver, ...(containerId ? { container: containerId } : {}) });
  }

  /** The embedded resolver answers from the containers as they are now. */
  private dnsSync(): Promise<void> { return this.dns.sync(this.containers.values(), this.swarm.remoteNames()); }

  private async adopt(c: ContainerRecord): Promise<void> {
    if (!c.State.Running) return;
    const st = await this.runtime.adopt(c.Id);
    if (st.running) {
      try {
        await this.sandboxes.adopt(c);
        await this.pruneInterfaces(c);
      } catch (e) {
        log.warn(`re-attaching ${c.Name}: ${(e as Error).message}`);
      }
      await this.dns.ensure(c).catch((e) => log.warn(`embedded DNS of ${c.Name}: ${(e as Error).message}`));
      this.runtime.onExit(c.Id, (code) => this.onExit(c.Id, code));
    } else {
      await this.onExit(c.Id, st.exitCode ?? 255);
    }
  }

  /**
   * Interfaces berth made in a running container's namespace that no endpoint records: a
   * connect cut short before its record, or a disconnect after it (a macvlan/ipvlan interface
   * lives only in there, so no sweep of the host's links finds it).
   */
  private async pruneInterfaces(c: ContainerRecord): Promise<void> {
    const mode = parseNetworkMode(c.HostConfig.NetworkMode);
    if (!c.netnsPath || mode.kind === 'host' || mode.kind === 'container') return;
    const recorded = new Set(Object.values(c.endpoints ?? {}).map((e) => e.ifname));
    const extra = (await listLinksIn(c.netnsPath)).filter((l) => /^eth\d+$/.test(l.ifname) && !recorded.has(l.ifname) &&
      ['veth', 'macvlan', 'ipvlan'].includes(l.kind ?? ''));
    if (extra.length) await ipBatch(extra.map((l) => `link del dev ${l.ifname}`), c.netnsPath);
  }

  /** Namespace files of containers that no longer exist (deleted while berthd was down). */
  private async sweepNetns(): Promise<void> {
    const dir = path.join(this.opts.execRoot, 'netns');
    const keep = new Set([...this.containers.values()].map((c) => c.netnsPath).filter(Boolean));
    for (const p of await listNetnsFiles(dir)) {
      if (!keep.has(p)) await deleteNetns(p).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- lookups

  private findContainer(ref: string): ContainerRecord | undefined {
    if (!ref) return undefined;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byId = this.containers.get(ref);
    if (byId) return byId;
    for (const c of this.containers.values()) if (c.Name === name) return c;
    const matches = [...this.containers.values()].filter((c) => c.Id.startsWith(ref));
    if (matches.length > 1) throw badRequest(`multiple IDs found with provided prefix: ${ref}`);
    return matches[0];
  }

  private container(ref: string): ContainerRecord {
    const c = this.findContainer(ref);
    if (!c) throw noSuchContainer(ref);
    return c;
  }

  private save(c: ContainerRecord): Promise<void> { return this.store.put(KIND, c.Id, c, { what: `container ${c.Name}` }); }

  /**
   * Runs `fn` holding the container's lock. A request that waited for the lock behind a
   * removal finds the container gone: No such container, never a record brought back.
   */
  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, () => {
      if (!this.containers.has(id)) return Promise.reject(noSuchContainer(id));
      return fn();
    });
  }

  private isDefaultBridge = (name: string): boolean => !!this.networks.findByName(name)?.isDefault;

  private imageOf(c: ContainerRecord): ImageRecord | undefined {
    return this.images.resolve(c.ImageID) ?? this.images.resolve(c.Image);
  }

  private containerRoot(id: string): string { return path.join(this.opts.dataRoot, 'containers', id); }

  // ---------------------------------------------------------------- system

  version(): any {
    return {
      Platform: { Name: 'berth' },
      Components: [{ Name: 'Engine', Version: BERTH_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION } }],
      Version: BERTH_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berth',
      GoVersion: `node ${process.version}`,
      Os: 'linux',
      Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      KernelVersion: os.release(),
      BuildTime: '',
    };
  }

  async info(): Promise<any> {
    const all = [...this.containers.values()];
    const running = all.filter((c) => c.State.Running).length;
    return {
      ID: 'berth',
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: all.length - running,
      Images: this.images.list().length,
      Driver: 'overlay',
      DriverStatus: [],
      Plugins: { Volume: [], Network: driverNames(), Authorization: null, Log: ['json-file'] },
      MemoryLimit: false,
      SwapLimit: false,
      IPv4Forwarding: true,
      Debug: this.opts.debug,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: nowRfc3339(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: '2',
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: await osName(),
      OSType: 'linux',
      Architecture: os.arch() === 'x64' ? 'x86_64' : os.arch(),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      DockerRootDir: this.opts.dataRoot,
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: BERTH_VERSION,
      Runtimes: this.runtime.runtimes.list(),
      DefaultRuntime: this.runtime.runtimes.defaultName,
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: '',
      // As dockerd reports them: every container gets berth's seccomp profile unless it opts out.
      SecurityOptions: [...(apparmorEnabled() ? ['name=apparmor'] : []), 'name=seccomp,profile=builtin'],
      Warnings: [],
      DefaultAddressPools: [],
      Swarm: this.swarm.info(),
    };
  }

  // ---------------------------------------------------------------- swarm (engine/swarm.ts)

  async swarmInit(body: any): Promise<string> { return this.swarm.cluster.init(body ?? {}); }
  async swarmJoin(body: any): Promise<void> { await this.swarm.cluster.join(body ?? {}); }

  async swarmLeave(force: boolean): Promise<void> {
    const onOverlay = [...this.containers.values()].some((c) => c.State.Running &&
      Object.values(c.endpoints ?? {}).some((e) => { const n = this.networks.find(e.NetworkID); return !!n && traitsOf(n).scope === 'swarm'; }));
    if (onOverlay && !force) throw new ApiError(503, 'containers of this node are attached to overlay networks: stop them first, or use --force');
    await this.swarm.cluster.leave(force);
  }

  swarmJson(): any { return this.swarm.json(); }
  swarmNodes(): any[] { return this.swarm.nodes(); }
  swarmNode(ref: string): any { return this.swarm.node(ref); }
  async swarmNodeRemove(ref: string, force: boolean): Promise<void> { await this.swarm.cluster.removeNode(this.swarm.node(ref).ID, force); }

  // ---------------------------------------------------------------- containers

  /** The name is decided and recorded while no other create or rename runs: one wins, the rest get 409. */
  createContainer(name: string | undefined, body: any): Promise<{ Id: string; Warnings: string[] }> {
    return this.naming.run(() => this.create(name, body));
  }

  private async create(name: string | undefined, body: any): Promise<{ Id: string; Warnings: string[] }> {
    if (!body || typeof body !== 'object') throw badRequest('config cannot be empty in order to create a container');
    if (name !== undefined && name !== '') {
      validateContainerName(name);
      name = name.replace(/^\//, '');
      const other = this.findByName(name);
      if (other) {
        throw conflict(`Conflict. The container name "/${name}" is already in use by container "${other.Id}". ` +
          'You have to remove (or rename) that container to be able to reuse that name.');
      }
    } else {
      do { name = randomName(); } while (this.findByName(name));
    }
    const imageRef = String(body.Image ?? '');
    if (!imageRef) throw badRequest('config cannot be empty in order to create a container');
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
    const entrypoint = body.Entrypoint !== undefined && body.Entrypoint !== null ? toArgv(body.Entrypoint) : (imgCfg.Entrypoint ?? null);
    // An explicit entrypoint resets the image's Cmd (Docker's rule).
    const cmd = body.Cmd !== undefined && body.Cmd !== null ? toArgv(body.Cmd)
      : (body.Entrypoint !== undefined && body.Entrypoint !== null ? null : (imgCfg.Cmd ?? null));
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
      await this.save(c);
    } catch (e) {
      // Nothing half-made: no directory without a record (a full disk fails here).
      await this.runtime.remove(c.Id).catch(() => undefined);
      await this.store.delete(KIND, c.Id).catch(() => undefined);
      throw e;
    }
    this.containers.set(c.Id, c);
    this.containerEvent(c, 'create');
    return { Id: id, Warnings: warnings };
  }

  private findByName(name: string): ContainerRecord | undefined {
    for (const c of this.containers.values()) if (c.Name === name) return c;
    return undefined;
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
      const target = this.findContainer(l.target);
      if (!target) throw badRequest(`could not get container for ${l.target}: No such container: ${l.target}`);
      return recordedLink(target.Name, name, l.alias);
    });
  }

  /**
   * The targets of a container's legacy links with their address on the default bridge. At
   * start (`strict`) every target must be running, as with Docker; later (rewriting /etc/hosts)
   * the ones that are not are left out.
   */
  private legacyLinks(c: ContainerRecord, strict: boolean): Array<{ alias: string; target: ContainerRecord; ip: string }> {
    const out: Array<{ alias: string; target: ContainerRecord; ip: string }> = [];
    for (const spec of c.HostConfig.Links ?? []) {
      const l = parseLink(spec);
      const target = this.findContainer(l.target);
      const ep = target?.State.Running ? Object.values(target.endpoints ?? {}).find((e) => !e.hidden) : undefined;
      if (!target || !ep) {
        if (!strict) continue;
        if (!target) throw badRequest(`could not get container for ${l.target}: No such container: ${l.target}`);
        throw conflict(`Cannot link to a non running container: /${target.Name} AS /${c.Name}/${l.alias}`);
      }
      out.push({ alias: l.alias, target, ip: ep.IPAddress });
    }
    return out;
  }

  /** `rm --link LINKER/ALIAS`: forget one legacy link of a container (Docker's messages). */
  async removeLink(path: string): Promise<void> {
    const name = path.replace(/^\//, '');
    const slash = name.lastIndexOf('/');
    if (slash < 0) throw conflict('Conflict, cannot remove the default link name of the container');
    const [linker, alias] = [name.slice(0, slash), name.slice(slash + 1)];
    const c = this.findContainer(linker);
    if (!c) throw noSuchContainer(path);
    await this.withLock(c.Id, async () => {
      const links: string[] = c.HostConfig.Links ?? [];
      const keep = links.filter((spec) => parseLink(spec).alias !== alias);
      if (keep.length === links.length) throw noSuchContainer(path);
      const next = structuredClone(c);
      next.HostConfig.Links = keep.length ? keep : null;
      await this.save(next);
      c.HostConfig.Links = next.HostConfig.Links;
    });
  }

  private validateNetworking(hostConfig: any, endpoints: Record<string, any>, body: any): void {
    const mode = parseNetworkMode(hostConfig.NetworkMode);
    if (mode.kind === 'container') {
      this.container(mode.ref);
      if (Object.keys(hostConfig.PortBindings ?? {}).length || hostConfig.PublishAllPorts) {
        throw badRequest('conflicting options: port publishing and the container type network mode');
      }
      if (body.Hostname) throw badRequest('conflicting options: hostname and the network mode');
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
      if (cfg?.Aliases?.length && net.isDefault) {
        throw badRequest('network-scoped alias is supported only for containers in user defined networks');
      }
    }
    if (mode.kind === 'network') this.networks.get(mode.name);
  }

  async startContainer(ref: string): Promise<void> {
    const c = this.container(ref);
    await this.withLock(c.Id, () => {
      this.cancelRestart(c);
      delete c.manuallyStopped;
      return this.start(c);
    });
  }

  private async start(c: ContainerRecord): Promise<void> {
    try {
      await this.startOnce(c);
    } catch (e) {
      // Like dockerd: a --rm container that cannot start is removed at once.
      if (c.HostConfig.AutoRemove && !c.State.Running) await this.remove(c, true).catch(() => undefined);
      throw e;
    }
  }

  private async startOnce(c: ContainerRecord): Promise<void> {
    if (c.State.Running) throw notModified('container already started');
    await this.exiting.get(c.Id);
    const image = this.imageOf(c);
    if (!image) throw noSuchImage(c.Image);
    // The networks it joins cannot be removed while it starts (network rm answers 403).
    const release = this.networks.hold(this.networksOf(c));
    // Written before the first side effect: a crash from here on is undone at the next start.
    const intent = await this.journal.begin('start', c.Id, c.Name);
    try {
      await this.startSteps(c, image);
    } finally {
      release();
      await this.journal.end(intent);
    }
  }

  /** The networks a container is configured for (by name): its mode's and its endpoint configs'. */
  private networksOf(c: ContainerRecord): string[] { return configuredNetworks(c); }

  private async startSteps(c: ContainerRecord, image: ImageRecord): Promise<void> {
    this.legacyLinks(c, true); // every link's target must be running: fail before anything is made
    await this.sandboxes.setup(c, (r) => this.container(r));
    // Like Docker, a container in another's network namespace takes that one's hostname.
    const mode = parseNetworkMode(c.HostConfig.NetworkMode);
    if (mode.kind === 'container') {
      const other = this.container(mode.ref);
      c.Config.Hostname = other.Config.Hostname;
      c.Config.Domainname = other.Config.Domainname;
    }
    let launched = false;
    let recorded = false;
    const before = c.State;
    try {
      await this.dns.attach(c);
      const etc = await this.etcFiles(c);
      const pid = await this.runtime.start({
        id: c.Id,
        name: c.Name,
        image,
        args: [...(c.Config.Entrypoint ?? []), ...(c.Config.Cmd ?? [])],
        env: [...this.legacyLinks(c, false).flatMap((l) => linkEnv(c.Name, l.alias, {
          name: l.target.Name, ip: l.ip, env: l.target.Config.Env ?? [], exposed: Object.keys(l.target.Config.ExposedPorts ?? {}),
        })), ...(c.Config.Env ?? [])],
        cwd: c.Config.WorkingDir || '/',
        user: c.Config.User || '',
        hostname: c.Config.Hostname,
        tty: c.Config.Tty,
        openStdin: c.Config.OpenStdin,
        stdinOnce: c.Config.StdinOnce,
        netnsPath: c.netnsPath,
        shareHostUts: parseNetworkMode(c.HostConfig.NetworkMode).kind === 'host',
        etc,
        extras: processExtras(c.HostConfig, parseNetworkMode(c.HostConfig.NetworkMode)),
        runtime: c.HostConfig.Runtime,
      });
      launched = true;
      c.State = {
        ...c.State, Status: 'running', Running: true, Restarting: false, Pid: pid, ExitCode: 0, Error: '',
        StartedAt: nowRfc3339(), FinishedAt: ZERO_TIME,
      };
      // Running only once recorded: if the record cannot be written, the process goes.
      await this.save(c);
      recorded = true;
      this.runtime.onExit(c.Id, (code) => this.onExit(c.Id, code));
      await this.dnsSync();
      for (const ep of Object.values(c.endpoints)) this.networkEvent(ep.NetworkID, 'connect', c.Id);
      this.containerEvent(c, 'start');
    } catch (e) {
      if (launched && !recorded) {
        c.State = { ...before, Error: '' };
        await this.runtime.discard(c.Id).catch((x) => log.warn(`stopping ${c.Name}: ${(x as Error).message}`));
      }
      this.dns.detach(c);
      await this.sandboxes.teardown(c);
      c.State.Error = (e as Error).message;
      await this.save(c).catch(() => undefined);
      throw e instanceof ApiError ? e : new ApiError(500, (e as Error).message);
    }
  }

  /** /etc/hosts, /etc/resolv.conf and /etc/hostname as Docker writes them for this container. */
  private async etcFiles(c: ContainerRecord): Promise<{ hosts: string; resolvConf: string; hostname: string }> {
    const mode = parseNetworkMode(c.HostConfig.NetworkMode);
    const hostResolv = await hostResolvConf();
    if (mode.kind === 'host') {
      return {
        hosts: (await hostHosts()) ?? hostsFile({ hostname: c.Config.Hostname, addresses: [], extraHosts: [] }),
        resolvConf: hostResolv,
        hostname: hostnameFile(c.Config.Hostname),
      };
    }
    if (mode.kind === 'container') {
      const other = this.container(mode.ref);
      const root = this.containerRoot(other.Id);
      const read = (f: string) => readContainerFile(root, f);
      return { hosts: await read('hosts'), resolvConf: await read('resolv.conf'), hostname: await read('hostname') };
    }
    const addresses = Object.values(c.endpoints).filter((e) => !e.hidden).map((e) => e.IPAddress);
    const links = this.legacyLinks(c, false).map((l) => ({ name: l.target.Name, alias: l.alias, ip: l.ip, hostname: l.target.Config.Hostname }));
    return {
      hosts: hostsFile({
        hostname: c.Config.Hostname, domainname: c.Config.Domainname, addresses,
        extraHosts: c.HostConfig.ExtraHosts ?? [], links,
        // --add-host NAME:host-gateway: the default bridge's gateway, as dockerd's default.
        hostGateway: this.networks.list().find((n) => n.isDefault)?.IPAM.Config[0]?.Gateway,
      }),
      resolvConf: resolvConf(hostResolv, {
        dns: c.HostConfig.Dns ?? [], dnsSearch: c.HostConfig.DnsSearch ?? [],
        dnsOptions: c.HostConfig.DnsOptions ?? [], embedded: !!c.dns && !c.dns.viaConnect,
      }),
      hostname: hostnameFile(c.Config.Hostname),
    };
  }

  /** The container's process ended: tear down its networking, record the exit, wake waiters. */
  private onExit(id: string, code: number): Promise<void> {
    const c = this.containers.get(id);
    if (!c || !c.State.Running) return Promise.resolve();
    const p = (async () => {
      const nets = Object.values(c.endpoints ?? {}).map((ep) => ep.NetworkID);
      this.dns.detach(c);
      await this.sandboxes.teardown(c);
      for (const n of nets) this.networkEvent(n, 'disconnect', c.Id);
      this.containerEvent(c, 'die', { exitCode: String(code) });
      c.State = { ...c.State, Status: 'exited', Running: false, Pid: 0, ExitCode: code, FinishedAt: nowRfc3339() };
      // A fact, not a request: recorded even on a full disk (the store's reserve, then retries).
      await this.store.put(KIND, c.Id, c, { fact: true }).catch((e) => log.warn(`${(e as Error).message}`));
      await this.dnsSync();
      this.wake(id, code, ['not-running', 'next-exit']);
      // (a `restart` of a --rm container stops it to start it again: not its end, as with Docker)
      if (c.HostConfig.AutoRemove && !this.userRestarts.has(c.Id)) await this.remove(c, true).catch(() => undefined);
      else if (!this.userRestarts.has(c.Id)) this.planRestart(c);
    })();
    this.exiting.set(id, p);
    return p.finally(() => { if (this.exiting.get(id) === p) this.exiting.delete(id); });
  }

  /**
   * After an exit: if the restart policy says so, the container is "restarting" and starts
   * again after Docker's back-off (armed once berthd serves, so a start never races the
   * start-up sweeps). A daemon killed meanwhile finds it restarting and arms it again.
   */
  private planRestart(c: ContainerRecord): void {
    if (!shouldRestart(c.HostConfig.RestartPolicy, c.State.ExitCode, c.RestartCount, !!c.manuallyStopped)) return;
    const ranMs = Date.parse(c.State.FinishedAt) - Date.parse(c.State.StartedAt);
    const delay = restartDelay(this.restartDelays.get(c.Id), ranMs);
    this.restartDelays.set(c.Id, delay);
    c.State = { ...c.State, Restarting: true, Status: 'restarting' };
    void this.save(c).catch(() => undefined);
    if (this.serving) this.armRestart(c, delay);
  }

  private armRestart(c: ContainerRecord, delayMs: number): void {
    clearTimeout(this.restartTimers.get(c.Id));
    this.restartTimers.set(c.Id, setTimeout(() => {
      this.restartTimers.delete(c.Id);
      this.withLock(c.Id, async () => {
        if (!c.State.Restarting) return; // stopped or removed meanwhile
        c.RestartCount++;
        try {
          await this.startOnce(c);
        } catch (e) {
          // (startOnce recorded the error; the container stays exited, as Docker's does)
          c.State = { ...c.State, Restarting: false, Status: 'exited' };
          await this.save(c).catch(() => undefined);
          log.warn(`restarting ${c.Name}: ${(e as Error).message}`);
        }
      }).catch(() => undefined);
    }, delayMs));
  }

  /** A pending restart is called off (stop, kill, rm): true when there was one. */
  private cancelRestart(c: ContainerRecord): boolean {
    clearTimeout(this.restartTimers.get(c.Id));
    this.restartTimers.delete(c.Id);
    if (!c.State.Restarting) return false;
    c.State = { ...c.State, Restarting: false, Status: 'exited' };
    return true;
  }

  private wake(id: string, code: number, conds: string[]): void {
    const list = this.waiters.get(id) ?? [];
    const keep = list.filter((w) => {
      if (conds.includes(w.cond)) { w.resolve(code); return false; }
      return true;
    });
    if (keep.length) this.waiters.set(id, keep); else this.waiters.delete(id);
  }

  async stopContainer(ref: string, timeoutSec?: number, signal?: string): Promise<void> {
    const c = this.container(ref);
    await this.withLock(c.Id, async () => {
      if (this.cancelRestart(c)) {
        c.manuallyStopped = true;
        await this.save(c);
        return;
      }
      if (!c.State.Running) throw notModified('container already stopped');
      c.manuallyStopped = true;
      this.containerEvent(c, 'kill', { signal: signal || c.Config.StopSignal || 'SIGTERM' });
      await this.runtime.stop(c.Id, this.stopTimeout(c, timeoutSec), signal || c.Config.StopSignal || undefined);
      await this.exitDone(c);
      this.containerEvent(c, 'stop');
    });
  }

  /** The request's timeout, else the container's --stop-timeout, else Docker's 10 s. */
  private stopTimeout(c: ContainerRecord, requested?: number): number {
    return requested ?? (Number.isInteger(c.Config.StopTimeout) ? c.Config.StopTimeout : 10);
  }

  /** Wait until the exit handling of `c` (teardown, state) has finished. */
  private async exitDone(c: ContainerRecord): Promise<void> {
    for (let i = 0; i < 200 && c.State.Running && !this.exiting.has(c.Id); i++) await sleep(25);
    await this.exiting.get(c.Id);
  }

  async killContainer(ref: string, signal?: string): Promise<void> {
    const c = this.container(ref);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    // Like Docker's, a kill by the user keeps the restart policy from starting it again.
    c.manuallyStopped = true;
    await this.runtime.kill(c.Id, signal || 'KILL');
    this.containerEvent(c, 'kill', { signal: signal || 'SIGKILL' });
    if (!signal || /^(SIG)?KILL$|^9$/.test(signal.toUpperCase())) await this.exitDone(c);
  }

  async restartContainer(ref: string, timeoutSec?: number, signal?: string): Promise<void> {
    const c = this.container(ref);
    await this.withLock(c.Id, async () => {
      this.cancelRestart(c);
      delete c.manuallyStopped;
      if (c.State.Running) {
        this.userRestarts.add(c.Id); // this exit is ours: no removal, no policy restart on top
        try {
          await this.runtime.stop(c.Id, this.stopTimeout(c, timeoutSec), signal || c.Config.StopSignal || undefined);
          await this.exitDone(c);
        } finally {
          this.userRestarts.delete(c.Id);
        }
      }
      delete c.manuallyStopped;
      await this.start(c);
      this.containerEvent(c, 'restart');
    });
  }

  async removeContainer(ref: string, opts: { force: boolean }): Promise<void> {
    const c = this.container(ref);
    await this.withLock(c.Id, () => this.remove(c, opts.force));
  }

  private async remove(c: ContainerRecord, force: boolean): Promise<void> {
    if (!this.containers.has(c.Id)) return;
    if (c.State.Restarting && !force) {
      throw conflict(`You cannot remove a restarting container ${c.Id}. Stop the container before attempting removal or force remove`);
    }
    this.cancelRestart(c);
    if (c.State.Running) {
      if (!force) {
        throw conflict(`You cannot remove a running container ${c.Id}. Stop the container before attempting removal or force remove`);
      }
      await this.runtime.kill(c.Id, 'KILL').catch(() => undefined);
      await this.exitDone(c);
      if (!this.containers.has(c.Id)) return; // AutoRemove got there first
    }
    // The record goes first (a removal needs no disk space): a crash after it leaves only
    // objects no record names, which the next start sweeps away.
    await this.store.delete(KIND, c.Id);
    this.containers.delete(c.Id);
    await this.sandboxes.teardown(c);
    await this.runtime.remove(c.Id);
    this.containerEvent(c, 'destroy');
    await this.dnsSync();
    this.wake(c.Id, c.State.ExitCode, ['removed', 'not-running', 'next-exit']);
  }

  /** `docker top`: the container's processes as `ps` (with Docker's default -ef) shows them. */
  async topContainer(ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const c = this.container(ref);
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

  async systemDf(): Promise<any> {
    const images = await this.listImages({ all: false, filters: {} });
    const containers = await this.listContainers({ all: true, filters: {} });
    return {
      LayersSize: images.reduce((a: number, i: any) => a + (i.Size ?? 0), 0),
      Images: images, Containers: containers.map((c: any) => ({ ...c, SizeRw: 0, SizeRootFs: 0 })),
      Volumes: [], BuildCache: [],
    };
  }

  async renameContainer(ref: string, newName: string): Promise<void> {
    const c = this.container(ref);
    validateContainerName(newName);
    await this.withLock(c.Id, () => this.naming.run(() => this.rename(c, newName)));
  }

  private async rename(c: ContainerRecord, newName: string): Promise<void> {
    const name = newName.replace(/^\//, '');
    if (name === c.Name) throw badRequest('Renaming a container with the same name as its current name');
    const other = this.findByName(name);
    if (other) {
      throw conflict(`Conflict. The container name "/${name}" is already in use by container "${other.Id}". ` +
        'You have to remove (or rename) that container to be able to reuse that name.');
    }
    const oldName = c.Name;
    c.Name = name;
    try {
      await this.save(c);
    } catch (e) {
      c.Name = oldName;
      throw e;
    }
    this.containerEvent(c, 'rename', { oldName: `/${oldName}` });
    await this.dnsSync();
  }

  async listContainers(opts: { all: boolean; filters: Record<string, string[]>; limit?: number }): Promise<any[]> {
    validateFilters(opts.filters, ['name', 'id', 'status', 'label', 'network', 'exited', 'ancestor', 'expose', 'publish', 'before', 'since', 'health', 'isolation', 'is-task', 'volume']);
    let list = [...this.containers.values()]
      .filter((c) => opts.all || c.State.Running || (opts.filters.status?.length ?? 0) > 0)
      .filter((c) => matchContainerFilters(c, opts.filters, (r) => this.networks.find(r)))
      .sort((a, b) => b.Created.localeCompare(a.Created));
    if (opts.limit && opts.limit > 0) list = list.slice(0, opts.limit);
    return list.map((c) => containerListEntry(c, c.ImageID, this.isDefaultBridge));
  }

  async inspectContainer(ref: string): Promise<any> {
    const c = this.container(ref);
    const root = this.containerRoot(c.Id);
    return containerJson(c, { root, logPath: this.runtime.logPath(c.Id) }, c.ImageID, this.isDefaultBridge);
  }

  async waitContainer(ref: string, condition?: string): Promise<{ StatusCode: number; Error: null | { Message: string } }> {
    const c = this.container(ref);
    const cond = condition || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw badRequest(`invalid condition: "${cond}"`);
    if (cond === 'not-running' && !c.State.Running && !this.exiting.has(c.Id)) {
      return { StatusCode: c.State.ExitCode, Error: null };
    }
    const code = await new Promise<number>((resolve) => {
      const list = this.waiters.get(c.Id) ?? [];
      list.push({ cond, resolve });
      this.waiters.set(c.Id, list);
    });
    return { StatusCode: code, Error: null };
  }

  async attachContainer(ref: string, opts: AttachOptions): Promise<Attachment> {
    const c = this.container(ref);
    const a = this.runtime.attach(c.Id, {
      stdin: opts.stdin && c.Config.OpenStdin,
      logs: opts.logs,
      stream: opts.stream,
    });
    return { tty: c.Config.Tty, output: a.output, input: a.input };
  }

  async containerLogs(ref: string, opts: LogOptions): Promise<{ tty: boolean; output: Readable }> {
    const c = this.container(ref);
    return { tty: c.Config.Tty, output: this.runtime.logs(c.Id, { follow: opts.follow && c.State.Running, tail: opts.tail, timestamps: opts.timestamps }) };
  }

  async resizeContainer(ref: string, h: number, w: number): Promise<void> {
    const c = this.container(ref);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    await this.runtime.resize(c.Id, h, w);
  }

  async execCreate(ref: string, body: any): Promise<{ Id: string }> {
    const c = this.container(ref);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    if (!Array.isArray(body?.Cmd) || body.Cmd.length === 0) throw badRequest('No exec command specified');
    const id = newId();
    this.execs.set(id, { ID: id, ContainerID: c.Id, Config: body, Running: false, ExitCode: null, Pid: 0 });
    return { Id: id };
  }

  async execStart(execId: string, body: { Detach?: boolean; Tty?: boolean }): Promise<ExecHandle> {
    const ex = this.execs.get(execId);
    if (!ex) throw notFound(`No such exec instance: ${execId}`);
    if (ex.Running || ex.ExitCode !== null) throw conflict(`Error: Exec command ${execId} has already run`);
    const c = this.container(ex.ContainerID);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    const cfg = ex.Config;
    const h = this.runtime.exec(c.Id, {
      cmd: cfg.Cmd, env: mergeEnv(c.Config.Env ?? [], cfg.Env ?? []), tty: !!(body.Tty ?? cfg.Tty),
      cwd: cfg.WorkingDir || c.Config.WorkingDir || '/', user: cfg.User || c.Config.User || '',
      stdin: !!cfg.AttachStdin,
    });
    ex.Running = true;
    this.execProcs.set(execId, h);
    h.pid.then((p) => { ex.Pid = p; }, () => undefined);
    const done = () => { ex.Running = false; this.execProcs.delete(execId); };
    const exitCode = h.exitCode.then((code) => { done(); ex.ExitCode = code; return code; },
      (e) => { done(); ex.ExitCode = 126; throw e; });
    return { tty: !!(body.Tty ?? cfg.Tty), output: h.output, input: h.input, exitCode };
  }

  async execInspect(execId: string): Promise<any> {
    const ex = this.execs.get(execId);
    if (!ex) throw notFound(`No such exec instance: ${execId}`);
    return {
      ID: ex.ID, Running: ex.Running, ExitCode: ex.ExitCode, ProcessConfig: {
        tty: !!ex.Config.Tty, entrypoint: ex.Config.Cmd[0], arguments: ex.Config.Cmd.slice(1), privileged: false,
        user: ex.Config.User ?? '',
      },
      OpenStdin: !!ex.Config.AttachStdin, OpenStderr: true, OpenStdout: true, CanRemove: false,
      ContainerID: ex.ContainerID, DetachKeys: '', Pid: ex.Pid,
    };
  }

  async execResize(execId: string, h: number, w: number): Promise<void> {
    if (!this.execs.get(execId)) throw notFound(`No such exec instance: ${execId}`);
    await this.execProcs.get(execId)?.resize(h, w);
  }

  async pruneContainers(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    for (const c of [...this.containers.values()]) {
      if (c.State.Running || !matchContainerFilters(c, filters, (r) => this.networks.find(r))) continue;
      await this.remove(c, false);
      deleted.push(c.Id);
    }
    return { ContainersDeleted: deleted, SpaceReclaimed: 0 };
  }

  // ---------------------------------------------------------------- images

  async listImages(_opts: { all: boolean; filters: Record<string, string[]> }): Promise<any[]> {
    return this.images.list().map((i) => ({
      Id: i.Id, ParentId: '', RepoTags: i.RepoTags.length ? i.RepoTags : ['<none>:<none>'],
      RepoDigests: [], Created: Math.floor(Date.parse(i.Created) / 1000), Size: i.Size, VirtualSize: i.Size,
      SharedSize: -1, Labels: i.Config?.Labels ?? null, Containers: -1,
    }));
  }

  async inspectImage(ref: string): Promise<any> {
    const i = this.images.resolve(ref);
    if (!i) throw noSuchImage(ref);
    return {
      Id: i.Id, RepoTags: i.RepoTags, RepoDigests: [], Parent: '', Comment: i.rootfs === null ? 'the host root, copy-on-write' : '',
      Created: i.Created, Container: '', ContainerConfig: {}, DockerVersion: '', Author: '', Config: i.Config,
      Architecture: i.Architecture, Os: i.Os, Size: i.Size, VirtualSize: i.Size,
      GraphDriver: { Data: null, Name: 'overlay' }, RootFS: { Type: 'layers', Layers: [] }, Metadata: { LastTagTime: ZERO_TIME },
    };
  }

  async importImage(src: Readable, repo: string | undefined, tag: string | undefined, changes: string[]): Promise<string> {
    const ref = repo ? `${repo}${tag ? `:${tag}` : ''}` : undefined;
    const img = await this.images.importTar(src, ref, changes);
    return img.Id;
  }

  async loadImages(src: Readable): Promise<string[]> { return this.images.load(src); }

  async saveImages(refs: string[]): Promise<Readable> { return this.images.save(refs); }

  async pullImage(ref: string, tag: string | undefined, progress: (m: Record<string, unknown>) => void): Promise<string> {
    const id = await this.images.pull(ref, tag, this.opts.insecureRegistries ?? [], progress);
    this.events.emit('image', 'pull', ref.includes(':') || !tag ? ref : `${ref}:${tag}`, { name: ref });
    return id;
  }

  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    if (!this.images.resolve(ref)) throw noSuchImage(ref);
    await this.images.tag(ref, `${repo}:${tag || 'latest'}`);
  }

  async removeImage(ref: string, opts: { force: boolean }): Promise<Array<{ Untagged?: string; Deleted?: string }>> {
    const img = this.images.resolve(ref);
    if (!img) throw noSuchImage(/^(sha256:)?[0-9a-f]{6,64}$/.test(ref) ? ref : normalizeRef(ref));
    // A tag of an image that keeps other tags is only untagged (Docker's rule): no conflict.
    const byTag = img.RepoTags.includes(normalizeRefSafe(ref));
    const onlyUntag = byTag && img.RepoTags.length > 1;
    const user = [...this.containers.values()].find((c) => c.ImageID === img.Id);
    if (user && !opts.force && !onlyUntag) {
      throw conflict(`conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(user.Id)} is using its referenced image ${shortId(img.Id.replace('sha256:', ''))}`);
    }
    return this.images.remove(ref, opts);
  }

  // ---------------------------------------------------------------- networks

  async createNetwork(body: any): Promise<{ Id: string; Warning: string }> {
    if (driverTraits(body?.Driver)?.made === 'swarm') {
      if (!this.swarm.cluster.config) throw new ApiError(503, NOT_IN_SWARM);
      const o = await this.swarm.cluster.createNetwork(this.networks.overlayRequest(body));
      this.networkEvent(o.id, 'create');
      return { Id: o.id, Warning: '' };
    }
    const r = await this.networks.create(body);
    this.networkEvent(r.Id, 'create');
    return r;
  }

  async listNetworks(filters: Record<string, string[]>): Promise<any[]> {
    validateFilters(filters, ['name', 'id', 'driver', 'label', 'type', 'scope', 'dangling']);
    const all = [...this.containers.values()];
    return this.networks.list()
      .filter((n) => matchNetworkFilters(n, filters, all))
      .sort((a, b) => a.Created.localeCompare(b.Created))
      .map((n) => ({ ...networkJson(n, []), Containers: {} }));
  }

  async inspectNetwork(ref: string, opts: { scope?: string } = {}): Promise<any> {
    const n = this.networks.get(ref);
    // ?scope=local|swarm|global: a network of another scope is not found (Docker).
    if (opts.scope && opts.scope !== n.Scope) throw noSuchNetwork(ref);
    const out = networkJson(n, [...this.containers.values()]);
    // Docker lists the hosts of an overlay network as its peers.
    if (traitsOf(n).scope === 'swarm') out.Peers = this.swarm.peers();
    return out;
  }

  async removeNetwork(ref: string): Promise<void> {
    const n = this.networks.get(ref);
    if (traitsOf(n).scope === 'swarm') {
      const eps = this.endpointsOn(n.Id);
      if (eps.length) throw activeEndpoints(n.Name, eps);
      await this.swarm.cluster.removeNetwork(n.Id);
    } else {
      await this.networks.remove(ref, (x) => this.endpointsOn(x.Id));
    }
    this.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
  }

  /** The endpoints containers have on a network now (a stopped container has none). */
  private endpointsOn(networkId: string): Array<{ name: string; id: string }> {
    return [...this.containers.values()].flatMap((c) => Object.values(c.endpoints ?? {})
      .filter((e) => e.NetworkID === networkId).map((e) => ({ name: c.Name, id: e.EndpointID })));
  }

  async pruneNetworks(filters: Record<string, string[]>): Promise<{ NetworksDeleted: string[] }> {
    const deleted: string[] = [];
    const all = [...this.containers.values()];
    for (const n of this.networks.list()) {
      if (this.networks.isPredefined(n) || traitsOf(n).scope === 'swarm' || this.endpointsOn(n.Id).length) continue;
      // Docker's prune also keeps networks that a (stopped) container is configured for.
      if (all.some((c) => c.HostConfig.NetworkMode === n.Name || c.HostConfig.NetworkMode === n.Id ||
        Object.keys(c.NetworkingConfig?.EndpointsConfig ?? {}).includes(n.Name))) continue;
      if (!matchNetworkFilters(n, filters, all)) continue;
      await this.networks.remove(n.Id, () => []);
      this.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
      deleted.push(n.Name);
    }
    return { NetworksDeleted: deleted };
  }

  async connectNetwork(ref: string, body: { Container: string; EndpointConfig?: any }): Promise<void> {
    const net = this.networks.get(ref);
    const c = this.container(body?.Container ?? '');
    await this.withLock(c.Id, async () => {
      const mode = parseNetworkMode(c.HostConfig.NetworkMode);
      if (traitsOf(net).namespace === 'host' || mode.kind === 'host') {
        throw badRequest('container cannot be disconnected from host network or connected to host network');
      }
      if (mode.kind === 'container' || mode.kind === 'none' || traitsOf(net).namespace === 'none') {
        throw badRequest('container sharing network namespace with another container or host cannot join any other network');
      }
      const cfgs = c.NetworkingConfig.EndpointsConfig;
      const isPrimary = this.networks.find(mode.name)?.Id === net.Id;
      if (c.State.Running ? !!c.endpoints[net.Name] : this.configuredFor(c, net)) throw forbiddenDup(c.Name, net.Name);
      const cfg = { ...(body.EndpointConfig ?? {}) };
      const links = endpointLinks(cfg.Links, 'EndpointConfig', !!net.isDefault);
      if (links) cfg.Links = links; else delete cfg.Links;
      if (cfg.IPAMConfig?.IPv4Address) {
        this.networks.checkRequestedIp(net, cfg.IPAMConfig.IPv4Address);
      }
      if (cfg.Aliases?.length && net.isDefault) {
        throw badRequest('network-scoped alias is supported only for containers in user defined networks');
      }
      // The network cannot be removed while the endpoint is made and recorded.
      const release = this.networks.hold([net.Id]);
      try {
        const running = c.State.Running;
        if (running) await this.sandboxes.connect(c, net, cfg);
        cfgs[net.Name] = { ...cfg, NetworkID: net.Id };
        const wasDetached = c.primaryDetached;
        if (isPrimary) delete c.primaryDetached;
        try {
          await this.save(c);
        } catch (e) {
          // Not recorded, not made: take the endpoint back out.
          delete cfgs[net.Name];
          if (wasDetached) c.primaryDetached = true;
          if (running) await this.sandboxes.disconnect(c, net).catch((x) => log.warn(`undoing connect of ${c.Name}: ${(x as Error).message}`));
          throw e;
        }
        if (running) this.networkEvent(net.Id, 'connect', c.Id);
        if (running) await this.dns.ensure(c).catch((e) => log.warn(`embedded DNS of ${c.Name}: ${(e as Error).message}`));
        if (running) await this.refreshHosts(c);
        await this.dnsSync();
      } finally {
        release();
      }
    });
  }

  async disconnectNetwork(ref: string, body: { Container: string; Force?: boolean }): Promise<void> {
    const net = this.networks.get(ref);
    const c = this.findContainer(body?.Container ?? '');
    if (!c) {
      if (body?.Force) return; // Docker: -f cleans up endpoints of containers already gone
      throw noSuchContainer(body?.Container ?? '');
    }
    await this.withLock(c.Id, async () => {
      const mode = parseNetworkMode(c.HostConfig.NetworkMode);
      if (traitsOf(net).namespace === 'host' || mode.kind === 'host') {
        throw badRequest('container cannot be disconnected from host network or connected to host network');
      }
      const cfgs = c.NetworkingConfig.EndpointsConfig;
      const primary = mode.kind === 'network' ? this.networks.find(mode.name) : undefined;
      const connected = c.State.Running ? !!c.endpoints[net.Name] : this.configuredFor(c, net);
      // (Docker answers this with a 500; it is the client's mistake, so berth says 409 in the same words)
      if (!connected) throw conflict(`container ${c.Id} is not connected to network ${net.Name}`);
      // Recorded first (a copy without the endpoint): if that fails nothing has changed; a
      // crash after it leaves a veth no record names, which the next start removes.
      const next: ContainerRecord = structuredClone(c);
      const nextCfgs = next.NetworkingConfig.EndpointsConfig;
      delete nextCfgs[net.Name];
      delete next.endpoints[net.Name];
      // Docker keeps NetworkMode: connecting the network again gives the endpoint back.
      if (primary?.Id === net.Id) next.primaryDetached = true;
      const ep = c.endpoints[net.Name];
      if (ep && next.ports.some((p) => p.containerIp === ep.IPAddress && p.bridgeName === net.bridgeName)) next.ports = [];
      await this.save(next);
      if (c.State.Running) {
        await this.sandboxes.disconnect(c, net).catch((e) => {
          log.warn(`disconnecting ${c.Name} from ${net.Name}: ${(e as Error).message}`);
          delete c.endpoints[net.Name];
        });
        this.networkEvent(net.Id, 'disconnect', c.Id);
      }
      delete cfgs[net.Name];
      c.primaryDetached = next.primaryDetached;
      if (c.State.Running) await this.refreshHosts(c);
      await this.dnsSync();
    });
  }

  /** Is a (stopped) container configured for this network? */
  private configuredFor(c: ContainerRecord, net: NetworkRecord): boolean {
    return configuredNetworks(c).some((n) => this.networks.find(n)?.Id === net.Id);
  }

  /** Rewrite a running container's /etc/hosts after its addresses changed. */
  private async refreshHosts(c: ContainerRecord): Promise<void> {
    const etc = await this.etcFiles(c);
    await this.runtime.writeEtc(c.Id, etc).catch(() => undefined);
  }

  /** For `berth port` and tests: the published ports of a container. */
  containerPorts(ref: string) { return portsMap(this.container(ref)); }

  /** Stop serving: containers keep running (live restore); only timers and watchers end. */
  async close(): Promise<void> {
    // Pending restarts stay recorded (State.Restarting): the next berthd arms them again.
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.serving = false;
    this.dns.close();
    this.swarm.cluster.close();
    await this.bridge.settle();
    await this.runtime.close?.();
  }
}

function forbiddenDup(container: string, net: string): ApiError {
  return new ApiError(403, `endpoint with name ${container} already exists in network ${net}`);
}

function toArgv(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return [v];
  return [];
}

/** Image env first, then the container's; a later KEY=... replaces an earlier one in place. */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const out: string[] = [];
  const index = new Map<string, number>();
  for (const e of [...base, ...extra]) {
    const key = e.split('=')[0];
    if (index.has(key)) out[index.get(key)!] = e;
    else { index.set(key, out.length); out.push(e); }
  }
  return out;
}

function normalizeRefSafe(ref: string): string {
  try { return normalizeRef(ref); } catch { return ''; }
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

async function osName(): Promise<string> {
  const txt = await osRelease();
  return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(txt)?.[1] ?? 'Linux';
}

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }


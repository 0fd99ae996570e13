// The composition root: builds every part of the daemon's brain once, wires them together
// (each part gets what it needs, nothing reaches through another), and runs a daemon start's
// recovery in its one order. The API layer calls the services it exposes, one per noun:
// system, containers, execs, images, networks, swarm.
import * as path from 'node:path';
import type { EngineApi } from './api';
import { traitsOf } from './drivers/registry';
import { Drivers } from './drivers/registry';
import { sweepStaleLinks } from './drivers/sweep';
import { NftFirewall } from './firewall/firewall';
import { Networks, type NetworkDefaults } from './networks';
import { Sandboxes } from './sandbox';
import { PortPublisher } from './portmap/publisher';
import { relayDir } from '../relay/protocol';
import type { ClusterOptions } from '../cluster/cluster';
import { DnsService } from './dns';
import { Swarm } from './swarm';
import { EventBus } from './events';
import { ContainerRecords } from './records';
import { ContainerFiles } from './containerfiles';
import { Lifecycle } from './lifecycle';
import { Recovery } from './recovery';
import { ContainerService } from './containers';
import { ExecService } from './execs';
import { ImageService } from './images';
import { NetworkService } from './netservice';
import { SystemService, BERTH_VERSION } from './system';
import { ensureNetnsDir } from '../kernel/netns';
import { Store } from '../store/store';
import { Journal } from '../store/journal';
import { ImageStore, Runtime } from '../runtime';
import { log } from '../util/log';

interface EngineOptions extends NetworkDefaults {
  dataRoot: string;
  execRoot: string;
  debug: boolean;
  insecureRegistries?: string[];
  /** berthd --ports-from: the sources outside the bridges that may reach published ports (empty: any). */
  portsFrom?: string[];
  /** berthd --ip6-masquerade: masquerade IPv6 traffic leaving dual-stack bridge networks. */
  ip6Masquerade?: boolean;
  /** berthd --default-runtime / --add-runtime. */
  runtimes?: { default?: string; add?: Record<string, string> };
  /** berthd --cluster-store and friends: the cluster behind overlay networks (cluster/cluster.ts). */
  cluster?: ClusterOptions;
}

export class Engine implements EngineApi {
  readonly system: SystemService;
  readonly containers: ContainerService;
  readonly execs: ExecService;
  readonly images: ImageService;
  readonly networks: NetworkService;
  readonly swarm: Swarm;

  private readonly store: Store;
  private readonly journal: Journal;
  private readonly imageStore: ImageStore;
  private readonly runtime: Runtime;
  private readonly drivers: Drivers;
  private readonly firewall: NftFirewall;
  private readonly publisher: PortPublisher;
  private readonly nets: Networks;
  private readonly dns: DnsService;
  private readonly records: ContainerRecords;
  private readonly lifecycle: Lifecycle;
  private readonly recovery: Recovery;

  constructor(private readonly opts: EngineOptions) {
    const events = new EventBus();
    this.store = new Store(path.join(opts.dataRoot, 'state'));
    // Write-ahead intents of multi-step changes, finished or undone at the next start.
    this.journal = new Journal(this.store);
    this.imageStore = new ImageStore(opts.dataRoot);
    this.runtime = new Runtime({ execRoot: opts.execRoot, dataRoot: opts.dataRoot, runtimes: opts.runtimes });
    this.firewall = new NftFirewall({ portsFrom: opts.portsFrom ?? [], masquerade6: !!opts.ip6Masquerade });
    this.drivers = new Drivers({ firewall: this.firewall, overlaySpec: (id) => this.swarm.spec(id) });
    this.nets = new Networks(this.store, this.drivers, opts);
    this.publisher = new PortPublisher(this.firewall, relayDir(opts.execRoot), (m) => log.warn(m), !!opts.portsFrom?.length);
    const sandboxes = new Sandboxes(this.nets, this.drivers, this.publisher, opts.execRoot);
    this.dns = new DnsService(this.nets, (m) => log.warn(`${m}`), { execRoot: opts.execRoot, debug: opts.debug });
    this.records = new ContainerRecords(this.store, events, this.nets);
    // The embedded resolver answers from the containers as they are now, here and on the swarm's other hosts.
    const refreshNames = () => this.dns.sync(this.records.values(), this.swarm.remoteNames());
    this.swarm = new Swarm(opts.dataRoot, this.nets, this.drivers, BERTH_VERSION, refreshNames, () => this.onSwarmNetwork(), opts.cluster);
    sandboxes.overlay = this.swarm.hooks();
    const files = new ContainerFiles(this.records, this.nets, this.runtime, opts.dataRoot);
    this.lifecycle = new Lifecycle(this.records, files, this.nets, sandboxes, this.dns, this.runtime, this.imageStore,
      this.journal, refreshNames);
    this.recovery = new Recovery(this.records, this.lifecycle, sandboxes, this.dns, this.runtime, opts.execRoot);
    this.containers = new ContainerService(this.records, this.lifecycle, this.nets, this.imageStore, this.runtime,
      opts.dataRoot, refreshNames);
    this.execs = new ExecService(this.records, this.runtime);
    this.images = new ImageService(this.imageStore, this.records, events, opts.insecureRegistries ?? []);
    this.networks = new NetworkService(this.records, this.nets, sandboxes, files, this.dns, this.swarm, events, refreshNames);
    this.system = new SystemService(events, this.records, this.imageStore, this.swarm, this.containers, this.images,
      { dataRoot: opts.dataRoot, debug: opts.debug, runtimes: this.runtime.runtimes });
  }

  /** Is a running container of this host on a swarm network (swarm leave refuses then)? */
  private onSwarmNetwork(): boolean {
    return this.records.all().some((c) => c.State.Running &&
      Object.values(c.endpoints ?? {}).some((e) => { const n = this.nets.find(e.NetworkID); return !!n && traitsOf(n).scope === 'swarm'; }));
  }

  /** Bring up the daemon: restore networks, adopt running containers, sweep leftovers. */
  async init(): Promise<void> {
    await ensureNetnsDir(path.join(this.opts.execRoot, 'netns'));
    await this.store.init();
    await this.imageStore.init();
    await this.drivers.init();
    await this.firewall.init();
    await this.publisher.init();
    await this.nets.restore();
    await this.swarm.cluster.load();
    await this.records.load();
    const intents = await this.journal.pending();
    await this.recovery.undoStarts(intents.filter((i) => i.op === 'start').map((i) => i.container));
    for (const c of this.records.all()) await this.recovery.adopt(c);
    // Until now berth's nft tables stayed as the last daemon left them, serving the containers
    // that kept running; one transaction now makes each what the records say.
    await this.firewall.sync();
    await this.publisher.sync();
    await this.recovery.sweepRuntime();
    const veths = this.records.all().flatMap((c) => Object.values(c.endpoints ?? {}).map((e) => e.hostIfname));
    await sweepStaleLinks({ networkLinks: this.nets.ownLinks(), hostIfnames: veths });
    await this.recovery.sweepNetns();
    for (const i of intents) await this.journal.end(i);
    await this.dns.sync(this.records.values(), this.swarm.remoteNames());
    this.lifecycle.serve();
  }

  /** Stop serving: containers keep running (live restore); only timers and watchers end. */
  async close(): Promise<void> {
    this.lifecycle.close();
    this.dns.close();
    this.swarm.cluster.close();
    await this.drivers.settle();
    await this.runtime.close?.();
  }
}

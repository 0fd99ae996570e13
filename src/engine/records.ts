// The containers' records: the one map of them, lookups by Docker's rules, their durable
// writes, the per-container lock every change of one container runs under, the mutex that
// decides names, and the events a change of a container or an endpoint emits. Every service
// that reads or changes a container does it through here.
import type { ContainerRecord } from './types';
import type { Networks } from './networks';
import type { EventBus } from './events';
import type { Store } from '../store/store';
import { badRequest, noSuchContainer } from '../util/errors';
import { KeyedLock, Mutex } from '../util/lock';

const KIND = 'containers';

export class ContainerRecords {
  private readonly map = new Map<string, ContainerRecord>();
  /** Serializes changes per container: start/stop/connect/rm of one container never interleave. */
  private readonly locks = new KeyedLock();
  /** Container names are decided one at a time (create, rename): never two with one name. */
  readonly naming = new Mutex();

  constructor(private readonly store: Store, private readonly events: EventBus, private readonly networks: Networks) {}

  /** Daemon start: every record as the last daemon left it. */
  async load(): Promise<void> {
    for (const c of await this.store.loadAll<ContainerRecord>(KIND)) this.map.set(c.Id, c);
  }

  values(): IterableIterator<ContainerRecord> { return this.map.values(); }
  all(): ContainerRecord[] { return [...this.map.values()]; }
  has(id: string): boolean { return this.map.has(id); }
  byId(id: string): ContainerRecord | undefined { return this.map.get(id); }

  /** Docker's lookup order: full id, name (with or without "/"), then a unique id prefix. */
  find(ref: string): ContainerRecord | undefined {
    if (!ref) return undefined;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byId = this.map.get(ref);
    if (byId) return byId;
    for (const c of this.map.values()) if (c.Name === name) return c;
    const matches = [...this.map.values()].filter((c) => c.Id.startsWith(ref));
    if (matches.length > 1) throw badRequest(`multiple IDs found with provided prefix: ${ref}`);
    return matches[0];
  }

  get(ref: string): ContainerRecord {
    const c = this.find(ref);
    if (!c) throw noSuchContainer(ref);
    return c;
  }

  findByName(name: string): ContainerRecord | undefined {
    for (const c of this.map.values()) if (c.Name === name) return c;
    return undefined;
  }

  /** A new container, recorded: it is known from now on. */
  async add(c: ContainerRecord): Promise<void> {
    await this.save(c);
    this.map.set(c.Id, c);
  }

  save(c: ContainerRecord): Promise<void> { return this.store.put(KIND, c.Id, c, { what: `container ${c.Name}` }); }

  /** A fact, not a request (a process ended): recorded even on a full disk (the store's reserve, then retries). */
  saveFact(c: ContainerRecord): Promise<void> { return this.store.put(KIND, c.Id, c, { fact: true }); }

  /** The record goes, then the container is unknown. */
  async delete(id: string): Promise<void> {
    await this.store.delete(KIND, id);
    this.map.delete(id);
  }

  /**
   * Runs `fn` holding the container's lock. A request that waited for the lock behind a
   * removal finds the container gone: No such container, never a record brought back.
   */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, () => {
      if (!this.map.has(id)) return Promise.reject(noSuchContainer(id));
      return fn();
    });
  }

  event(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.events.emit('container', action, c.Id, { ...(c.Config.Labels ?? {}), image: c.Image, name: c.Name, ...extra });
  }

  networkEvent(networkId: string, action: string, containerId?: string): void {
    const n = this.networks.find(networkId);
    if (!n) return;
    this.events.emit('network', action, n.Id, { name: n.Name, type: n.Driver, ...(containerId ? { container: containerId } : {}) });
  }

  /** The endpoints containers have on a network now (a stopped container has none). */
  endpointsOn(networkId: string): Array<{ name: string; id: string }> {
    return [...this.map.values()].flatMap((c) => Object.values(c.endpoints ?? {})
      .filter((e) => e.NetworkID === networkId).map((e) => ({ name: c.Name, id: e.EndpointID })));
  }

  /** A network's name is the default bridge's (Docker shapes some JSON differently there). */
  isDefaultBridge = (name: string): boolean => !!this.networks.findByName(name)?.isDefault;
}

// A daemon start's recovery after whatever stopped the last one (SIGKILL included): starts the
// journal says were cut short are undone, running containers are adopted (their endpoints
// checked and re-attached, their exits watched), and runtime objects and namespace files that
// no record accounts for are swept. The composition root (engine.ts) runs these in order.
import * as path from 'node:path';
import type { ContainerRecord } from './types';
import type { ContainerRecords } from './records';
import type { Lifecycle } from './lifecycle';
import type { Sandboxes } from './sandbox';
import type { DnsService } from './dns';
import type { Runtime } from '../runtime';
import { parseNetworkMode } from './netmode';
import { deleteNetns, listNetnsFiles } from '../kernel/netns';
import { ipBatch, listLinksIn } from '../kernel/ip';
import { log } from '../util/log';

export class Recovery {
  constructor(private readonly records: ContainerRecords, private readonly lifecycle: Lifecycle,
              private readonly sandboxes: Sandboxes, private readonly dns: DnsService,
              private readonly runtime: Runtime, private readonly execRoot: string) {}

  /**
   * Starts that a killed daemon left unfinished: a start is finished only once its record says
   * running, so any whose record does not is undone (its process, if runc got that far, goes;
   * its veths, netns and ports are named by no record and go with the sweeps below).
   */
  async undoStarts(ids: string[]): Promise<void> {
    for (const id of ids) {
      const c = this.records.byId(id);
      if (c?.State.Running) continue;
      await this.runtime.discard(id);
      if (c) {
        c.netnsPath = null; c.endpoints = {}; c.ports = []; c.dns = undefined;
        if (c.HostConfig.AutoRemove) await this.lifecycle.remove(c, true).catch(() => undefined);
      }
    }
  }

  async adopt(c: ContainerRecord): Promise<void> {
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
      this.runtime.onExit(c.Id, (code) => this.lifecycle.onExit(c.Id, code));
    } else {
      await this.lifecycle.onExit(c.Id, st.exitCode ?? 255);
    }
  }

  /**
   * Interfaces berth made in a running container's namespace that no endpoint records: a
   * connect cut short before its record, or a disconnect after it (a macvlan/ipvlan interface
   * lives only in there, so no sweep of the host's links finds it).
   */
  async pruneInterfaces(c: ContainerRecord): Promise<void> {
    const mode = parseNetworkMode(c.HostConfig.NetworkMode);
    if (!c.netnsPath || mode.kind === 'host' || mode.kind === 'container') return;
    const recorded = new Set(Object.values(c.endpoints ?? {}).map((e) => e.ifname));
    const extra = (await listLinksIn(c.netnsPath)).filter((l) => /^eth\d+$/.test(l.ifname) && !recorded.has(l.ifname) &&
      ['veth', 'macvlan', 'ipvlan'].includes(l.kind ?? ''));
    if (extra.length) await ipBatch(extra.map((l) => `link del dev ${l.ifname}`), c.netnsPath);
  }

  /**
   * Runtime objects no record accounts for: runc containers and bundles of containers not
   * recorded running (a start cut short before its record), directories of containers with
   * no record (a create or rm cut short).
   */
  async sweepRuntime(): Promise<void> {
    const shims = await this.runtime.shims();
    const ids = new Set([...await this.runtime.known(), ...shims.keys()]);
    for (const id of ids) {
      if (!this.records.byId(id)?.State.Running) await this.runtime.discard(id, shims);
    }
    for (const id of await this.runtime.stored()) {
      if (!this.records.has(id)) await this.runtime.remove(id);
    }
  }

  /** Namespace files of containers that no longer exist (deleted while berthd was down). */
  async sweepNetns(): Promise<void> {
    const dir = path.join(this.execRoot, 'netns');
    const keep = new Set([...this.records.values()].map((c) => c.netnsPath).filter(Boolean));
    for (const p of await listNetnsFiles(dir)) {
      if (!keep.has(p)) await deleteNetns(p).catch(() => undefined);
    }
  }
}

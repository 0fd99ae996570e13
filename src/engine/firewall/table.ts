// The nft backend's main tables, `ip berth` and `ip6 berth` (one object each): applies one (ruleset.ts) and keeps track of which elements are in it, so
// removing something never asks nft to delete an element that is not there (nft 1.0.6 has no
// `destroy`, and a failed delete would abort the whole transaction).
//
// A daemon start must not disturb the containers that kept running while berthd was away: the
// table they use stays in the kernel, untouched, while berthd works out from its records what
// the table should hold (init() … sync()); then one transaction makes it so, changing only the
// elements that differ, or, when the table's rules differ (a berth upgrade, a table damaged or
// deleted by hand), swapping the whole table for the right one at once. The swap carries the
// user's own rules over (the `user` chain, see ruleset.ts): berth never loses them.
import type { NetworkSpec, PortMapping } from '../types';
import { nftApply, nftList, nftRender } from '../../kernel/nft';
import { Mutex } from '../../util/lock';
import {
  tableOf, addElementsScript, deleteElementsScript, elementDiffScript, networkElements, parseTableListing,
  portElements, replaceTableScript, userParts, NO_USER_PARTS, type Family, type MapElem, type SetElem, type TableOptions,
} from './ruleset';
import { log } from '../../util/log';

export class BerthTable {
  /** The table's elements (while starting: what it is to hold), by set or map and key. */
  private readonly elements = new Map<string, SetElem | MapElem>();
  /** Starting: changes are recorded, not applied, until sync(). */
  private starting = false;
  /** One change of the table at a time, so `elements` always says what the kernel holds. */
  private readonly serial = new Mutex();
  private readonly fam: Family;
  private readonly table: string;
  /** `options`: table-wide settings (berthd --ports-from) and the family. */
  constructor(private readonly options: TableOptions = {}) {
    this.fam = options.family ?? 'ip';
    this.table = tableOf(this.fam);
  }

  /** Daemon start: leave the kernel's table serving as it is; record what the daemon re-adds. */
  async init(): Promise<void> {
    await this.serial.run(async () => {
      this.starting = true;
      this.elements.clear();
    });
  }

  /** Daemon start is done: make the kernel's table what was recorded, in one transaction. */
  async sync(): Promise<void> {
    await this.serial.run(async () => {
      if (!this.starting) return;
      const sets = [...this.elements.values()].filter((e): e is SetElem => e.length === 2);
      const maps = [...this.elements.values()].filter((e): e is MapElem => e.length === 3);
      const liveText = await nftList(this.table);
      const user = userParts(liveText);
      const whole = replaceTableScript(sets, maps, this.options, user);
      try {
        await nftApply((await this.differences(liveText, whole)) ?? whole);
      } catch (e) {
        // The user's rules, listed by nft, are not always accepted back (a rule naming
        // something gone): berth's own table must be in force all the same.
        if (!user.rules.length && !user.objects.length) throw e;
        log.warn(`the user chain's rules could not be kept (${(e as Error).message.trim()}); they are dropped:\n${user.rules.join('\n')}`);
        await nftApply(replaceTableScript(sets, maps, this.options, NO_USER_PARTS));
      }
      this.starting = false;
    });
  }

  /**
   * The element changes that turn the kernel's table into `whole`'s ('' for none), or null when
   * the table is missing or its rules differ. The kernel lists `whole` as it would hold it
   * (canonical addresses, intervals) after applying it in a throwaway network namespace.
   */
  private async differences(liveText: string, whole: string): Promise<string | null> {
    const live = parseTableListing(liveText);
    if (!live) return null;
    const want = parseTableListing(await nftRender(whole, this.table).catch(() => ''));
    return want ? elementDiffScript(live, want, this.table) : null;
  }

  async addNetwork(net: NetworkSpec): Promise<void> {
    await this.add(networkElements(net, this.fam), []);
  }

  async removeNetwork(net: NetworkSpec): Promise<void> {
    await this.remove(networkElements(net, this.fam), []);
  }

  async publish(ms: PortMapping[]): Promise<void> {
    await this.add([], ms.flatMap((m) => portElements(m, this.fam)));
  }

  async unpublish(ms: PortMapping[]): Promise<void> {
    await this.remove([], ms.flatMap((m) => portElements(m, this.fam)));
  }

  private add(sets: SetElem[], maps: MapElem[]): Promise<void> {
    return this.serial.run(async () => {
      const s = sets.filter((e) => !this.elements.has(key(e)));
      const m = maps.filter((e) => !this.elements.has(key(e)));
      if (!s.length && !m.length) return;
      if (!this.starting) await nftApply(addElementsScript(s, m, this.table));
      for (const e of [...s, ...m]) this.elements.set(key(e), e);
    });
  }

  private remove(sets: SetElem[], maps: MapElem[]): Promise<void> {
    return this.serial.run(async () => {
      const s = sets.filter((e) => this.elements.has(key(e)));
      const m = maps.filter((e) => this.elements.has(key(e)));
      if (!s.length && !m.length) return;
      if (!this.starting) await nftApply(deleteElementsScript(s, m, this.table));
      for (const e of [...s, ...m]) this.elements.delete(key(e));
    });
  }
}

function key(e: SetElem | MapElem): string {
  return `${e[0]}|${e[1]}`;
}

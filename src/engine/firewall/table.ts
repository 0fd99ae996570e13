// The nft backend's main table, `inet berth` (both families): applies it (ruleset.ts) and
// keeps track of which elements are in it, so removing something never asks nft to delete an
// element that is not there (nft 1.0.6 has no `destroy`, and a failed delete would abort the
// whole transaction).
//
// A daemon start must not disturb the containers that kept running while berthd was away: the
// table they use stays in the kernel, untouched, while berthd works out from its records what
// the table should hold (init() … sync()); then one transaction makes it so, changing only the
// elements that differ, or, when the table's rules differ (a berth upgrade, a table damaged or
// deleted by hand), swapping the whole table for the right one at once. The swap carries the
// user's own rules over (the `user` chain, see ruleset.ts): berth never loses them. A berth
// older than the inet table left `ip berth` and `ip6 berth`: the same transaction that makes
// `inet berth` removes them, carrying their user chains' rules over, so no packet ever meets
// the machine with neither (or both).
import type { NetworkSpec, PortMapping } from '../types';
import { nftApply, nftList, nftRender } from '../../kernel/nft';
import { Mutex } from '../../util/lock';
import {
  TABLE, LEGACY_TABLES, addElementsScript, deleteElementsScript, dropTablesScript, elementDiffScript, legacyUserParts,
  networkElements, parseTableListing, portElements, replaceTableScript, userParts, NO_USER_PARTS,
  type Family, type MapElem, type SetElem, type TableOptions,
} from './ruleset';
import { log } from '../../util/log';

export class BerthTable {
  /** The table's elements (while starting: what it is to hold), by set or map and key. */
  private readonly elements = new Map<string, SetElem | MapElem>();
  /** Starting: changes are recorded, not applied, until sync(). */
  private starting = false;
  /** One change of the table at a time, so `elements` always says what the kernel holds. */
  private readonly serial = new Mutex();
  /** `options`: table-wide settings (berthd --ports-from). */
  constructor(private readonly options: TableOptions = {}) {}

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
      const liveText = await nftList(TABLE);
      // Tables an older berth left: removed in the same transaction; their user parts carried
      // over unless the inet table (and so the user's current rules) is already there.
      const legacy: Array<{ table: string; fam: Family; text: string }> = [];
      for (const table of LEGACY_TABLES) {
        const text = await nftList(table);
        if (text.trim()) legacy.push({ table, fam: table.startsWith('ip6 ') ? 'ip6' : 'ip', text });
      }
      const old = legacy.map((l) => l.table);
      const carried = legacyUserParts(legacy.map((l) => [l.fam, l.text]));
      const fromOld = !liveText.trim() && legacy.length > 0;
      const user = fromOld ? carried : userParts(liveText);
      if (fromOld && carried.dropped.length) {
        log.warn(`the older tables' user objects ${carried.dropped.join(', ')} have the name of one kept from table ip berth; they are dropped`);
      }
      if (old.length) log.info(`replacing tables ${old.join(', ')} (an older berth's) with table ${TABLE}`);
      const drop = dropTablesScript(old);
      const whole = replaceTableScript(sets, maps, this.options, user);
      try {
        await nftApply(((await this.differences(liveText, whole)) ?? whole) + drop);
      } catch (e) {
        // The user's rules, listed by nft, are not always accepted back (a rule naming
        // something gone): berth's own table must be in force all the same.
        if (!user.rules.length && !user.objects.length) throw e;
        log.warn(`the user chain's rules could not be kept (${(e as Error).message.trim()}); they are dropped:\n${user.rules.join('\n')}`);
        await nftApply(replaceTableScript(sets, maps, this.options, NO_USER_PARTS) + drop);
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
    const want = parseTableListing(await nftRender(whole, TABLE).catch(() => ''));
    return want ? elementDiffScript(live, want) : null;
  }

  async addNetwork(net: NetworkSpec): Promise<void> {
    await this.add(networkElements(net), []);
  }

  async removeNetwork(net: NetworkSpec): Promise<void> {
    await this.remove(networkElements(net), []);
  }

  async publish(ms: PortMapping[]): Promise<void> {
    await this.add([], ms.flatMap((m) => portElements(m)));
  }

  async unpublish(ms: PortMapping[]): Promise<void> {
    await this.remove([], ms.flatMap((m) => portElements(m)));
  }

  private add(sets: SetElem[], maps: MapElem[]): Promise<void> {
    return this.serial.run(async () => {
      const s = sets.filter((e) => !this.elements.has(key(e)));
      const m = maps.filter((e) => !this.elements.has(key(e)));
      if (!s.length && !m.length) return;
      if (!this.starting) await nftApply(addElementsScript(s, m));
      for (const e of [...s, ...m]) this.elements.set(key(e), e);
    });
  }

  private remove(sets: SetElem[], maps: MapElem[]): Promise<void> {
    return this.serial.run(async () => {
      const s = sets.filter((e) => this.elements.has(key(e)));
      const m = maps.filter((e) => this.elements.has(key(e)));
      if (!s.length && !m.length) return;
      if (!this.starting) await nftApply(deleteElementsScript(s, m));
      for (const e of [...s, ...m]) this.elements.delete(key(e));
    });
  }
}

function key(e: SetElem | MapElem): string {
  return `${e[0]}|${e[1]}`;
}

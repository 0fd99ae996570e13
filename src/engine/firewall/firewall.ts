// Applies berth's nftables table (ruleset.ts) and keeps track of which elements are in it, so
// removing something never asks nft to delete an element that is not there (nft 1.0.6 has no
// `destroy`, and a failed delete would abort the whole transaction).
import type { NetworkSpec, PortMapping } from '../types';
import { nftApply } from '../../kernel/nft';
import {
  addElementsScript, deleteElementsScript, networkElements, portElements, resetScript,
} from './ruleset';

type SetElem = [string, string];
type MapElem = [string, string, string];

export class Firewall {
  private readonly present = new Set<string>();

  /** Replace the table with an empty one; the daemon then re-adds what its records say. */
  async init(): Promise<void> {
    await nftApply(resetScript());
    this.present.clear();
  }

  async addNetwork(net: NetworkSpec): Promise<void> {
    await this.add(networkElements(net), []);
  }

  async removeNetwork(net: NetworkSpec): Promise<void> {
    await this.remove(networkElements(net), []);
  }

  async publish(ms: PortMapping[]): Promise<void> {
    await this.add([], ms.flatMap(portElements));
  }

  async unpublish(ms: PortMapping[]): Promise<void> {
    await this.remove([], ms.flatMap(portElements));
  }

  private async add(sets: SetElem[], maps: MapElem[]): Promise<void> {
    const s = sets.filter((e) => !this.present.has(key(e)));
    const m = maps.filter((e) => !this.present.has(key(e)));
    if (!s.length && !m.length) return;
    await nftApply(addElementsScript(s, m));
    for (const e of [...s, ...m]) this.present.add(key(e));
  }

  private async remove(sets: SetElem[], maps: MapElem[]): Promise<void> {
    const s = sets.filter((e) => this.present.has(key(e)));
    const m = maps.filter((e) => this.present.has(key(e)));
    if (!s.length && !m.length) return;
    await nftApply(deleteElementsScript(s, m));
    for (const e of [...s, ...m]) this.present.delete(key(e));
  }
}

function key(e: SetElem | MapElem): string {
  return `${e[0]}|${e[1]}`;
}

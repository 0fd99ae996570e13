// Fair shares of the resolver's TCP connections. Each asker (container) may hold at most
// `perAsker` connections and all askers together `total`, so one container holding hundreds
// of idle connections cannot shut out another network's TCP queries. A new connection over
// a limit takes the place of the least recently active idle connection (no query in
// progress) of that same asker, or at the total limit of the asker holding the most; only
// when none is idle is the newcomer refused. An asker's own fresh query thus still gets
// through while it hoards. Pure: connections are opaque handles.

interface Slot { asker: string; busy: number; seen: number }

export class ConnectionSlots<C> {
  private readonly slots = new Map<C, Slot>();
  private readonly byAsker = new Map<string, Set<C>>();
  private clock = 0;

  constructor(readonly perAsker: number, readonly total: number) {}

  get size(): number { return this.slots.size; }
  count(asker: string): number { return this.byAsker.get(asker)?.size ?? 0; }

  /**
   * A new connection from `asker`. Returns whether it is admitted and which connections the
   * caller must close to make room (already forgotten here).
   */
  admit(asker: string, conn: C): { admitted: boolean; evict: C[] } {
    const evict: C[] = [];
    if (this.count(asker) >= this.perAsker) {
      const v = this.idlest(asker);
      if (v === undefined) return { admitted: false, evict };
      this.release(v);
      evict.push(v);
    }
    if (this.slots.size >= this.total) {
      const v = this.idlest(this.biggest());
      if (v === undefined) return { admitted: false, evict };
      this.release(v);
      evict.push(v);
    }
    this.slots.set(conn, { asker, busy: 0, seen: ++this.clock });
    let set = this.byAsker.get(asker);
    if (!set) { set = new Set(); this.byAsker.set(asker, set); }
    set.add(conn);
    return { admitted: true, evict };
  }

  /** Bytes arrived on `conn`. */
  touch(conn: C): void {
    const s = this.slots.get(conn);
    if (s) s.seen = ++this.clock;
  }

  /** A query on `conn` is being answered (not idle until done()). */
  begin(conn: C): void {
    const s = this.slots.get(conn);
    if (s) { s.busy++; s.seen = ++this.clock; }
  }

  done(conn: C): void {
    const s = this.slots.get(conn);
    if (s) { s.busy = Math.max(0, s.busy - 1); s.seen = ++this.clock; }
  }

  /** The connection closed. */
  release(conn: C): void {
    const s = this.slots.get(conn);
    if (!s) return;
    this.slots.delete(conn);
    const set = this.byAsker.get(s.asker)!;
    set.delete(conn);
    if (!set.size) this.byAsker.delete(s.asker);
  }

  private biggest(): string {
    let best = '', n = -1;
    for (const [asker, set] of this.byAsker) if (set.size > n) { best = asker; n = set.size; }
    return best;
  }

  private idlest(asker: string): C | undefined {
    let best: C | undefined, seen = Infinity;
    for (const c of this.byAsker.get(asker) ?? []) {
      const s = this.slots.get(c)!;
      if (s.busy === 0 && s.seen < seen) { best = c; seen = s.seen; }
    }
    return best;
  }
}

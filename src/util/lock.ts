// Async locks: one holder at a time, the others wait in arrival order. berth decides what must
// be unique (names, subnets, endpoints of a network) while holding one, so two requests that
// race always see each other's decision; slow kernel work happens outside them where it can.

/** Runs `fn`s one after another, per key. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key); });
    return next;
  }

  /** Is anybody holding or waiting for `key`? */
  busy(key: string): boolean { return this.tails.has(key); }
}

/** One lock (a KeyedLock with a single key). */
export class Mutex {
  private readonly lock = new KeyedLock();
  run<T>(fn: () => Promise<T>): Promise<T> { return this.lock.run('', fn); }
}

// berth's embedded state store: one JSON file per object under <data-root>/state/<kind>/.
// Writes go to a temporary file that is fsynced and renamed over the old one (then the
// directory is fsynced), so a crash or a power loss leaves either the old record or the new
// one, never a torn file. Writes of one object are applied in the order they were asked for,
// each from a copy taken when it was asked, so racing writers never interleave or reorder.
// A write that fails (ENOSPC, EIO) leaves the old record and no temporary file behind, and
// says which object it could not write.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { syncDir, writeDurably } from './durable';
import { KeyedLock } from '../util/lock';
import { log } from '../util/log';
import { errnoWords } from '../util/errors';

/** A failed write of the state, worded for the user: what could not be recorded and why. */
export class StoreError extends Error {
  /** `what`: how the user knows the object ("the start of container 0123456789ab"); kind and short id by default. */
  constructor(readonly kind: string, readonly id: string, readonly cause: NodeJS.ErrnoException, what?: string) {
    super(`cannot record ${what ?? `${kind.replace(/s$/, '')} ${id.slice(0, 12)}`} in the state directory: ${cause.code ?? ''}${cause.code ? ': ' : ''}${describe(cause)}`);
  }
}

function describe(e: NodeJS.ErrnoException): string {
  return errnoWords(e.code) ?? e.message.replace(/^[A-Z]+: /, ''); // (the code is said once already)
}

/** Room kept aside for writes that record what has already happened (see `put`'s `fact`). */
const RESERVE_BYTES = 256 * 1024;
const RESERVE_FILE = 'reserve';

function noSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code ?? (e as StoreError)?.cause?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export class Store {
  /** The last write of each object, so the next one waits for it. */
  private readonly tails = new KeyedLock();
  /** Facts that could not be written yet (no space even after the reserve): retried until they are. */
  private readonly pending = new Map<string, { kind: string; id: string; text: string }>();
  private retryTimer: NodeJS.Timeout | null = null;
  private reserveHeld = false;
  /** Only a store whose init() ran keeps a reserve. */
  private useReserve = false;
  private reserving: Promise<void> | null = null;

  constructor(private readonly dir: string) {}

  /**
   * Set aside the reserve: a file of zeros that a write of a fact deletes when the disk is
   * full, so that a container's exit is recorded even then (a change the user asks for is
   * refused instead). Recreated once there is space again.
   */
  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    this.useReserve = true;
    await this.refillReserve();
  }

  private refillReserve(): Promise<void> {
    if (this.reserveHeld) return Promise.resolve();
    this.reserving ??= (async () => {
      const file = path.join(this.dir, RESERVE_FILE);
      try {
        const st = await fs.stat(file).catch(() => null);
        if (st?.size === RESERVE_BYTES) { this.reserveHeld = true; return; }
        const fh = await fs.open(file, 'w');
        try {
          await fh.writeFile(Buffer.alloc(RESERVE_BYTES));
          await fh.sync();
        } finally {
          await fh.close();
        }
        this.reserveHeld = true;
      } catch {
        await fs.rm(file, { force: true }).catch(() => undefined); // no room yet: try after a later write
      }
    })().finally(() => { this.reserving = null; });
    return this.reserving;
  }

  private async releaseReserve(): Promise<boolean> {
    await this.reserving;
    const file = path.join(this.dir, RESERVE_FILE);
    const had = await fs.stat(file).then(() => true, () => false);
    await fs.rm(file, { force: true }).catch(() => undefined);
    this.reserveHeld = false;
    return had;
  }

  private kindDir(kind: string): string { return path.join(this.dir, kind); }

  async loadAll<T>(kind: string): Promise<T[]> {
    const dir = this.kindDir(kind);
    await fs.mkdir(dir, { recursive: true });
    const out: T[] = [];
    for (const f of await fs.readdir(dir)) {
      if (!f.endsWith('.json')) {
        if (f.endsWith('.tmp')) await fs.rm(path.join(dir, f), { force: true }); // a write cut short
        continue;
      }
      try {
        out.push(JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')) as T);
      } catch (e) {
        log.warn(`skipping unreadable state file ${f}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /** One object, or null when there is none (or it cannot be read). */
  async get<T>(kind: string, id: string): Promise<T | null> {
    try {
      return JSON.parse(await fs.readFile(path.join(this.kindDir(kind), `${id}.json`), 'utf8')) as T;
    } catch {
      return null;
    }
  }

  /**
   * Record `obj` as it is now (serialized at once: later changes to it are not written).
   * A change the user asks for fails with a StoreError when the disk is full, and is then not
   * made. `fact: true` is for what has already happened and cannot be refused (a container's
   * process ended): on a full disk the reserve makes room for it, and should even that not
   * do, the write is kept and retried until it succeeds (a later write of the object wins).
   */
  put(kind: string, id: string, obj: unknown, opts: { fact?: boolean; what?: string } = {}): Promise<void> {
    const text = JSON.stringify(obj); // throws before anything is written if obj cannot be saved
    const key = `${kind}/${id}`;
    return this.serial(kind, id, async () => {
      try {
        await this.write(kind, id, text, opts.what);
        this.pending.delete(key); // (a fact still waiting stays if this write fails)
      } catch (e) {
        if (!noSpace(e) || !opts.fact) throw e;
        if (this.useReserve && await this.releaseReserve()) {
          try { await this.write(kind, id, text); return; } catch (again) { if (!noSpace(again)) throw again; }
        }
        this.pending.set(key, { kind, id, text });
        this.scheduleRetry();
        log.warn(`${(e as Error).message}; will write it once there is space`);
        return;
      }
      if (this.useReserve && !this.reserveHeld) void this.refillReserve();
    });
  }

  /**
   * Remove an object. Durable by default: a removal that a power loss undid would bring a
   * removed container or network back. `durable: false` for what may harmlessly come back (a
   * finished intent: the recovery finds its change done and only forgets it).
   */
  delete(kind: string, id: string, opts: { durable?: boolean } = {}): Promise<void> {
    return this.serial(kind, id, async () => {
      this.pending.delete(`${kind}/${id}`);
      await fs.rm(path.join(this.kindDir(kind), `${id}.json`), { force: true });
      if (opts.durable !== false) await syncDir(this.kindDir(kind));
    });
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      for (const [key, w] of [...this.pending]) {
        void this.serial(w.kind, w.id, async () => {
          if (this.pending.get(key) !== w) return; // written or removed since
          try {
            await this.write(w.kind, w.id, w.text);
            this.pending.delete(key);
          } catch { /* still no room */ }
        }).finally(() => { if (this.pending.size) this.scheduleRetry(); else if (this.useReserve) void this.refillReserve(); });
      }
    }, 1000);
    this.retryTimer.unref();
  }

  private serial(kind: string, id: string, op: () => Promise<void>): Promise<void> {
    return this.tails.run(`${kind}/${id}`, op);
  }

  private async write(kind: string, id: string, text: string, what?: string): Promise<void> {
    const dir = this.kindDir(kind);
    try {
      await fs.mkdir(dir, { recursive: true });
      await writeDurably(path.join(dir, `${id}.json`), text);
    } catch (e) {
      throw new StoreError(kind, id, e as NodeJS.ErrnoException, what);
    }
  }
}

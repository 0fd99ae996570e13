// Write-ahead intents: a multi-step change (a container start: namespace, veths, addresses,
// ports, rootfs mount, runc) records what it is about to do before its first side effect and
// clears the record after its last. A berthd killed in between finds the intent at its next
// start and finishes or undoes that change (engine/recovery.ts decides which) before serving.
import { StoreError, type Store } from './store';

const KIND = 'intents';

interface Intent {
  op: 'start';
  container: string;
  at: string;
}

export class Journal {
  constructor(private readonly store: Store) {}

  private key(i: Pick<Intent, 'op' | 'container'>): string { return `${i.op}-${i.container}`; }

  /** Record the intent durably; throws (ENOSPC…) before anything was done. */
  /** `name`: the container's name, for the error a user reads. */
  async begin(op: Intent['op'], container: string, name = container.slice(0, 12)): Promise<Intent> {
    const i: Intent = { op, container, at: new Date().toISOString() };
    try {
      await this.store.put(KIND, this.key(i), i);
    } catch (e) {
      if (e instanceof StoreError) throw new StoreError(KIND, this.key(i), e.cause, `the ${op} of container ${name}`);
      throw e;
    }
    return i;
  }

  /** The change is finished or undone: forget it. */
  async end(i: Intent): Promise<void> {
    // (not fsynced: should a power loss bring it back, the recovery finds the change done)
    await this.store.delete(KIND, this.key(i), { durable: false }).catch(() => undefined);
  }

  /** Intents left by a daemon that died mid-change. */
  pending(): Promise<Intent[]> { return this.store.loadAll<Intent>(KIND); }
}

// berth's embedded state store: one JSON file per object under <data-root>/state/<kind>/.
// Writes go to a temporary file that is fsynced and renamed over the old one, so a crash
// leaves either the old record or the new one, never a torn file.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export class Store {
  constructor(private readonly dir: string) {}

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
        process.stderr.write(`berthd: skipping unreadable state file ${f}: ${(e as Error).message}\n`);
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

  async put(kind: string, id: string, obj: unknown): Promise<void> {
    const dir = this.kindDir(kind);
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, `${id}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(obj));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  }

  async delete(kind: string, id: string): Promise<void> {
    await fs.rm(path.join(this.kindDir(kind), `${id}.json`), { force: true });
  }
}

// Writing a file so that a crash or a power loss leaves the old content or the new one, never a
// torn file or a temporary one: a temporary file beside it, fsynced, renamed over it, and the
// directory fsynced so the rename itself survives. Used for berth's records and its image store.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Replace `file` with `text` durably; on failure the old file stays and no temporary file is
 * left. `tmp`: the temporary file's name when a reader must know it (to sweep one a crash left).
 */
export async function writeDurably(file: string, text: string, tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`): Promise<void> {
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await syncDir(path.dirname(file));
}

/** fsync a directory, so a rename or removal in it survives a power loss. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r').catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}

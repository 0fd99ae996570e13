// Network namespace handles: a namespace is kept alive by bind-mounting it onto a file under
// berth's exec-root (as dockerd does under /var/run/docker/netns), never under /run/netns.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { run } from './exec';

/** Create a fresh network namespace pinned at `file`. */
export async function createNetns(file: string): Promise<void> {
  await fs.writeFile(file, '', { flag: 'a' });
  try {
    // Every namespace gets its loopback up (Docker's --network none has a working lo).
    await run('unshare', [`--net=${file}`, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await fs.rm(file, { force: true });
    throw e;
  }
}

/** Unpin and remove a namespace file; a missing or unmounted file is not an error. */
export async function deleteNetns(file: string): Promise<void> {
  await run('umount', ['--lazy', file], { allowFail: true });
  await fs.rm(file, { force: true });
}

/** The folder that holds the namespace files, made if missing. */
export async function ensureNetnsDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
}

/** The namespace files in `dir` (none when it does not exist). */
export async function listNetnsFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir).catch(() => [] as string[])).map((f) => path.join(dir, f));
}

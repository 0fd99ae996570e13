// What the engine reads of containers' processes and files: `docker top`'s `ps`, and a
// container's own /etc files (another container joining its namespace shares them).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { run, type RunResult } from '../kernel/exec';

/** Run `ps ARGS` on the host; a refusal comes back as its exit code and stderr, not thrown. */
export function ps(args: string[]): Promise<RunResult> {
  return run('ps', args, { allowFail: true });
}

/** One of a container's own files (its hosts, resolv.conf, hostname), or '' when missing. */
export function readContainerFile(root: string, name: string): Promise<string> {
  return fs.readFile(path.join(root, name), 'utf8').catch(() => '');
}

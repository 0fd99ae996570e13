// `berth inspect` (and `container/network/image inspect`): JSON array or --format per object.
import { Client, DaemonError } from './client';
import { Exit, daemonLine } from './errors';
import { parseTemplate } from '../util/gotemplate';
import type { Io } from './containers';
import { stdio } from './containers';

type ObjectType = 'container' | 'image' | 'network';
const ALL_TYPES = ['config', 'container', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];

const enc = encodeURIComponent;

async function fetchOne(client: Client, type: ObjectType, ref: string): Promise<any> {
  switch (type) {
    case 'container': return client.get(`/containers/${enc(ref)}/json`);
    case 'image': return client.get(`/images/${ref.split('/').map(enc).join('/')}/json`);
    case 'network': return client.get(`/networks/${enc(ref)}`);
  }
}

/** Docker's JSON indentation for inspect: 4 spaces, no HTML escaping. */
function inspectJson(items: unknown[]): string {
  if (items.length === 0) return '[]\n';
  return JSON.stringify(items, null, 4) + '\n';
}

export async function cmdInspect(client: Client, refs: string[], opts: { format?: string; type?: string }, io: Io = stdio,
                                 fixedType?: ObjectType): Promise<number> {
  const t = fixedType ?? opts.type;
  if (t !== undefined && !ALL_TYPES.includes(t)) {
    throw new Exit(1, `unknown type: ${JSON.stringify(t)}: must be one of ${ALL_TYPES.map((x) => JSON.stringify(x)).join(', ')}`);
  }
  if (t !== undefined && !['container', 'image', 'network'].includes(t)) throw new Exit(1, `Error: berth has no ${t}s`);
  const tmpl = opts.format ? parseTemplate(opts.format) : null;
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    let obj: unknown;
    if (t) {
      try { obj = await fetchOne(client, t as ObjectType, ref); } catch (e) {
        if (!(e instanceof DaemonError)) throw e;
        errors.push(daemonLine(e));
        continue;
      }
    } else {
      // Without --type, docker tries each kind in turn and reports "No such object".
      for (const kind of ['container', 'image', 'network'] as ObjectType[]) {
        try { obj = await fetchOne(client, kind, ref); break; } catch (e) {
          if (!(e instanceof DaemonError) || e.status !== 404) throw e;
        }
      }
      if (obj === undefined) { errors.push(`Error: No such object: ${ref}`); continue; }
    }
    if (tmpl) {
      try {
        io.out(tmpl.execute(obj) + '\n');
      } catch (e) {
        // docker prints the element's (empty) line, then the error, and fails.
        io.out('\n');
        throw new Exit(1, `template parsing error: ${(e as Error).message}`);
      }
    } else {
      found.push(obj);
    }
  }
  if (!tmpl) io.out(inspectJson(found));
  if (errors.length) throw new Exit(1, errors.join('\n'));
  return 0;
}

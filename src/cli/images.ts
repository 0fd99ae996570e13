// Image commands: images, rmi, tag, import, load.
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, DaemonError, readJsonMessages } from './client';
import { Exit, daemonLine, noSuchFile } from './errors';
import { filtersParam, stdio, type Io } from './containers';
import { goTimeString, humanSize, renderRows, shortId } from './format';
import { humanDuration } from '../util/duration';
import { GO_TYPE } from '../util/gotemplate';

export const IMAGE_HEADERS: Record<string, string> = {
  Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT',
  Size: 'SIZE', Containers: 'CONTAINERS', VirtualSize: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE',
};
export const IMAGE_DEFAULT = '{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

/** One row per repo:tag, as `docker images` lists them. */
export function imageRows(list: any[], trunc: boolean, now: number = Date.now()): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const img of list) {
    const tags: string[] = (img.RepoTags ?? []).length ? img.RepoTags : ['<none>:<none>'];
    for (const rt of tags) {
      const i = rt.lastIndexOf(':');
      const created = new Date((img.Created ?? 0) * 1000);
      const row: Record<string, unknown> = {
        Repository: i > 0 ? rt.slice(0, i) : rt,
        Tag: i > 0 ? rt.slice(i + 1) : '<none>',
        ID: trunc ? shortId(img.Id) : img.Id,
        Digest: (img.RepoDigests ?? [])[0]?.split('@')[1] ?? '<none>',
        CreatedSince: humanDuration(now - created.getTime()) + ' ago',
        CreatedAt: goTimeString(created),
        Size: humanSize(img.Size ?? 0, 3),
        Containers: (img.Containers ?? 0) < 0 ? 'N/A' : String(img.Containers ?? 0),
        VirtualSize: humanSize(img.VirtualSize ?? img.Size ?? 0),
        SharedSize: (img.SharedSize ?? 0) < 0 ? 'N/A' : humanSize(img.SharedSize ?? 0),
        UniqueSize: (img.SharedSize ?? 0) < 0 ? 'N/A' : humanSize((img.Size ?? 0) - (img.SharedSize ?? 0)),
      };
      (row as any)[GO_TYPE] = '*formatter.imageContext';
      rows.push(row);
    }
  }
  return rows;
}

export async function cmdImages(client: Client, repo: string | undefined, o: { quiet?: boolean; format?: string; noTrunc?: boolean; all?: boolean; filter?: string[] }, io: Io = stdio): Promise<number> {
  const filters = filtersParam([...(o.filter ?? []), ...(repo ? [`reference=${repo}`] : [])]);
  const list: any[] = await client.get('/images/json', { all: o.all ? 1 : undefined, filters });
  list.sort((a, b) => (b.Created ?? 0) - (a.Created ?? 0));
  // The daemon applies the filters (the REPOSITORY argument is a reference filter, as in Docker's CLI).
  const rows = imageRows(list, (o as any).trunc !== false);
  if (o.quiet && !o.format) {
    const seen = new Set<string>();
    for (const r of rows) if (!seen.has(r.ID as string)) { seen.add(r.ID as string); io.out(r.ID + '\n'); }
    return 0;
  }
  io.out(renderRows(rows, { format: o.format ?? 'table', defaultTable: IMAGE_DEFAULT, headers: IMAGE_HEADERS }));
  return 0;
}

export async function cmdRmi(client: Client, refs: string[], o: { force?: boolean }, io: Io = stdio): Promise<number> {
  let code = 0;
  for (const ref of refs) {
    try {
      const r: Array<{ Untagged?: string; Deleted?: string }> = await client.json('DELETE', `/images/${ref.split('/').map(encodeURIComponent).join('/')}`, { query: { force: o.force ? 1 : undefined } });
      for (const x of r ?? []) {
        if (x.Untagged) io.out(`Untagged: ${x.Untagged}\n`);
        if (x.Deleted) io.out(`Deleted: ${x.Deleted}\n`);
      }
    } catch (e) {
      if (!(e instanceof DaemonError)) throw e;
      io.err(daemonLine(e) + '\n');
      code = 1;
    }
  }
  return code;
}

export function splitRef(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

export async function cmdTag(client: Client, source: string, target: string): Promise<number> {
  const { repo, tag } = splitRef(target);
  await client.request('POST', `/images/${source.split('/').map(encodeURIComponent).join('/')}/tag`, { query: { repo, tag } });
  return 0;
}

function openInput(file: string): Readable {
  if (file === '-') return process.stdin;
  if (!fs.existsSync(file)) throw new Exit(1, noSuchFile(file));
  return fs.createReadStream(file);
}

export async function cmdImport(client: Client, file: string, ref: string | undefined, o: { change?: string[]; message?: string }, io: Io = stdio): Promise<number> {
  let repo: string | undefined;
  let tag: string | undefined;
  if (ref) ({ repo, tag } = splitRef(ref));
  const res = await client.stream('POST', '/images/create', {
    query: { fromSrc: '-', repo, tag, message: o.message, changes: o.change ?? [] },
    stream: openInput(file),
  });
  const msgs = await readJsonMessages(res);
  for (const m of msgs) if (m.status) io.out(m.status + '\n');
  return 0;
}

export async function cmdLoad(client: Client, o: { input?: string; quiet?: boolean }, io: Io = stdio): Promise<number> {
  if (!o.input && process.stdin.isTTY) {
    throw new Exit(1, 'requested load from stdin, but stdin is empty');
  }
  const res = await client.stream('POST', '/images/load', { query: { quiet: o.quiet ? 1 : undefined }, stream: openInput(o.input ?? '-') });
  const msgs = await readJsonMessages(res);
  for (const m of msgs) if (m.stream) io.out(m.stream);
  return 0;
}

/** `berth pull NAME[:TAG]`: Docker's progress lines, then the reference pulled. */
export async function cmdPull(client: Client, ref: string, o: { quiet?: boolean }, io: Io = stdio): Promise<number> {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : colon > slash ? ref.slice(0, colon) : ref;
  const tag = at >= 0 ? ref.slice(at + 1) : colon > slash ? ref.slice(colon + 1) : 'latest';
  const res = await client.stream('POST', '/images/create', { query: { fromImage: name, tag } });
  const msgs = await readJsonMessages(res);
  for (const m of msgs) {
    if (m.error) throw new Exit(1, m.error);
    if (!o.quiet && m.status) io.out(m.id ? `${m.id}: ${m.status}\n` : `${m.status}\n`);
  }
  const familiar = name.replace(/^(docker\.io\/)?library\//, '');
  io.out(`${at >= 0 ? `${familiar}@${tag}` : `${familiar}:${tag}`}\n`);
  return 0;
}

/** `berth save [-o FILE] IMAGE...`: a `docker load` archive to FILE or stdout. */
export async function cmdSave(client: Client, refs: string[], o: { output?: string }): Promise<number> {
  if (!o.output && process.stdout.isTTY) {
    throw new Exit(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
  }
  const res = await client.stream('GET', '/images/get', { query: { names: refs } });
  const dest = o.output ? fs.createWriteStream(o.output) : process.stdout;
  await pipeline(res, dest);
  return 0;
}


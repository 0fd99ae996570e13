// Container commands: run, create, start, stop, kill, restart, rm, ps, logs, exec, port,
// rename, wait, prune. Each talks only to the Engine API through Client.
import { Client, DaemonError, copyOutput } from './client';
import { pumpSession, watchResize } from './attach';
import { Exit, UsageError, daemonLine } from './errors';
import { buildCreate, withLatest, type RunOptions } from './runopts';
import { ellipsis, goTimeString, humanSize, renderRows, shortId } from './format';
import { humanDuration } from '../util/duration';
import { GO_TYPE } from '../util/gotemplate';
import { formatPortLines, formatPortsColumn, noPublicPort } from './ports';

export interface Io { out: (s: string) => void; err: (s: string) => void }

export const stdio: Io = {
  out: (s) => { process.stdout.write(s); },
  err: (s) => { process.stderr.write(s); },
};

const enc = encodeURIComponent;

// ------------------------------------------------------------------ create / run

async function createContainer(client: Client, opts: RunOptions, image: string, cmd: string[], io: Io): Promise<string> {
  const req = buildCreate(opts, image, cmd);
  const doCreate = () => client.json<{ Id: string; Warnings?: string[] }>('POST', '/containers/create', { query: { name: req.name }, body: req.body });
  let res: { Id: string; Warnings?: string[] };
  try {
    res = await doCreate();
  } catch (e) {
    if (e instanceof DaemonError && e.status === 404 && /no such image/i.test(e.message)) {
      // docker would pull here; berth has no registry, so the pull's failure is the answer.
      io.err(`Unable to find image '${withLatest(image)}' locally\n`);
      await client.request('POST', '/images/create', { query: { fromImage: image.replace(/:[^/:]*$/, ''), tag: image.match(/:([^/:]*)$/)?.[1] ?? 'latest' } });
      res = await doCreate();
    } else {
      throw e;
    }
  }
  for (const w of res.Warnings ?? []) io.err(`WARNING: ${w}\n`);
  return res.Id;
}

export async function cmdCreate(client: Client, opts: RunOptions, image: string, cmd: string[], io: Io = stdio): Promise<number> {
  const id = await createContainer(client, opts, image, cmd, io);
  io.out(id + '\n');
  return 0;
}

/** docker's exit code for a start that failed: 126/127 when the command cannot run. */
function startFailureCode(msg: string): number {
  if (/executable file not found|no such file or directory|not found in \$PATH/i.test(msg)) return 127;
  if (/permission denied|cannot execute/i.test(msg)) return 126;
  return 125;
}

export async function cmdRun(client: Client, opts: RunOptions, image: string, cmd: string[], io: Io = stdio): Promise<number> {
  if (opts.detach && opts.attach?.length) throw new UsageError('Conflicting options: -a and -d');
  if (opts.interactive && opts.tty && !opts.detach && !process.stdin.isTTY) {
    throw new Exit(1, 'the input device is not a TTY');
  }
  const id = await createContainer(client, opts, image, cmd, io);
  const cpath = `/containers/${id}`;
  if (opts.detach) {
    try {
      await client.request('POST', `${cpath}/start`);
    } catch (e) {
      if (e instanceof DaemonError) throw new Exit(startFailureCode(e.message), `berth: ${daemonLine(e)}\n\nRun 'berth run --help' for more information`);
      throw e;
    }
    io.out(id + '\n');
    return 0;
  }
  const tty = !!opts.tty;
  const stdin = !!opts.interactive;
  const attach = opts.attach ?? [];
  const wantOut = attach.length === 0 || attach.includes('stdout');
  const wantErr = attach.length === 0 || attach.includes('stderr');
  const session = await client.hijack(`${cpath}/attach`, {
    query: { stream: 1, stdin: stdin ? 1 : 0, stdout: wantOut ? 1 : 0, stderr: wantErr ? 1 : 0 },
  });
  // Register the wait before starting so a quick exit (or --rm removal) is not missed.
  const waitCond = opts.rm ? 'removed' : 'next-exit';
  const waitP = client.json<{ StatusCode: number; Error?: { Message: string } | null }>('POST', `${cpath}/wait`, { query: { condition: waitCond } });
  waitP.catch(() => undefined);
  try {
    await client.request('POST', `${cpath}/start`);
  } catch (e) {
    session.socket.destroy();
    if (e instanceof DaemonError) {
      throw new Exit(startFailureCode(e.message), `berth: ${daemonLine(e)}\n\nRun 'berth run --help' for more information`);
    }
    throw e;
  }
  const stopResize = tty ? watchResize(client, `${cpath}/resize`) : () => undefined;
  const unproxy = tty ? () => undefined : proxySignals(client, id);
  try {
    await pumpSession(session, { stdin, tty });
  } finally {
    stopResize();
    unproxy();
  }
  try {
    const w = await waitP;
    if (w.Error?.Message) io.err(`berth: ${w.Error.Message}\n`);
    return w.StatusCode;
  } catch (e) {
    if (e instanceof DaemonError && opts.rm && e.status === 404) return 0;
    throw e;
  }
}

/** Forwards SIGINT/SIGTERM to the container as docker's --sig-proxy does. */
function proxySignals(client: Client, id: string): () => void {
  const handlers: Array<[NodeJS.Signals, () => void]> = (['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as NodeJS.Signals[])
    .map((sig) => [sig, () => { client.request('POST', `/containers/${id}/kill`, { query: { signal: sig } }).catch(() => undefined); }]);
  for (const [sig, h] of handlers) process.on(sig, h);
  return () => { for (const [sig, h] of handlers) process.removeListener(sig, h); };
}

// ------------------------------------------------------------------ lifecycle

export async function cmdStart(client: Client, names: string[], opts: { attach?: boolean; interactive?: boolean }, io: Io = stdio): Promise<number> {
  if ((opts.attach || opts.interactive) && names.length > 1) {
    throw new Exit(1, 'Error: you cannot start and attach multiple containers at once');
  }
  if (opts.attach || opts.interactive) {
    const name = names[0];
    const c = await client.get(`/containers/${enc(name)}/json`);
    const tty = !!c.Config?.Tty;
    const stdin = !!opts.interactive && !!c.Config?.OpenStdin;
    const session = await client.hijack(`/containers/${enc(name)}/attach`, { query: { stream: 1, stdin: stdin ? 1 : 0, stdout: 1, stderr: 1 } });
    const waitP = client.json('POST', `/containers/${enc(name)}/wait`, { query: { condition: c.HostConfig?.AutoRemove ? 'removed' : 'next-exit' } });
    waitP.catch(() => undefined);
    await client.request('POST', `/containers/${enc(name)}/start`);
    const stopResize = tty ? watchResize(client, `/containers/${enc(name)}/resize`) : () => undefined;
    try { await pumpSession(session, { stdin, tty }); } finally { stopResize(); }
    try { return (await waitP).StatusCode ?? 0; } catch { return 0; }
  }
  const failed: string[] = [];
  for (const n of names) {
    try {
      await client.request('POST', `/containers/${enc(n)}/start`);
      io.out(n + '\n');
    } catch (e) {
      if (!(e instanceof DaemonError)) throw e;
      io.err(daemonLine(e) + '\n');
      failed.push(n);
    }
  }
  if (failed.length) throw new Exit(1, `Error: failed to start containers: ${failed.join(', ')}`);
  return 0;
}

/** Runs one request per name, printing the name on success and docker's line on failure. */
async function eachName(names: string[], io: Io, fn: (n: string) => Promise<unknown>): Promise<number> {
  let code = 0;
  for (const n of names) {
    try {
      await fn(n);
      io.out(n + '\n');
    } catch (e) {
      if (!(e instanceof DaemonError)) throw e;
      io.err(daemonLine(e) + '\n');
      code = 1;
    }
  }
  return code;
}

export const cmdStop = (client: Client, names: string[], opts: { time?: string; timeout?: string; signal?: string }, io: Io = stdio) =>
  eachName(names, io, (n) => client.request('POST', `/containers/${enc(n)}/stop`, { query: { t: opts.time ?? opts.timeout, signal: opts.signal } }));

export const cmdRestart = (client: Client, names: string[], opts: { time?: string; signal?: string }, io: Io = stdio) =>
  eachName(names, io, (n) => client.request('POST', `/containers/${enc(n)}/restart`, { query: { t: opts.time, signal: opts.signal } }));

export const cmdKill = (client: Client, names: string[], opts: { signal?: string }, io: Io = stdio) =>
  eachName(names, io, (n) => client.request('POST', `/containers/${enc(n)}/kill`, { query: { signal: opts.signal } }));

// A link is named LINKER/ALIAS: its slash stays a path separator, as the docker CLI sends it.
export const cmdRm = (client: Client, names: string[], opts: { force?: boolean; volumes?: boolean; link?: boolean }, io: Io = stdio) =>
  eachName(names, io, (n) => client.request('DELETE', `/containers/${opts.link ? n.split('/').map(enc).join('/') : enc(n)}`,
    { query: { force: opts.force ? 1 : undefined, v: opts.volumes ? 1 : undefined, link: opts.link ? 1 : undefined } }));

export async function cmdRename(client: Client, from: string, to: string): Promise<number> {
  try {
    await client.request('POST', `/containers/${enc(from)}/rename`, { query: { name: to } });
  } catch (e) {
    if (e instanceof DaemonError) throw new Exit(1, `${daemonLine(e)}\nError: failed to rename container named ${from}`);
    throw e;
  }
  return 0;
}

export async function cmdWait(client: Client, names: string[], io: Io = stdio): Promise<number> {
  let code = 0;
  for (const n of names) {
    try {
      const r = await client.json('POST', `/containers/${enc(n)}/wait`);
      io.out(`${r.StatusCode}\n`);
    } catch (e) {
      if (!(e instanceof DaemonError)) throw e;
      io.err(daemonLine(e) + '\n');
      code = 1;
    }
  }
  return code;
}

export async function cmdPrune(client: Client, opts: { force?: boolean; filter?: string[] }, io: Io = stdio): Promise<number> {
  if (!opts.force && !(await confirm('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ', io))) return 0;
  const r = await client.json('POST', '/containers/prune', { query: { filters: filtersParam(opts.filter) } });
  const del: string[] = r.ContainersDeleted ?? [];
  if (del.length) io.out('Deleted Containers:\n' + del.map((d) => d + '\n').join('') + '\n');
  io.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
  return 0;
}

export async function confirm(prompt: string, io: Io): Promise<boolean> {
  io.out(prompt);
  const line = await new Promise<string>((resolve) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString();
      if (buf.includes('\n')) { done(); }
    };
    const done = () => { process.stdin.removeListener('data', onData); process.stdin.pause(); resolve(buf.split('\n')[0]); };
    process.stdin.on('data', onData);
    process.stdin.once('end', done);
    process.stdin.resume();
  });
  return /^y(es)?$/i.test(line.trim());
}

/** --filter k=v (repeatable) → the API's JSON filters. */
export function filtersParam(list: string[] | undefined): string | undefined {
  if (!list?.length) return undefined;
  const f: Record<string, string[]> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`bad format of filter (expected name=value)`);
    (f[kv.slice(0, i).trim().toLowerCase()] ??= []).push(kv.slice(i + 1));
  }
  return JSON.stringify(f);
}

// ------------------------------------------------------------------ ps

const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
  Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Label: 'LABEL',
  Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS', Platform: 'PLATFORM',
};
const PS_DEFAULT = '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** Go's strconv.Quote for the strings docker shows (ASCII, common escapes). */
export function goQuote(s: string): string {
  return '"' + s.replace(/[\\"\x00-\x1f\x7f]/g, (c) => {
    switch (c) {
      case '\\': return '\\\\';
      case '"': return '\\"';
      case '\n': return '\\n';
      case '\t': return '\\t';
      case '\r': return '\\r';
      default: return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
    }
  }) + '"';
}

/** The row object docker's ContainerContext exposes to --format. */
function psRow(c: any, trunc: boolean, now: number = Date.now()): Record<string, unknown> {
  const names: string[] = (c.Names ?? []).map((n: string) => n.replace(/^\//, ''));
  // Link names contain a slash; docker shows only the container's own name unless --no-trunc.
  const shown = trunc ? names.filter((n) => !n.includes('/')).slice(0, 1) : names;
  let image: string = c.Image ?? '';
  if (trunc && image.startsWith('sha256:')) image = shortId(image);
  else if (trunc) image = image.replace(/@sha256:[0-9a-f]+$/, '');
  const labels: Record<string, string> = c.Labels ?? {};
  const created = new Date((c.Created ?? 0) * 1000);
  const row: Record<string, unknown> = {
    ID: trunc ? shortId(c.Id) : c.Id,
    Image: image,
    Command: goQuote(trunc ? ellipsis(c.Command ?? '', 20) : c.Command ?? ''),
    CreatedAt: goTimeString(created),
    RunningFor: humanDuration(now - created.getTime()) + ' ago',
    Ports: formatPortsColumn(c.Ports ?? []),
    State: c.State ?? '',
    Status: c.Status ?? '',
    Size: humanSize(c.SizeRw ?? 0, 3),
    Names: shown.join(','),
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    Mounts: (c.Mounts ?? []).map((m: any) => m.Name || m.Source || '').join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m: any) => m.Driver === 'local').length),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    Platform: null,
    Label: (name: string) => labels[name] ?? '',
  };
  (row as any)[GO_TYPE] = '*formatter.ContainerContext';
  return row;
}

export async function cmdPs(client: Client, opts: { all?: boolean; quiet?: boolean; noTrunc?: boolean; filter?: string[]; format?: string; last?: string; latest?: boolean; size?: boolean }, io: Io = stdio): Promise<number> {
  const limit = opts.latest ? 1 : opts.last !== undefined ? Number(opts.last) : undefined;
  const list: any[] = await client.get('/containers/json', {
    all: opts.all || (limit !== undefined && limit > 0) ? 1 : undefined, limit: limit && limit > 0 ? limit : undefined,
    filters: filtersParam(opts.filter),
  });
  const trunc = (opts as any).trunc !== false;
  if (opts.quiet && !opts.format) {
    io.out(list.map((c) => (trunc ? shortId(c.Id) : c.Id) + '\n').join(''));
    return 0;
  }
  const rows = list.map((c) => psRow(c, trunc));
  io.out(renderRows(rows, { format: opts.format ?? 'table', defaultTable: PS_DEFAULT, headers: PS_HEADERS }));
  return 0;
}

// ------------------------------------------------------------------ logs

export async function cmdLogs(client: Client, name: string, opts: { follow?: boolean; tail?: string; timestamps?: boolean }, io: Io = stdio): Promise<number> {
  void io;
  const c = await client.get(`/containers/${enc(name)}/json`);
  const res = await client.stream('GET', `/containers/${enc(name)}/logs`, {
    query: { stdout: 1, stderr: 1, follow: opts.follow ? 1 : undefined, tail: opts.tail ?? 'all', timestamps: opts.timestamps ? 1 : undefined },
  });
  const mux = String(res.headers['content-type'] ?? '').includes('multiplexed') || (!res.headers['content-type'] && !c.Config?.Tty);
  await copyOutput(res, mux && !c.Config?.Tty ? true : mux, process.stdout, process.stderr);
  return 0;
}

// ------------------------------------------------------------------ exec

interface ExecOptions { interactive?: boolean; tty?: boolean; env?: string[]; workdir?: string; user?: string; detach?: boolean; privileged?: boolean }

export async function cmdExec(client: Client, name: string, cmd: string[], opts: ExecOptions, io: Io = stdio): Promise<number> {
  void io;
  if (opts.interactive && opts.tty && !opts.detach && !process.stdin.isTTY) throw new Exit(1, 'the input device is not a TTY');
  const body = {
    User: opts.user ?? '', Privileged: !!opts.privileged, Tty: !!opts.tty,
    AttachStdin: !opts.detach && !!opts.interactive, AttachStderr: !opts.detach, AttachStdout: !opts.detach,
    Detach: !!opts.detach, DetachKeys: '', Env: opts.env ?? [], WorkingDir: opts.workdir ?? '', Cmd: cmd,
  };
  const { Id } = await client.json('POST', `/containers/${enc(name)}/exec`, { body });
  if (opts.detach) {
    await client.request('POST', `/exec/${Id}/start`, { body: { Detach: true, Tty: !!opts.tty } });
    return 0;
  }
  const session = await client.hijack(`/exec/${Id}/start`, { body: { Detach: false, Tty: !!opts.tty } });
  const stopResize = opts.tty ? watchResize(client, `/exec/${Id}/resize`) : () => undefined;
  try { await pumpSession(session, { stdin: !!opts.interactive, tty: !!opts.tty }); } finally { stopResize(); }
  // The exit code is recorded a moment after the output ends: poll until it is.
  for (let i = 0; i < 100; i++) {
    const info = await client.get(`/exec/${Id}/json`);
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode;
    await new Promise((r) => setTimeout(r, 20));
  }
  return 0;
}

// ------------------------------------------------------------------ port

export async function cmdPort(client: Client, name: string, port: string | undefined, io: Io = stdio): Promise<number> {
  const c = await client.get(`/containers/${enc(name)}/json`);
  const ports = c.NetworkSettings?.Ports ?? {};
  if (port !== undefined) {
    const [num, proto] = port.split('/');
    if (!/^\d+$/.test(num)) throw new Exit(1, `Error: invalid port (${num}): strconv.ParseUint: parsing ${JSON.stringify(num)}: invalid syntax`);
    void proto;
    const lines: string[] = formatPortLines(ports, port);
    if (lines.length === 0) throw new Exit(1, noPublicPort(port, name));
    io.out(lines.map((l: string) => l + '\n').join(''));
    return 0;
  }
  io.out((formatPortLines(ports) as string[]).map((l: string) => l + '\n').join(''));
  return 0;
}

// nftables: every change is one transaction, applied whole or not at all.
//
// berthd calls libnftables (the library the `nft` program is a front end of) in its own
// process, through koffi, rather than running `nft -f -`: a script costs about 0.2 ms instead of
// the 5-15 ms of starting a program from a large Node.js process, and attaching a container or
// creating a network runs one or two. The script, its parsing, its error messages and the
// listings are exactly the nft program's. The calls run on koffi's worker threads, one at a
// time (a libnftables context is not thread-safe); berthd's threads never leave its network
// namespace (setns is done only by berth-dns and berth-relay), so they act on the host's.
// BERTH_NFT=program makes berthd run the nft program instead (the crash tests use it to stop
// berthd at an exact nft transaction; `--debug` shows the same scripts either way).
import { run } from './exec';
import { log } from '../util/log';

interface NftLib {
  ctx: unknown;
  runCmd: { async(ctx: unknown, script: string, cb: (err: unknown, rc: number) => void): void };
  output(ctx: unknown): string;
  error(ctx: unknown): string;
}

let lib: NftLib | null | undefined;
/** libnftables, loaded on first use (null: use the nft program). */
function nftLib(): NftLib | null {
  if (lib !== undefined) return lib;
  if (process.env.BERTH_NFT === 'program') return (lib = null);
  const koffi = require('koffi');
  const so = koffi.load('libnftables.so.1');
  const ctx = so.func('void *nft_ctx_new(uint32_t flags)')(0);
  if (!ctx) throw new Error('libnftables: nft_ctx_new failed');
  // Output and errors into buffers, as the program would print them.
  so.func('int nft_ctx_buffer_output(void *ctx)')(ctx);
  so.func('int nft_ctx_buffer_error(void *ctx)')(ctx);
  lib = {
    ctx,
    runCmd: so.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)'),
    output: so.func('const char *nft_ctx_get_output_buffer(void *ctx)'),
    error: so.func('const char *nft_ctx_get_error_buffer(void *ctx)'),
  };
  return lib;
}

/** One script at a time through the one context. */
let queue: Promise<unknown> = Promise.resolve();

/** Run an nft script in-process: its output, or its error text and false. */
function libRun(l: NftLib, script: string): Promise<{ ok: boolean; out: string; err: string }> {
  const next = queue.then(() => new Promise<{ ok: boolean; out: string; err: string }>((resolve, reject) => {
    l.runCmd.async(l.ctx, script, (e, rc) => {
      if (e) { reject(e); return; }
      // Each read empties its buffer for the next script.
      resolve({ ok: rc === 0, out: l.output(l.ctx) ?? '', err: l.error(l.ctx) ?? '' });
    });
  }));
  queue = next.catch(() => undefined);
  return next;
}

export async function nftApply(script: string): Promise<void> {
  if (!script.trim()) return;
  const l = nftLib();
  if (!l) { await run('nft', ['-f', '-'], { input: script }); return; }
  log.debug('nft -f - (libnftables)', script);
  const r = await libRun(l, script);
  if (!r.ok) throw new Error(`nft -f -: ${r.err.trim() || 'failed'}`);
}

/** `nft list table FAMILY NAME`; '' when there is no such table. */
export async function nftList(table: string): Promise<string> {
  const l = nftLib();
  if (!l) return (await run('nft', ['list', 'table', ...table.split(' ')], { allowFail: true })).stdout;
  const r = await libRun(l, `list table ${table}`);
  return r.ok ? r.out : '';
}

/**
 * How the kernel would list `table` once `script` is applied, without applying it here: the
 * script runs in a network namespace of its own, made for this and gone when nft exits. (The
 * kernel's listing is the one way to compare a table with the one in force: it writes
 * addresses, intervals and rules in its own canonical form.)
 */
export async function nftRender(script: string, table: string): Promise<string> {
  const r = await run('unshare', ['--net', '--', 'sh', '-c', 'nft -f - && exec nft list table "$1" "$2"', 'sh',
    ...table.split(' ')], { input: script });
  return r.stdout;
}

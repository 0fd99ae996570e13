// nftables: every change is one `nft -f -` transaction, applied whole or not at all.
import { run } from './exec';

export async function nftApply(script: string): Promise<void> {
  if (!script.trim()) return;
  await run('nft', ['-f', '-'], { input: script });
}

/** `nft list table FAMILY NAME`; '' when there is no such table. */
export async function nftList(table: string): Promise<string> {
  const r = await run('nft', ['list', 'table', ...table.split(' ')], { allowFail: true });
  return r.stdout;
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

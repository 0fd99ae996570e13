// nftables: every change is one `nft -f -` transaction, applied whole or not at all.
import { run } from './exec';

export async function nftApply(script: string): Promise<void> {
  if (!script.trim()) return;
  await run('nft', ['-f', '-'], { input: script });
}

export async function nftList(table: string): Promise<string> {
  const r = await run('nft', ['list', 'table', ...table.split(' ')], { allowFail: true });
  return r.stdout;
}

// Kernel settings through /proc/sys (no exec needed).
import { promises as fs } from 'node:fs';
import { log } from '../util/log';

export async function setSysctl(key: string, value: string): Promise<void> {
  const file = `/proc/sys/${key.replace(/\./g, '/')}`;
  const cur = await fs.readFile(file, 'utf8').catch(() => null);
  if (cur !== null && cur.trim() === value) return;
  log.debug(`sysctl: ${key}=${value}`);
  await fs.writeFile(file, value);
}

/** Interface names may contain dots; sysctl paths under conf/<ifname>/ keep them as is. */
export async function setIfSysctl(ifname: string, key: string, value: string): Promise<void> {
  const file = `/proc/sys/net/ipv4/conf/${ifname}/${key}`;
  // Written only when it differs: a restarted daemon changes nothing that is already right.
  const cur = await fs.readFile(file, 'utf8').catch(() => null);
  if (cur !== null && cur.trim() === value) return;
  log.debug(`sysctl: net.ipv4.conf.${ifname}.${key}=${value}`);
  await fs.writeFile(file, value);
}

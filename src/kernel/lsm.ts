// Which Linux security modules this kernel runs (read once: it cannot change while running).
import { readFileSync } from 'node:fs';

let apparmor: boolean | undefined;

/** True when AppArmor is built in and enabled (as runc and dockerd check it). */
export function apparmorEnabled(): boolean {
  if (apparmor === undefined) {
    try { apparmor = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y'; } catch { apparmor = false; }
  }
  return apparmor;
}

// The host's own configuration files that berth reads: resolv.conf (a container's upstreams,
// a host-mode container's resolv.conf), hosts, os-release (`info`) and group (the API
// socket's group). Each read is of the machine as it is now; an unreadable file reads as absent.
import { promises as fs, readFileSync } from 'node:fs';

/** /etc/resolv.conf, or '' when there is none. */
export function hostResolvConf(): Promise<string> {
  return fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
}

/** /etc/hosts, or null when there is none. */
export function hostHosts(): Promise<string | null> {
  return fs.readFile('/etc/hosts', 'utf8').catch(() => null);
}

/** /etc/os-release, or '' when there is none. */
export function osRelease(): Promise<string> {
  return fs.readFile('/etc/os-release', 'utf8').catch(() => '');
}

/** /etc/group, or null when it cannot be read. */
export function etcGroup(): string | null {
  try { return readFileSync('/etc/group', 'utf8'); } catch { return null; }
}

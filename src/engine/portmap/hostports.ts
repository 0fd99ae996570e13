// Which host ports are taken, per protocol, in memory. A port bound on 0.0.0.0 conflicts with
// the same port on any IPv4 address and vice versa, :: likewise for IPv6; two different
// specific addresses, or two addresses of different families, do not conflict. Free ports are picked as Docker's port allocator does: round-robin from just after
// the last port handed out, so a released port is not reused at once (stale conntrack entries)
// and the common case looks at one or two ports, not the whole range.
import { ApiError } from '../../util/errors';
import { Proto } from '../types';

export const EPHEMERAL_RANGE: [number, number] = [32768, 60999];
const ANY = '0.0.0.0';
const ANY6 = '::';

const norm = (ip: string) => (ip === '' ? ANY : ip);
const anyOf = (ip: string) => (ip.includes(':') ? ANY6 : ANY);

// Docker's text joins address and port without brackets ("Bind for :::8080 failed").
const portInUse = (hostIp: string, port: number) =>
  new ApiError(409, `Bind for ${norm(hostIp)}:${port} failed: port is already allocated`);
const allPortsAllocated = () => new ApiError(409, 'all ports are allocated');

export class HostPortAllocator {
  // "tcp/8080" -> addresses holding it ("0.0.0.0" or specific ones)
  private readonly taken = new Map<string, Set<string>>();
  // "tcp 32768-60999" -> last port handed out from that range
  private readonly last = new Map<string, number>();

  /** Is the port free for `hostIp` (considering the 0.0.0.0 and :: rules)? */
  isFree(proto: Proto, hostIp: string, port: number): boolean {
    const ips = this.taken.get(`${proto}/${port}`);
    if (!ips || ips.size === 0) return true;
    const ip = norm(hostIp);
    const any = anyOf(ip);
    const same = [...ips].filter((x) => anyOf(x) === any);
    if (same.length === 0) return true;
    return ip !== any && !ips.has(any) && !ips.has(ip);
  }

  /** Does berth hold this port on some address (then its own relay may be listening there)? */
  held(proto: Proto, port: number): boolean {
    return (this.taken.get(`${proto}/${port}`)?.size ?? 0) > 0;
  }

  /** Takes a given port; throws Docker's "Bind for IP:PORT failed" error when it is taken. */
  reserve(proto: Proto, hostIp: string, port: number): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ApiError(400, `invalid host port: ${port}`);
    if (!this.isFree(proto, hostIp, port)) throw portInUse(hostIp, port);
    const key = `${proto}/${port}`;
    let ips = this.taken.get(key);
    if (!ips) this.taken.set(key, (ips = new Set()));
    ips.add(norm(hostIp));
  }

  /** Takes ports start..start+count-1 all or none (a published range). */
  reserveRange(proto: Proto, hostIp: string, start: number, count: number): void {
    const end = start + count - 1;
    if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 1 && count >= 1 && end <= 65535))
      throw new ApiError(400, `invalid host port range: ${start}-${end}`);
    for (let p = start; p <= end; p++) if (!this.isFree(proto, hostIp, p)) throw portInUse(hostIp, p);
    for (let p = start; p < start + count; p++) this.reserve(proto, hostIp, p);
  }

  /**
   * Picks and takes a free port of `range` (default: the ephemeral range). `isFreeOnHost`
   * lets the caller skip ports some other program already listens on.
   */
  allocate(
    proto: Proto,
    hostIp: string,
    range: [number, number] = EPHEMERAL_RANGE,
    isFreeOnHost?: (proto: Proto, port: number) => boolean,
  ): number {
    const [lo, hi] = range;
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi <= 65535 && lo <= hi))
      throw new ApiError(400, `invalid host port range: ${lo}-${hi}`);
    const rkey = `${proto} ${lo}-${hi}`;
    let port = this.last.get(rkey) ?? hi;
    for (let i = 0; i <= hi - lo; i++) {
      port = port >= hi ? lo : port + 1;
      if (this.isFree(proto, hostIp, port) && (!isFreeOnHost || isFreeOnHost(proto, port))) {
        this.last.set(rkey, port);
        this.reserve(proto, hostIp, port);
        return port;
      }
    }
    throw allPortsAllocated();
  }

  release(proto: Proto, hostIp: string, port: number): void {
    const key = `${proto}/${port}`;
    const ips = this.taken.get(key);
    if (!ips) return;
    ips.delete(norm(hostIp));
    if (ips.size === 0) this.taken.delete(key);
  }

  releaseRange(proto: Proto, hostIp: string, start: number, count: number): void {
    for (let p = start; p < start + count; p++) this.release(proto, hostIp, p);
  }
}

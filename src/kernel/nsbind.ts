// Sockets that live inside another network namespace, made by berthd itself: the main thread
// enters the namespace with setns(2), creates and binds the sockets, and goes back at once.
// A socket stays in the namespace it was made in, so berthd can then serve it like any other.
// This is how the embedded resolver listens on 127.0.0.11 inside each container (as Docker's
// does): its packets never leave the container's loopback, no veth, bridge or conntrack on the
// way. Node has no setns, socket or bind on raw fds, so libc is called through koffi; the
// sockets are handed to dgram / net by fd. Everything between the two setns calls is
// synchronous, so no other JavaScript ever runs inside the container's namespace.
import { closeSync, openSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { libc as load, type Libc, type SockaddrIn } from './libc';
import { log } from '../util/log';

const CLONE_NEWNET = 0x40000000;
const AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000;

interface BoundSocket { fd: number; port: number }

/**
 * A UDP socket and a listening TCP socket on `address` (port chosen by the kernel) inside the
 * namespace pinned at `netnsPath`. Either both are made or neither (nothing left open).
 */
export function bindInNetns(netnsPath: string, address: string): { udp: BoundSocket; tcp: BoundSocket } {
  const c = load();
  const made: number[] = [];
  const home = openSync('/proc/thread-self/ns/net', 'r');
  let target: number | undefined;
  try {
    target = openSync(netnsPath, 'r');
    if (c.setns(target, CLONE_NEWNET) !== 0) throw sysError('setns', c.errno(), netnsPath);
    let udp: BoundSocket, tcp: BoundSocket;
    try {
      udp = open(c, SOCK_DGRAM, address, made);
      tcp = open(c, SOCK_STREAM, address, made);
      if (c.listen(tcp.fd, 128) !== 0) throw sysError('listen', c.errno(), address);
    } finally {
      // Back home before anything else can run; staying in a container's namespace would
      // silently misplace every later socket of the daemon, so that is the one fatal error.
      if (c.setns(home, CLONE_NEWNET) !== 0) {
        log.warn(`cannot return to its own network namespace (errno ${c.errno()})`);
        process.abort();
      }
    }
    return { udp, tcp };
  } catch (e) {
    for (const fd of made) closeSync(fd);
    throw e;
  } finally {
    if (target !== undefined) closeSync(target);
    closeSync(home);
  }
}

function open(c: Libc, type: number, address: string, made: number[]): BoundSocket {
  const fd = c.socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket', c.errno(), address);
  made.push(fd);
  const addr = address.split('.').map(Number);
  if (c.bind(fd, { family: AF_INET, port: [0, 0], addr, zero: [0, 0, 0, 0, 0, 0, 0, 0] }, 16) !== 0) {
    throw sysError('bind', c.errno(), address);
  }
  const out: Partial<SockaddrIn> = {};
  if (c.getsockname(fd, out, [16]) !== 0) throw sysError('getsockname', c.errno(), address);
  return { fd, port: (out.port![0] << 8) | out.port![1] };
}

/** An Error as Node's own would read: "bind 127.0.0.11: EADDRINUSE (errno 98)". */
function sysError(call: string, errno: number, what: string): Error {
  let name = `errno ${errno}`;
  try { name = `${getSystemErrorName(-errno)} (errno ${errno})`; } catch { /* unknown to Node */ }
  const e = new Error(`${call} ${what}: ${name}`) as NodeJS.ErrnoException;
  e.errno = errno;
  return e;
}

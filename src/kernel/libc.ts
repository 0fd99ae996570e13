// The few libc calls Node.js does not offer (setns, socket/bind/connect on raw fds, setrlimit), through
// koffi, loaded on first use so that code and tests not needing them never load it.

export interface SockaddrIn { family: number; port: number[]; addr: number[]; zero: number[] }
interface SockaddrUn { family: number; path: number[] }
interface Rlimit { cur: bigint | number; max: bigint | number }

export interface Libc {
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: SockaddrIn, len: number): number;
  listen(fd: number, backlog: number): number;
  getsockname(fd: number, addr: Partial<SockaddrIn>, len: number[]): number;
  getrlimit(resource: number, out: Partial<Rlimit>): number;
  setrlimit(resource: number, limit: Rlimit): number;
  setpgid(pid: number, pgid: number): number;
  connect(fd: number, addr: SockaddrUn, len: number): number;
  close(fd: number): number;
  errno(): number;
}

let loaded: Libc | undefined;

export function libc(): Libc {
  if (loaded) return loaded;
  const koffi = require('koffi');
  const lib = koffi.load('libc.so.6');
  // Port and address stay in network byte order as byte arrays: no host-order arithmetic.
  koffi.struct('berth_sockaddr_in', {
    family: 'uint16', port: koffi.array('uint8', 2, 'Array'), addr: koffi.array('uint8', 4, 'Array'),
    zero: koffi.array('uint8', 8, 'Array'),
  });
  koffi.struct('berth_rlimit', { cur: 'uint64', max: 'uint64' });
  koffi.struct('berth_sockaddr_un', { family: 'uint16', path: koffi.array('uint8', 108, 'Array') });
  loaded = {
    setns: lib.func('int setns(int, int)'),
    socket: lib.func('int socket(int, int, int)'),
    bind: lib.func('int bind(int, const berth_sockaddr_in *, uint32)'),
    listen: lib.func('int listen(int, int)'),
    getsockname: lib.func('int getsockname(int, _Out_ berth_sockaddr_in *, _Inout_ uint32 *)'),
    getrlimit: lib.func('int getrlimit(int, _Out_ berth_rlimit *)'),
    setrlimit: lib.func('int setrlimit(int, const berth_rlimit *)'),
    setpgid: lib.func('int setpgid(int, int)'),
    connect: lib.func('int connect(int, const berth_sockaddr_un *, uint32)'),
    close: lib.func('int close(int)'),
    errno: () => koffi.errno(),
  };
  return loaded;
}

const RLIMIT_NOFILE = 7;

/**
 * Raise the soft limit on open files to the hard one, as Go programs such as dockerd do at
 * start: berthd holds two resolver sockets per container, and the usual soft limit of 1024
 * would cap it near 500 containers. Returns the limit now in force.
 */
export function raiseOpenFileLimit(): number {
  const c = libc();
  const r: Partial<Rlimit> = {};
  if (c.getrlimit(RLIMIT_NOFILE, r) !== 0) return -1;
  if (r.cur !== r.max) c.setrlimit(RLIMIT_NOFILE, { cur: r.max!, max: r.max! });
  const now: Partial<Rlimit> = {};
  c.getrlimit(RLIMIT_NOFILE, now);
  return Number(now.cur);
}

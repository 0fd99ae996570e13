// Datagrams sent at the end of the current turn of the event loop, all together. A resolver
// under load receives queries in bursts (libuv reads a socket until it is empty); sending
// each reply at once would wake the receiving program once per reply, and on a small machine
// those wake-ups (one across CPUs each) are most of what a query costs. Sent together, the
// first wakes it and the rest are already waiting when it looks. Nothing waits longer than
// the rest of this turn, so an idle resolver answers as fast as before.
import type * as dgram from 'node:dgram';

/**
 * A dgram `lookup` for sockets that only ever send to IP literals (the asker's address, an
 * upstream's): the address as it is, with no resolver call and no deferred callback per send.
 */
export const literalLookup = ((address: string, _family: unknown, cb: (e: null, a: string, f: number) => void) => cb(null, address, 4)) as never;
/** The same for IPv6 sockets (an IPv6 upstream). */
export const literalLookup6 = ((address: string, _family: unknown, cb: (e: null, a: string, f: number) => void) => cb(null, address, 6)) as never;

interface Datagram { socket: dgram.Socket; msg: Buffer; port: number; address: string }

export class Outbox {
  private queue: Datagram[] = [];

  send(socket: dgram.Socket, msg: Buffer, port: number, address: string): void {
    if (this.queue.push({ socket, msg, port, address }) === 1) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    const out = this.queue;
    this.queue = [];
    for (const d of out) {
      try { d.socket.send(d.msg, d.port, d.address); } catch { /* the socket closed meanwhile */ }
    }
  };
}

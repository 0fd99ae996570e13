// Docker's stream framing for attach, logs and exec without a TTY: each chunk is preceded by
// an 8-byte header [stream, 0, 0, 0, size (big-endian uint32)], stream 0 stdin, 1 stdout,
// 2 stderr. With a TTY the bytes go through raw. Pure (no I/O).

type StreamId = 0 | 1 | 2;

/**
 * What engine output streams carry: plain bytes are stdout; an object names its stream.
 * (EngineApi's Readables may emit either, so stderr can be told apart from stdout.)
 */
export type OutputChunk = Buffer | string | Uint8Array | { stream: 'stdout' | 'stderr' | StreamId; data: Buffer | string | Uint8Array };

export function chunkStream(chunk: OutputChunk): { id: StreamId; data: Buffer } {
  if (typeof chunk === 'string') return { id: 1, data: Buffer.from(chunk) };
  if (Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) return { id: 1, data: Buffer.from(chunk) };
  const s = chunk.stream;
  const id: StreamId = s === 'stderr' || s === 2 ? 2 : s === 0 ? 0 : 1;
  return { id, data: typeof chunk.data === 'string' ? Buffer.from(chunk.data) : Buffer.from(chunk.data) };
}

/** Frames one chunk with the multiplexing header. */
export function frame(id: StreamId, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = id;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}

/**
 * Incremental decoder of a multiplexed stream: feed bytes in any split, get whole frames out.
 */
export class Demuxer {
  private buf: Buffer = Buffer.alloc(0);

  push(data: Buffer): Array<{ id: StreamId; data: Buffer }> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    const out: Array<{ id: StreamId; data: Buffer }> = [];
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const id = this.buf[0];
      out.push({ id: (id === 0 || id === 2 ? id : 1) as StreamId, data: this.buf.subarray(8, 8 + size) });
      this.buf = this.buf.subarray(8 + size);
    }
    return out;
  }

  /** Bytes of an incomplete frame still held back. */
  get pending(): number { return this.buf.length; }
}

// conmon's log format ("k8s-file", the CRI's): one record per line of output,
//   2026-12-02T17:28:23.831484123+00:00 stdout F hello
// where F ends a line (the newline is the record's own) and P is a piece of a line that
// continues in the next record of that stream (conmon adds a newline that is not output).
// Decoding it gives back each stream's bytes exactly, in the order conmon read them, with the
// time of each piece, which is what Docker's json-file driver keeps. Pure: no file access here.
import { Transform } from 'node:stream';

export interface LogRecord { stream: 'stdout' | 'stderr'; data: Buffer; time: string; partial: boolean }

const HEAD = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) (stdout|stderr) ([FP]) /;

/** One line of the file (without its newline) as a record; null for a line that is not one (a write cut short). */
export function parseRecord(line: Buffer): LogRecord | null {
  const head = HEAD.exec(line.subarray(0, 64).toString('latin1'));
  if (!head) return null;
  const partial = head[5] === 'P';
  const body = line.subarray(head[0].length);
  return {
    stream: head[4] as 'stdout' | 'stderr',
    data: partial ? Buffer.from(body) : Buffer.concat([body, Buffer.from('\n')]),
    time: utcTime(head[1], head[2] ?? '', head[3]),
    partial,
  };
}

/** conmon's local time with offset as Docker prints it (RFC3339 in UTC, nine digits of nanoseconds). */
export function utcTime(local: string, frac: string, offset: string): string {
  const ms = Date.parse(`${local}${offset === 'Z' ? 'Z' : offset}`);
  const iso = new Date(ms).toISOString().slice(0, 19);
  return `${iso}.${frac.padEnd(9, '0')}Z`;
}

/** Bytes of a log file in, records out (objectMode); a trailing line without newline waits for the rest. */
export function decoder(): Transform {
  let rest = Buffer.alloc(0);
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, cb) {
      const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
        const rec = parseRecord(buf.subarray(start, nl));
        if (rec) this.push(rec);
        start = nl + 1;
      }
      rest = Buffer.from(buf.subarray(start));
      cb();
    },
  });
}

/** All complete records of a file's contents, with the byte offset where each ends. */
export function parseAll(buf: Buffer): Array<{ rec: LogRecord; end: number }> {
  const out: Array<{ rec: LogRecord; end: number }> = [];
  let start = 0;
  for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
    const rec = parseRecord(buf.subarray(start, nl));
    if (rec) out.push({ rec, end: nl + 1 });
    start = nl + 1;
  }
  return out;
}

/**
 * Which records `tail` keeps: the last `n` lines of each stream (a line is its P pieces and the
 * F that ends it, or a last unfinished piece). As berth has always counted them: per stream.
 */
export function tailRecords(recs: LogRecord[], n: number): LogRecord[] {
  const keep = new Set<number>();
  for (const stream of ['stdout', 'stderr'] as const) {
    const last = lastOf(recs, stream);
    let lines = 0;
    for (let i = last; i >= 0; i--) {
      const r = recs[i];
      if (r.stream !== stream) continue;
      // A full record ends a line (the pieces before it are that line's); a last piece whose
      // end has not come yet is a line of its own.
      if (!r.partial || i === last) { if (lines === n) break; lines++; }
      keep.add(i);
    }
  }
  return recs.filter((_, i) => keep.has(i));
}

function lastOf(recs: LogRecord[], stream: string): number {
  for (let i = recs.length - 1; i >= 0; i--) if (recs[i].stream === stream) return i;
  return -1;
}

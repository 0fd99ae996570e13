// Raw Docker Engine API requests to a sandbox's berthd, straight from the test process (the
// socket is reached through the sandbox's mount namespace). For tests that need many requests
// in flight at once, as docker-compose and the SDKs send them, which CLI processes cannot do.
import * as http from 'node:http';
import type { Sandbox } from './sandbox';

export interface ApiResult { status: number; body: any; text: string }

/** One request; the body is sent as JSON. Never rejects on an HTTP error status. */
export function api(sb: Sandbox, method: string, path: string, body?: unknown): Promise<ApiResult> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath: sb.hostPath(sb.socket), method, path: `/v1.45${path}`, agent: false,
      headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: any = undefined;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The error message of a failed request (Docker's `{"message": …}`), or the raw text. */
export const message = (r: ApiResult): string => r.body?.message ?? r.text;

/** Count results by status: "201×1 409×19". */
export function statuses(rs: ApiResult[]): string {
  const n = new Map<number, number>();
  for (const r of rs) n.set(r.status, (n.get(r.status) ?? 0) + 1);
  return [...n].sort((a, b) => a[0] - b[0]).map(([s, k]) => `${s}×${k}`).join(' ');
}

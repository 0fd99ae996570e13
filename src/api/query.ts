// Query-string and body parsing with the Docker Engine API's rules. Pure.
import * as os from 'node:os';
import { ApiError, badRequest } from '../util/errors';

/** Docker's boolValue: empty, "0", "no", "false" and "none" (any case) are false; anything else true. */
export function boolParam(q: URLSearchParams, key: string, dflt = false): boolean {
  const raw = q.get(key);
  if (raw === null) return dflt;
  const s = raw.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none');
}

/** An optional integer parameter; a present but malformed value is a 400 like Docker's strconv error. */
export function intParam(q: URLSearchParams, key: string): number | undefined {
  const raw = q.get(key);
  if (raw === null || raw === '') return undefined;
  if (!/^[+-]?\d+$/.test(raw.trim())) throw badRequest(`strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
  const n = parseInt(raw, 10);
  if (!Number.isSafeInteger(n)) throw badRequest(`strconv.Atoi: parsing ${JSON.stringify(raw)}: value out of range`);
  return n;
}

/**
 * `filters` is JSON: either {"key":["v1","v2"]} or the legacy {"key":{"v1":true}} form.
 */
export function parseFilters(raw: string | null): Record<string, string[]> {
  if (raw === null || raw.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw badRequest(`invalid filter: ${(e as Error).message}`);
  }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest('invalid filter: expected a JSON object');
  const out: Record<string, string[]> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (Array.isArray(val)) out[k] = val.map(String);
    else if (val && typeof val === 'object') out[k] = Object.entries(val).filter(([, b]) => b).map(([s]) => s);
    else throw badRequest(`invalid filter: values of '${k}' must be a list`);
  }
  return out;
}

/** Deeper JSON than this is refused before it is parsed (no request body of the API nests beyond ~6). */
const MAX_JSON_DEPTH = 64;

/** The nesting depth of JSON text, counted without parsing it (brackets inside strings excluded). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) { if (++depth > max) max = depth; }
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Parses a JSON request body; empty means undefined. As dockerd does, a body must say it is
 * JSON (`Content-Type: application/json`) when it has one.
 */
export function parseJsonBody(buf: Buffer, contentType?: string): any {
  const text = buf.toString('utf8').trim();
  if (text === '') return undefined;
  if (contentType !== undefined) {
    const media = contentType.split(';')[0].trim().toLowerCase();
    if (media !== 'application/json') throw badRequest(`Content-Type specified (${contentType}) must be 'application/json'`);
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw badRequest(`invalid JSON: nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `invalid JSON: ${(e as Error).message}`);
  }
}

/** A signal name or number as Docker accepts it ("KILL", "SIGKILL", "9"); a 400 otherwise. */
export function checkSignal(raw: string | null): string | undefined {
  if (raw === null || raw === '') return undefined;
  const s = raw.trim().toUpperCase();
  if (/^\d+$/.test(s) && Number(s) > 0 && Number(s) <= 64) return raw;
  const name = s.startsWith('SIG') ? s : `SIG${s}`;
  if (name in os.constants.signals || /^SIGRTM(IN|AX)([+-]\d+)?$/.test(name)) return raw;
  throw badRequest(`Invalid signal: ${raw}`);
}

/**
 * A stop timeout in seconds (`t`): Docker takes any int; a negative one means "wait forever".
 * Values beyond what a 64-bit Go int holds are Docker's strconv range error.
 */
export function timeoutParam(q: URLSearchParams, key = 't'): number | undefined {
  const raw = q.get(key);
  if (raw === null || raw === '') return undefined;
  if (!/^[+-]?\d+$/.test(raw.trim())) throw badRequest(`strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
  const n = BigInt(raw.trim());
  if (n > 9223372036854775807n || n < -9223372036854775808n) throw badRequest(`strconv.Atoi: parsing ${JSON.stringify(raw)}: value out of range`);
  return Number(n);
}

export interface ApiVersionRange { min: string; max: string }

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Splits an optional /vX.YY prefix off a path; rejects versions outside the served range. */
export function stripVersion(pathname: string, range: ApiVersionRange): { path: string; version: string | null } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(pathname);
  if (!m) return { path: pathname, version: null };
  const v = m[1];
  if (compareVersions(v, range.max) > 0) {
    throw badRequest(`client version ${v} is too new. Maximum supported API version is ${range.max}`);
  }
  if (compareVersions(v, range.min) < 0) {
    throw badRequest(`client version ${v} is too old. Minimum supported API version is ${range.min}, please upgrade your client to a newer version`);
  }
  return { path: m[2], version: v };
}

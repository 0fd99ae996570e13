// The daemon's event stream (GET /events): container and network events in Docker's shape,
// kept in a bounded history for `since`, delivered live to subscribers, filtered as Docker
// filters them (type, event/action, container, network, label... by exact value).
import { EventEmitter } from 'node:events';

interface DockerEvent {
  Type: 'container' | 'network' | 'image';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;        // seconds
  timeNano: number;    // nanoseconds
  // Older API fields, still printed by `docker events`' default format.
  status?: string;
  id?: string;
  from?: string;
}

const HISTORY = 1000;

export class EventBus {
  private readonly history: DockerEvent[] = [];
  private readonly live = new EventEmitter();

  constructor() { this.live.setMaxListeners(0); }

  emit(type: DockerEvent['Type'], action: string, id: string, attributes: Record<string, string>): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const e: DockerEvent = {
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Number(nowNs / 1_000_000_000n), timeNano: Number(nowNs),
    };
    if (type === 'container') { e.status = action; e.id = id; e.from = attributes.image; }
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.shift();
    this.live.emit('event', e);
  }

  /** Past events since `sinceSec` (and before `untilSec`), then live ones until unsubscribed. */
  subscribe(o: { since?: number; until?: number; filters: Record<string, string[]> }, fn: (e: DockerEvent) => void): () => void {
    const want = (e: DockerEvent) => matches(e, o.filters) && (o.until === undefined || e.time <= o.until);
    if (o.since !== undefined) for (const e of this.history) if (e.time >= o.since! && want(e)) fn(e);
    const on = (e: DockerEvent) => { if (want(e)) fn(e); };
    this.live.on('event', on);
    return () => this.live.off('event', on);
  }
}

/** Docker's event filters: every filter key given must match (any of its values). */
export function matches(e: DockerEvent, f: Record<string, string[]>): boolean {
  const any = (k: string, ok: (v: string) => boolean) => !f[k]?.length || f[k].some(ok);
  const attrs = e.Actor.Attributes;
  return any('type', (v) => v === e.Type) &&
    any('event', (v) => v === e.Action || e.Action.startsWith(`${v}:`)) &&
    any('action', (v) => v === e.Action) &&
    any('container', (v) => e.Type === 'container' && (e.Actor.ID.startsWith(v) || attrs.name === v)) &&
    any('network', (v) => e.Type === 'network' && (e.Actor.ID.startsWith(v) || attrs.name === v)) &&
    any('image', (v) => attrs.image === v) &&
    any('scope', (v) => v === 'local') &&
    any('label', (v) => {
      const [k, val] = v.split('=');
      return val === undefined ? k in attrs : attrs[k] === val;
    });
}

/** `since`/`until` query values: Unix seconds (possibly fractional), or RFC 3339. */
export function parseEventTime(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return t / 1000;
}

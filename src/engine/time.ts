// Docker prints times as RFC 3339 with nanoseconds; JavaScript has milliseconds, so the last
// six digits are zero. "Never" is Go's zero time, as Docker shows it for FinishedAt.
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export function unixSeconds(rfc3339: string): number {
  return Math.floor(Date.parse(rfc3339) / 1000);
}

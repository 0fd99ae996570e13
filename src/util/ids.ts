// Object ids as Docker makes them: 64 random hex digits, shown shortened to 12.
import { randomBytes } from 'node:crypto';

/** A new random id of 64 hex digits. Like Docker, never one whose short form is all digits
 * (a short id that looks like a number confuses tools that parse it as one). */
export function newId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d+$/.test(id.slice(0, 12))) return id;
  }
}

/** The 12-digit form `docker ps` shows. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

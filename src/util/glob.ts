// Go's path.Match, which Docker uses for `--filter reference=PATTERN`: `*` is any run of
// characters other than '/', `?` one such character, `[...]` a class (`[^...]` negated, `a-z`
// ranges), `\` escapes the next character. The whole name must match. Pure.
import { badRequest } from './errors';

/** Docker's (and Go's) words for a malformed pattern. */
const BAD_PATTERN = 'syntax error in pattern';

/** The pattern as an anchored regular expression; a malformed pattern is a 400. */
export function globRegExp(pattern: string): RegExp {
  const esc = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (++i >= pattern.length) throw badRequest(BAD_PATTERN);
      re += esc(pattern[i]);
    } else if (c === '[') {
      let j = i + 1;
      let cls = '';
      if (pattern[j] === '^') { cls += '^'; j++; }
      let ranges = 0;
      // One char of a class: escaped, or anything but '-' and ']' (Go refuses those unescaped).
      const one = (): string => {
        if (j >= pattern.length) throw badRequest(BAD_PATTERN);
        let ch = pattern[j++];
        if (ch === '\\') { if (j >= pattern.length) throw badRequest(BAD_PATTERN); ch = pattern[j++]; }
        else if (ch === '-' || ch === ']') throw badRequest(BAD_PATTERN);
        return ch;
      };
      for (;;) {
        if (j >= pattern.length) throw badRequest(BAD_PATTERN);
        if (pattern[j] === ']' && ranges > 0) { j++; break; }
        const lo = one();
        let hi = lo;
        if (pattern[j] === '-') { j++; hi = one(); }
        if (hi < lo) throw badRequest(BAD_PATTERN);
        cls += lo === hi ? esc(lo) : `${esc(lo)}-${esc(hi)}`;
        ranges++;
      }
      // Go's classes never match '/', negated or not.
      re += cls.startsWith('^') ? `[${cls}/]` : `(?!/)[${cls}]`;
      i = j - 1;
    } else re += esc(c);
  }
  return new RegExp(`^${re}$`, 's');
}

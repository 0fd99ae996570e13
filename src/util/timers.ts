// Timers for delays of any length. Node's setTimeout takes at most 2^31-1 ms (about 24.8
// days) and fires at once (after 1 ms) beyond it: `stop -t 3000000` would kill at once.

const MAX_DELAY = 2 ** 31 - 1;

/** Calls fn after ms milliseconds, however many; returns a function that cancels it. */
export function longTimeout(fn: () => void, ms: number): () => void {
  let t: NodeJS.Timeout | undefined;
  let cancelled = false;
  const arm = (left: number) => {
    t = setTimeout(() => {
      if (cancelled) return;
      if (left > MAX_DELAY) arm(left - MAX_DELAY);
      else fn();
    }, Math.max(0, Math.min(left, MAX_DELAY)));
  };
  arm(ms);
  return () => { cancelled = true; if (t) clearTimeout(t); };
}

// Restart policies (`--restart no|always|unless-stopped|on-failure[:N]`), Docker's rules. Pure:
// whether a container that just exited is started again, and after how long.
interface RestartPolicy { Name?: string; MaximumRetryCount?: number }

/** Docker's back-off: 100 ms, doubling after each quick exit, at most a minute; reset by a run of 10 s. */
const FIRST_MS = 100;
const MAX_MS = 60_000;
const RESET_AFTER_MS = 10_000;

export function restartDelay(previousMs: number | undefined, ranMs: number): number {
  if (previousMs === undefined || ranMs >= RESET_AFTER_MS) return FIRST_MS;
  return Math.min(previousMs * 2, MAX_MS);
}

/**
 * Should the container be started again? Not after a stop or kill by the user (Docker's
 * "manually stopped"); on-failure only for a non-zero code, at most MaximumRetryCount times
 * (0: no limit).
 */
export function shouldRestart(p: RestartPolicy | undefined, exitCode: number, restartCount: number, manuallyStopped: boolean): boolean {
  if (manuallyStopped) return false;
  switch (p?.Name ?? '') {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure': {
      const max = p?.MaximumRetryCount ?? 0;
      return exitCode !== 0 && (max === 0 || restartCount < max);
    }
    default:
      return false;
  }
}

/** The policy names Docker knows; a count only with on-failure. */
export function checkRestartPolicy(p: unknown): string | null {
  if (p === null || p === undefined) return null;
  const { Name = '', MaximumRetryCount = 0 } = p as RestartPolicy;
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(Name)) return `invalid restart policy '${Name}'`;
  if (MaximumRetryCount < 0) return 'invalid restart policy: maximum retry count cannot be negative';
  if (MaximumRetryCount > 0 && Name !== 'on-failure') return `invalid restart policy: maximum retry count can only be used with 'on-failure'`;
  return null;
}

// When a call to the cluster store is tried again (kv.ts runs the loop; this is the decision).
//
// Losing an etcd member, above all the leader, fails calls in ways that pass by themselves:
// the dead member refuses connections (UNAVAILABLE) until the client picks another; a live
// follower forwards a write to the leader it still believes in and the write is lost with it,
// so the call waits until its deadline (DEADLINE_EXCEEDED); until a new leader is elected the
// members answer "no leader", "leader changed", "request timed out" (UNAVAILABLE). A new leader
// is there after one or two election timeouts (etcd's default: 1 s), so such a call is tried
// again, on another member or the same one after the election, while the budget lasts; when it
// is spent, no quorum answered and the user gets "the cluster store is not reachable".
//
// Trying a call again is safe for every call kv.ts makes, even one whose first try was applied
// and only its answer lost: reads change nothing; every write is a transaction whose compares
// make a repeat either a no-op (put again what is there, delete what is gone) or a failed
// compare that the caller recognises as its own earlier success (kv.ts says how, per call).
import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';

/** One try's deadline: longer than a healthy write takes on a loaded host, short enough that a write lost with a dead leader is tried again soon. */
export const ATTEMPT_MS = 2000;

/**
 * What etcd says while it has no leader, or lost a request with the old one, whatever the gRPC
 * code (a member whose own wait for the leader ran out answers UNKNOWN "context deadline exceeded").
 */
const ELECTION = /etcdserver: (no leader|leader changed|request timed out|raft proposal dropped|server stopped|too many requests)|^\d+ UNKNOWN: context deadline exceeded$/;

/** Whether a failed call may pass if tried again: the member or the leader was out of reach. */
export function transient(e: unknown): boolean {
  if (e instanceof GRPCUnavailableError || e instanceof GRPCDeadlineExceededError) return true;
  return ELECTION.test(String((e as Error)?.message ?? ''));
}

/**
 * How long to wait before try number `attempt` (1, 2, …): doubling from 100 ms up to 1 s, with
 * `jitter` (0..1) spreading the clients of one host that failed together.
 */
export function backoff(attempt: number, jitter: number): number {
  const base = Math.min(1000, 100 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + jitter / 2));
}

/**
 * Another try after a failure `e` at `now`, when the call's budget ends at `end`: the wait
 * before it, or null (give up: the failure is not one that passes, or no time is left for a try).
 */
export function nextTry(e: unknown, attempt: number, now: number, end: number, jitter: number): number | null {
  if (!transient(e)) return null;
  const wait = backoff(attempt, jitter);
  return now + wait < end ? wait : null;
}

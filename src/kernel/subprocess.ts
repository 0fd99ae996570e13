// A helper program of berth's own that a companion keeps as its child and talks to by lines
// (berth-relay-tcp, the relay's TCP data path): requests on its stdin, answers on its stdout,
// its errors into the companion's log. The child's protocol and restarts are its owner's.
import { spawn, type ChildProcess } from 'node:child_process';

/** Start `program` with piped stdin/stdout; stderr goes where the caller's goes. */
export function spawnLineChild(program: string): ChildProcess {
  return spawn(program, [], { stdio: ['pipe', 'pipe', 'inherit'] });
}

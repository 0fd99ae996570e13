// The one logger of berth's daemons (berthd, berth-dns). Levels: debug (every change berth
// makes to the kernel, with `--debug`), info, warn and error (always). Lines keep the shapes
// berth has always printed: "[TIME ]PROGRAM: MESSAGE", and "[debug] WHAT" with any script
// indented under it. The CLI's output to its user does not come through here.
type Level = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: Level = 'info';
let program = 'berthd';
let stamped = false;

export function setLogLevel(level: Level): void { threshold = level; }
/** The daemon's name and whether its lines start with an ISO time (a daemon's log does). */
export function setLogProgram(name: string, timestamps = false): void { program = name; stamped = timestamps; }
/** Whether debug lines are printed (callers skip building costly ones otherwise). */
export function debugOn(): boolean { return RANK[threshold] <= RANK.debug; }

function indent(s: string): string {
  return s.split('\n').filter((l) => l.length).map((l) => `[debug]   ${l}\n`).join('');
}

function line(level: Level, msg: string): void {
  if (RANK[level] < RANK[threshold]) return;
  process.stderr.write(`${stamped ? `${new Date().toISOString()} ` : ''}${program}: ${msg}\n`);
}

export const log = {
  /** One kernel change or command: "[debug] WHAT", then `detail` (a script) indented. */
  debug(what: string, detail?: string): void {
    if (!debugOn()) return;
    // A `what` of several lines (a shell script) keeps the shape: its first line, the rest indented.
    const nl = what.indexOf('\n');
    const rest = nl < 0 ? '' : indent(what.slice(nl + 1));
    process.stderr.write(`[debug] ${nl < 0 ? what : what.slice(0, nl)}\n${rest}${detail === undefined ? '' : indent(detail)}`);
  },
  info(msg: string): void { line('info', msg); },
  warn(msg: string): void { line('warn', msg); },
  error(msg: string): void { line('error', msg); },
};

// berthd's one logger. Levels: debug (every change berth makes to the kernel, with
// `berthd --debug`), info, warn and error (always). Lines keep the shapes berth has always
// printed: "berthd: MESSAGE", and "[debug] WHAT" with any script indented under it.
export type Level = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: Level = 'info';
let program = 'berthd';

export function setLogLevel(level: Level): void { threshold = level; }
export function setLogProgram(name: string): void { program = name; }
/** Whether debug lines are printed (callers skip building costly ones otherwise). */
export function debugOn(): boolean { return RANK[threshold] <= RANK.debug; }

function indent(s: string): string {
  return s.split('\n').filter((l) => l.length).map((l) => `[debug]   ${l}\n`).join('');
}

export const log = {
  /** One kernel change or command: "[debug] WHAT", then `detail` (a script) indented. */
  debug(what: string, detail?: string): void {
    if (!debugOn()) return;
    process.stderr.write(`[debug] ${what}\n${detail === undefined ? '' : indent(detail)}`);
  },
  info(msg: string): void { if (RANK[threshold] <= RANK.info) process.stderr.write(`${program}: ${msg}\n`); },
  warn(msg: string): void { if (RANK[threshold] <= RANK.warn) process.stderr.write(`${program}: ${msg}\n`); },
  error(msg: string): void { process.stderr.write(`${program}: ${msg}\n`); },
};

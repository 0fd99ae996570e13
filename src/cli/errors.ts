// How the CLI fails: the message docker prints and the exit code it uses.
import { DaemonError, ConnectError } from './client';
import { UsageError } from './publish';
import { TemplateExecError, TemplateParseError } from '../util/gotemplate';
import { FormatError } from './format';

/** Ends the command with an exit code; `message` (if any) goes to stderr as is. */
export class Exit extends Error {
  constructor(public readonly code: number, message = '') { super(message); }
}

export { UsageError };

/** Go's words when a file the user named cannot be opened. */
export const noSuchFile = (file: string) => `open ${file}: no such file or directory`;

/** Docker's "Error response from daemon: ..." line for a daemon error. */
export function daemonLine(e: DaemonError): string { return `Error response from daemon: ${e.message}`; }

/**
 * The text and code for an error escaping a command. run/create use docker's
 * "docker: ...\n\nRun 'docker run --help'" form with exit 125.
 */
export function describeError(e: unknown, cmd: string | null): { text: string; code: number } {
  if (e instanceof Exit) return { text: e.message, code: e.code };
  const runLike = cmd === 'run' || cmd === 'create';
  if (e instanceof DaemonError) {
    if (runLike && cmd === 'run') return { text: `berth: ${daemonLine(e)}\n\nRun 'berth ${cmd} --help' for more information`, code: 125 };
    return { text: daemonLine(e), code: 1 };
  }
  if (e instanceof UsageError) {
    if (runLike) return { text: `berth: ${e.message}\n\nRun 'berth ${cmd} --help' for more information`, code: 125 };
    return { text: `Error: ${e.message}`, code: 1 };
  }
  if (e instanceof FormatError) return { text: e.message, code: 1 };
  if (e instanceof TemplateParseError) return { text: `template parsing error: ${e.message}`, code: 64 };
  if (e instanceof TemplateExecError) return { text: `template parsing error: ${e.message}`, code: 1 };
  if (e instanceof ConnectError) return { text: e.message, code: 1 };
  return { text: `Error: ${(e as Error)?.message ?? String(e)}`, code: 1 };
}

// Exec sessions: a process started in a running container (docker exec), its record for
// inspect, its terminal for resize. Sessions live in memory only, as in Docker.
import type { ExecHandle, ExecsApi } from './api';
import type { ContainerRecords } from './records';
import { mergeEnv } from './env';
import type { Runtime } from '../runtime';
import { badRequest, conflict, notFound, NO_EXEC_COMMAND } from '../util/errors';
import { newId } from '../util/ids';

interface ExecRecord {
  ID: string; ContainerID: string; Config: any; Running: boolean; ExitCode: number | null; Pid: number;
}

export class ExecService implements ExecsApi {
  private readonly execs = new Map<string, ExecRecord>();
  /** Running execs, for resizing their terminal. */
  private readonly execProcs = new Map<string, { resize(h: number, w: number): Promise<void> }>();

  constructor(private readonly records: ContainerRecords, private readonly runtime: Runtime) {}

  async execCreate(ref: string, body: any): Promise<{ Id: string }> {
    const c = this.records.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    if (!Array.isArray(body?.Cmd) || body.Cmd.length === 0) throw badRequest(NO_EXEC_COMMAND);
    const id = newId();
    this.execs.set(id, { ID: id, ContainerID: c.Id, Config: body, Running: false, ExitCode: null, Pid: 0 });
    return { Id: id };
  }

  async execStart(execId: string, body: { Detach?: boolean; Tty?: boolean }): Promise<ExecHandle> {
    const ex = this.execs.get(execId);
    if (!ex) throw notFound(`No such exec instance: ${execId}`);
    if (ex.Running || ex.ExitCode !== null) throw conflict(`Error: Exec command ${execId} has already run`);
    const c = this.records.get(ex.ContainerID);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    const cfg = ex.Config;
    const h = this.runtime.exec(c.Id, {
      cmd: cfg.Cmd, env: mergeEnv(c.Config.Env ?? [], cfg.Env ?? []), tty: !!(body.Tty ?? cfg.Tty),
      cwd: cfg.WorkingDir || c.Config.WorkingDir || '/', user: cfg.User || c.Config.User || '',
      stdin: !!cfg.AttachStdin,
    });
    ex.Running = true;
    this.execProcs.set(execId, h);
    h.pid.then((p) => { ex.Pid = p; }, () => undefined);
    const done = () => { ex.Running = false; this.execProcs.delete(execId); };
    const exitCode = h.exitCode.then((code) => { done(); ex.ExitCode = code; return code; },
      (e) => { done(); ex.ExitCode = 126; throw e; });
    return { tty: !!(body.Tty ?? cfg.Tty), output: h.output, input: h.input, exitCode };
  }

  async execInspect(execId: string): Promise<any> {
    const ex = this.execs.get(execId);
    if (!ex) throw notFound(`No such exec instance: ${execId}`);
    return {
      ID: ex.ID, Running: ex.Running, ExitCode: ex.ExitCode, ProcessConfig: {
        tty: !!ex.Config.Tty, entrypoint: ex.Config.Cmd[0], arguments: ex.Config.Cmd.slice(1), privileged: false,
        user: ex.Config.User ?? '',
      },
      OpenStdin: !!ex.Config.AttachStdin, OpenStderr: true, OpenStdout: true, CanRemove: false,
      ContainerID: ex.ContainerID, DetachKeys: '', Pid: ex.Pid,
    };
  }

  async execResize(execId: string, h: number, w: number): Promise<void> {
    if (!this.execs.get(execId)) throw notFound(`No such exec instance: ${execId}`);
    await this.execProcs.get(execId)?.resize(h, w);
  }
}

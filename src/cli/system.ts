// `berth version` and `berth info`.
import * as os from 'node:os';
import { Client, ConnectError, DaemonError } from './client';
import { Exit, daemonLine } from './errors';
import { stdio, type Io } from './containers';
import { goG, humanSize } from './format';
import { parseTemplate } from '../util/gotemplate';

export const CLI_VERSION = '0.1.0';
const CLI_API_VERSION = '1.45';

const arch = () => (process.arch === 'x64' ? 'amd64' : process.arch);

function pad(label: string, width: number): string { return (label + ':').padEnd(width); }

export async function cmdVersion(client: Client, o: { format?: string }, io: Io = stdio): Promise<number> {
  const clientInfo = {
    Platform: { Name: '' }, Version: CLI_VERSION, ApiVersion: CLI_API_VERSION, DefaultAPIVersion: CLI_API_VERSION,
    GitCommit: 'berth', GoVersion: `node ${process.version}`, Os: 'linux', Arch: arch(), BuildTime: '', Context: 'default',
  };
  let server: any = null;
  let serverErr: Error | null = null;
  try { server = await client.get('/version'); } catch (e) { serverErr = e as Error; }
  if (o.format) {
    const v = { Client: clientInfo, Server: server };
    io.out(parseTemplate(o.format).execute(v) + '\n');
  } else {
    let s = 'Client:\n';
    const w = 19;
    s += ` ${pad('Version', w)}${clientInfo.Version}\n`;
    s += ` ${pad('API version', w)}${server?.ApiVersion && server.ApiVersion !== CLI_API_VERSION ? `${server.ApiVersion} (downgraded from ${CLI_API_VERSION})` : CLI_API_VERSION}\n`;
    s += ` ${pad('Node version', w)}${process.version}\n`;
    s += ` ${pad('Git commit', w)}${clientInfo.GitCommit}\n`;
    s += ` ${pad('OS/Arch', w)}linux/${arch()}\n`;
    s += ` ${pad('Context', w)}default\n`;
    if (server) {
      s += '\nServer:\n';
      s += ' Engine:\n';
      s += `  ${pad('Version', w - 1)}${server.Version}\n`;
      s += `  ${pad('API version', w - 1)}${server.ApiVersion} (minimum version ${server.MinAPIVersion})\n`;
      s += `  ${pad('Node version', w - 1)}${server.GoVersion ?? ''}\n`;
      s += `  ${pad('Git commit', w - 1)}${server.GitCommit ?? ''}\n`;
      s += `  ${pad('OS/Arch', w - 1)}${server.Os}/${server.Arch}\n`;
      s += `  ${pad('Experimental', w - 1)}${!!server.Experimental}\n`;
      for (const c of server.Components ?? []) {
        if (c.Name === 'Engine') continue;
        s += ` ${c.Name}:\n`;
        s += `  ${pad('Version', w - 1)}${c.Version}\n`;
      }
    }
    io.out(s);
  }
  if (serverErr) {
    if (serverErr instanceof DaemonError) throw new Exit(1, daemonLine(serverErr));
    if (serverErr instanceof ConnectError) throw new Exit(1, serverErr.message);
    throw serverErr;
  }
  return 0;
}

export async function cmdInfo(client: Client, o: { format?: string }, io: Io = stdio): Promise<number> {
  const info = await client.get('/info');
  if (o.format) {
    io.out(parseTemplate(o.format).execute(info) + '\n');
    return 0;
  }
  const lines: string[] = [
    'Client:',
    ` Version:    ${CLI_VERSION}`,
    ' Context:    default',
    ` Debug Mode: false`,
    '',
    'Server:',
    ` Containers: ${info.Containers}`,
    `  Running: ${info.ContainersRunning}`,
    `  Paused: ${info.ContainersPaused}`,
    `  Stopped: ${info.ContainersStopped}`,
    ` Images: ${info.Images}`,
    ` Server Version: ${info.ServerVersion}`,
    ` Storage Driver: ${info.Driver}`,
    ` Logging Driver: ${info.LoggingDriver}`,
    ` Cgroup Driver: ${info.CgroupDriver}`,
    ` Cgroup Version: ${info.CgroupVersion}`,
    ' Plugins:',
    `  Volume: ${(info.Plugins?.Volume ?? []).join(' ')}`,
    `  Network: ${(info.Plugins?.Network ?? []).join(' ')}`,
    `  Log: ${(info.Plugins?.Log ?? []).join(' ')}`,
    ` Runtimes: ${Object.keys(info.Runtimes ?? {}).join(' ')}`,
    ` Default Runtime: ${info.DefaultRuntime}`,
    ` Kernel Version: ${info.KernelVersion}`,
    ` Operating System: ${info.OperatingSystem}`,
    ` OSType: ${info.OSType}`,
    ` Architecture: ${info.Architecture}`,
    ` CPUs: ${info.NCPU}`,
    ` Total Memory: ${humanBinary(info.MemTotal ?? os.totalmem())}`,
    ` Name: ${info.Name}`,
    ` ID: ${info.ID}`,
    ` Docker Root Dir: ${info.DockerRootDir}`,
    ` Debug Mode: ${!!info.Debug}`,
    ` Experimental: ${!!info.ExperimentalBuild}`,
    ' Insecure Registries:',
    ' Live Restore Enabled: ' + String(!!info.LiveRestoreEnabled),
    '',
  ];
  io.out(lines.join('\n'));
  for (const w of info.Warnings ?? []) io.err(w + '\n');
  return 0;
}

/** go-units BytesSize: binary units with 4 significant digits ("23.44GiB"). */
function humanBinary(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return goG(v, 4) + units[i];
}

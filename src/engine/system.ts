// The daemon as a whole: version, info, disk usage (events are the EventBus's).
import * as os from 'node:os';
import type { SystemApi, ContainersApi, ImagesApi } from './api';
import type { ContainerRecords } from './records';
import type { EventBus } from './events';
import type { Swarm } from './swarm';
import { driverNames } from './drivers/registry';
import { nowRfc3339 } from './time';
import { apparmorEnabled } from '../kernel/lsm';
import { osRelease } from '../kernel/hostfiles';
import type { ImageStore } from '../runtime';
import type { Runtimes } from '../runtime/runtimes';

const API_VERSION = '1.45';
/** The oldest API version berth serves (the API server's range starts here). */
export const MIN_API_VERSION = '1.24';
export const BERTH_VERSION = '0.1.0';

export class SystemService implements SystemApi {
  constructor(readonly events: EventBus, private readonly records: ContainerRecords, private readonly images: ImageStore,
              private readonly swarm: Swarm, private readonly containerApi: ContainersApi, private readonly imageApi: ImagesApi,
              private readonly opts: { dataRoot: string; debug: boolean; runtimes: Runtimes }) {}

  version(): any {
    return {
      Platform: { Name: 'berth' },
      Components: [{ Name: 'Engine', Version: BERTH_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION } }],
      Version: BERTH_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berth',
      GoVersion: `node ${process.version}`,
      Os: 'linux',
      Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      KernelVersion: os.release(),
      BuildTime: '',
    };
  }

  async info(): Promise<any> {
    const all = [...this.records.values()];
    const running = all.filter((c) => c.State.Running).length;
    return {
      ID: 'berth',
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: all.length - running,
      Images: this.images.list().length,
      Driver: 'overlay',
      DriverStatus: [],
      Plugins: { Volume: [], Network: driverNames(), Authorization: null, Log: ['json-file'] },
      MemoryLimit: false,
      SwapLimit: false,
      IPv4Forwarding: true,
      Debug: this.opts.debug,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: nowRfc3339(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: '2',
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: await osName(),
      OSType: 'linux',
      Architecture: os.arch() === 'x64' ? 'x86_64' : os.arch(),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      DockerRootDir: this.opts.dataRoot,
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: BERTH_VERSION,
      Runtimes: this.opts.runtimes.list(),
      DefaultRuntime: this.opts.runtimes.defaultName,
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: '',
      // As dockerd reports them: every container gets berth's seccomp profile unless it opts out.
      SecurityOptions: [...(apparmorEnabled() ? ['name=apparmor'] : []), 'name=seccomp,profile=builtin'],
      Warnings: [],
      DefaultAddressPools: [],
      Swarm: this.swarm.info(),
    };
  }

  async systemDf(): Promise<any> {
    const images = await this.imageApi.listImages({ all: false, filters: {} });
    const containers = await this.containerApi.listContainers({ all: true, filters: {} });
    return {
      LayersSize: images.reduce((a: number, i: any) => a + (i.Size ?? 0), 0),
      Images: images, Containers: containers.map((c: any) => ({ ...c, SizeRw: 0, SizeRootFs: 0 })),
      Volumes: [], BuildCache: [],
    };
  }
}

async function osName(): Promise<string> {
  const txt = await osRelease();
  return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(txt)?.[1] ?? 'Linux';
}

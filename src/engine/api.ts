// What the API layer may ask of the engine. Inputs and outputs are Docker Engine API JSON
// shapes (swagger v1.41+), so api/ only routes, parses query strings and streams bytes.
// Every method throws ApiError (util/errors.ts) with Docker's status and message on bad input.
import type { Readable, Writable } from 'node:stream';

export interface AttachOptions {
  stdin: boolean; stdout: boolean; stderr: boolean;
  stream: boolean;            // follow output until the container exits
  logs: boolean;              // replay what was already written first
}

/** A live attachment: output bytes (raw; the API adds the multiplexing header when !tty). */
export interface Attachment {
  tty: boolean;
  output: Readable;           // ends when the container's process ends (stream) or at once (!stream)
  input: Writable | null;     // the container's stdin when attached with stdin and OpenStdin
}

export interface LogOptions { follow: boolean; tail: number | 'all'; timestamps: boolean; stdout: boolean; stderr: boolean }

export interface ExecHandle {
  tty: boolean;
  output: Readable;           // raw bytes from the process (stdout and stderr together)
  input: Writable | null;
  exitCode: Promise<number>;
}

/** GET /version, /info, /system/df, /events. */
export interface SystemApi {
  version(): any;
  info(): Promise<any>;
  readonly events: import('./events').EventBus;
  systemDf(): Promise<any>;
}

export interface ContainersApi {
  createContainer(name: string | undefined, body: any): Promise<{ Id: string; Warnings: string[] }>;
  startContainer(ref: string): Promise<void>;            // 304 when already running
  stopContainer(ref: string, timeoutSec?: number, signal?: string): Promise<void>;
  killContainer(ref: string, signal?: string): Promise<void>;
  restartContainer(ref: string, timeoutSec?: number, signal?: string): Promise<void>;
  removeContainer(ref: string, opts: { force: boolean }): Promise<void>;
  removeLink(path: string): Promise<void>;
  renameContainer(ref: string, newName: string): Promise<void>;
  listContainers(opts: { all: boolean; filters: Record<string, string[]>; limit?: number }): Promise<any[]>;
  inspectContainer(ref: string): Promise<any>;
  /** condition: "not-running" (default), "next-exit", "removed". */
  waitContainer(ref: string, condition?: string): Promise<{ StatusCode: number; Error: null | { Message: string } }>;
  attachContainer(ref: string, opts: AttachOptions): Promise<Attachment>;
  containerLogs(ref: string, opts: LogOptions): Promise<{ tty: boolean; output: Readable }>;
  resizeContainer(ref: string, h: number, w: number): Promise<void>;
  topContainer(ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  pruneContainers(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }>;
}

export interface ExecsApi {
  execCreate(ref: string, body: any): Promise<{ Id: string }>;
  execStart(execId: string, body: { Detach?: boolean; Tty?: boolean }): Promise<ExecHandle>;
  execInspect(execId: string): Promise<any>;
  execResize(execId: string, h: number, w: number): Promise<void>;
}

export interface ImagesApi {
  listImages(opts: { all: boolean; filters: Record<string, string[]> }): Promise<any[]>;
  inspectImage(ref: string): Promise<any>;
  /** POST /images/create?fromSrc=-&repo=&tag=&changes= : returns the new image id. */
  importImage(src: Readable, repo: string | undefined, tag: string | undefined, changes: string[]): Promise<string>;
  /** POST /images/load: returns the refs loaded ("busybox:latest") or ids. */
  loadImages(src: Readable): Promise<string[]>;
  saveImages(refs: string[]): Promise<Readable>;
  pullImage(ref: string, tag: string | undefined, progress: (m: Record<string, unknown>) => void): Promise<string>;
  tagImage(ref: string, repo: string, tag: string): Promise<void>;
  removeImage(ref: string, opts: { force: boolean }): Promise<Array<{ Untagged?: string; Deleted?: string }>>;
}

export interface NetworksApi {
  createNetwork(body: any): Promise<{ Id: string; Warning: string }>;
  listNetworks(filters: Record<string, string[]>): Promise<any[]>;
  inspectNetwork(ref: string, opts?: { verbose?: boolean; scope?: string }): Promise<any>;
  removeNetwork(ref: string): Promise<void>;
  pruneNetworks(filters: Record<string, string[]>): Promise<{ NetworksDeleted: string[] }>;
  connectNetwork(ref: string, body: { Container: string; EndpointConfig?: any }): Promise<void>;
  disconnectNetwork(ref: string, body: { Container: string; Force?: boolean }): Promise<void>;
}

/** The cluster behind overlay networks. */
export interface SwarmApi {
  swarmInit(body: any): Promise<string>;
  swarmJoin(body: any): Promise<void>;
  swarmLeave(force: boolean): Promise<void>;
  swarmJson(): any;
  swarmNodes(): any[];
  swarmNode(ref: string): any;
  swarmNodeRemove(ref: string, force: boolean): Promise<void>;
}

/** The engine's services, one per noun: what the API layer calls. */
export interface EngineApi {
  system: SystemApi;
  containers: ContainersApi;
  execs: ExecsApi;
  images: ImagesApi;
  networks: NetworksApi;
  swarm: SwarmApi;
}

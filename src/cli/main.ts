// berth: the CLI. Docker's commands, flags, output and exit codes, over the Engine API.
import { Command, CommanderError, Option } from 'commander';
import { Client, socketPathOf } from './client';
import { describeError, Exit } from './errors';
import * as C from './containers';
import { cmdInspect } from './inspect';
import * as N from './networks';
import * as SW from './swarm';
import * as I from './images';
import { cmdInfo, cmdVersion, CLI_VERSION } from './system';
import { collect } from './runopts';
import { DEFAULT_HOST } from '../util/defaults';


const USAGE: Record<string, string> = {
  run: 'berth run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  create: 'berth create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  start: 'berth start [OPTIONS] CONTAINER [CONTAINER...]',
  stop: 'berth stop [OPTIONS] CONTAINER [CONTAINER...]',
  restart: 'berth restart [OPTIONS] CONTAINER [CONTAINER...]',
  kill: 'berth kill [OPTIONS] CONTAINER [CONTAINER...]',
  rm: 'berth rm [OPTIONS] CONTAINER [CONTAINER...]',
  ps: 'berth ps [OPTIONS]',
  logs: 'berth logs [OPTIONS] CONTAINER',
  exec: 'berth exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  inspect: 'berth inspect [OPTIONS] NAME|ID [NAME|ID...]',
  port: 'berth port CONTAINER [PRIVATE_PORT[/PROTO]]',
  rename: 'berth rename CONTAINER NEW_NAME',
  wait: 'berth wait CONTAINER [CONTAINER...]',
  images: 'berth images [OPTIONS] [REPOSITORY[:TAG]]',
  rmi: 'berth rmi [OPTIONS] IMAGE [IMAGE...]',
  tag: 'berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  import: 'berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  load: 'berth load [OPTIONS]',
  version: 'berth version [OPTIONS]',
  info: 'berth info [OPTIONS]',
  'network create': 'berth network create [OPTIONS] NETWORK',
  'network ls': 'berth network ls [OPTIONS]',
  'network inspect': 'berth network inspect [OPTIONS] NETWORK [NETWORK...]',
  'network rm': 'berth network rm NETWORK [NETWORK...]',
  'network prune': 'berth network prune [OPTIONS]',
  'network connect': 'berth network connect [OPTIONS] NETWORK CONTAINER',
  'network disconnect': 'berth network disconnect [OPTIONS] NETWORK CONTAINER',
  'container prune': 'berth container prune [OPTIONS]',
};

/** The path of names from the root to a command ("network ls"). */
function cmdPath(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x && x.parent; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

/** The running state of one invocation: the client and the command that failed. */
interface State { client: () => Client; code: number; current: string | null }

type Action = (...args: any[]) => Promise<number>;

function makeProgram(state: State): Command {
  const program = new Command('berth');
  program
    .enablePositionalOptions()
    .helpOption('--help', 'Print usage')
    .option('-H, --host <host>', 'Daemon socket to connect to')
    .option('-D, --debug', 'Enable debug mode')
    .option('-l, --log-level <level>', 'Set the logging level')
    .version(`berth version ${CLI_VERSION}`, '-v, --version', 'Print version information and quit')
    .showSuggestionAfterError(false)
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) })
    .exitOverride();

  const sub = (parent: Command, spec: string, desc: string, fn: (c: Command) => Action, aliases: string[] = []): Command => {
    const c = parent.command(spec).description(desc).helpOption('--help', 'Print usage').exitOverride()
      .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) });
    for (const a of aliases) c.alias(a);
    c.action(async (...args: any[]) => {
      state.current = cmdPath(c);
      state.code = await fn(c)(...args);
    });
    return c;
  };

  // ------------------------------------------------------------- run / create
  const runOptions = (c: Command): Command => c
    .passThroughOptions()
    .option('-d, --detach', 'Run container in background and print container ID')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--name <string>', 'Assign a name to the container')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-h, --hostname <string>', 'Container host name')
    .option('--domainname <string>', 'Container NIS domain name')
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect)
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--expose <list>', 'Expose a port or a range of ports', collect)
    .option('--network <network>', 'Connect a container to a network')
    .addOption(new Option('--net <network>', 'Connect a container to a network').hideHelp())
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect)
    .addOption(new Option('--net-alias <list>').hideHelp().argParser(collect))
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--ip6 <string>', 'IPv6 address (e.g., 2001:db8::33)')
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('--dns <list>', 'Set custom DNS servers', collect)
    .option('--dns-search <list>', 'Set custom DNS search domains', collect)
    .option('--dns-option <list>', 'Set DNS options', collect)
    .addOption(new Option('--dns-opt <list>').hideHelp().argParser(collect))
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect)
    .option('--link <list>', 'Add link to another container', collect)
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('-l, --label <list>', 'Set meta data on a container', collect)
    .option('--privileged', 'Give extended privileges to this container')
    .option('--restart <string>', 'Restart policy to apply when a container exits', undefined)
    .option('--cap-add <list>', 'Add Linux capabilities', collect)
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect)
    .option('--security-opt <list>', 'Security Options (seccomp=unconfined|FILE, no-new-privileges, apparmor=PROFILE)', collect)
    .option('--runtime <string>', 'Runtime to use for this container')
    .option('-v, --volume <list>', 'Bind mount a host path (/host/path:/container/path[:ro])', collect)
    .option('--mount <mount>', 'Attach a filesystem mount to the container (type=bind|tmpfs)', collect)
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect)
    .option('--group-add <list>', 'Add additional groups to join', collect)
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect)
    .option('--sysctl <map>', 'Sysctl options', collect)
    .option('--init', 'Run an init inside the container')
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container')
    .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', collect)
    .option('--read-only', "Mount the container's root filesystem as read only");

  const runOpts = (o: any) => ({
    ...o,
    network: o.network ?? o.net,
    networkAlias: [...(o.networkAlias ?? []), ...(o.netAlias ?? [])],
    dnsOption: [...(o.dnsOption ?? []), ...(o.dnsOpt ?? [])],
  });

  runOptions(sub(program, 'run <image> [command...]', 'Create and run a new container from an image',
    () => (image: string, cmd: string[], o: any) => C.cmdRun(state.client(), runOpts(o), image, cmd ?? [])));
  runOptions(sub(program, 'create <image> [command...]', 'Create a new container',
    () => (image: string, cmd: string[], o: any) => C.cmdCreate(state.client(), runOpts(o), image, cmd ?? [])));

  // ------------------------------------------------------------- lifecycle
  const containerCmds = (parent: Command, prefix: boolean) => {
    sub(parent, 'start <containers...>', 'Start one or more stopped containers',
      () => (names: string[], o: any) => C.cmdStart(state.client(), names, o))
      .option('-a, --attach', "Attach STDOUT/STDERR and forward signals")
      .option('-i, --interactive', "Attach container's STDIN");
    sub(parent, 'stop <containers...>', 'Stop one or more running containers',
      () => (names: string[], o: any) => C.cmdStop(state.client(), names, o))
      .option('-t, --time <int>', 'Seconds to wait before killing the container')
      .addOption(new Option('--timeout <int>').hideHelp())
      .option('-s, --signal <string>', 'Signal to send to the container');
    sub(parent, 'restart <containers...>', 'Restart one or more containers',
      () => (names: string[], o: any) => C.cmdRestart(state.client(), names, o))
      .option('-t, --time <int>', 'Seconds to wait before killing the container')
      .option('-s, --signal <string>', 'Signal to send to the container');
    sub(parent, 'kill <containers...>', 'Kill one or more running containers',
      () => (names: string[], o: any) => C.cmdKill(state.client(), names, o))
      .option('-s, --signal <string>', 'Signal to send to the container');
    sub(parent, prefix ? 'rm <containers...>' : 'rm <containers...>', 'Remove one or more containers',
      () => (names: string[], o: any) => C.cmdRm(state.client(), names, o), prefix ? ['remove'] : [])
      .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
      .option('-l, --link', 'Remove the specified link')
      .option('-v, --volumes', 'Remove anonymous volumes associated with the container');
    sub(parent, prefix ? 'ls' : 'ps', 'List containers',
      () => (o: any) => C.cmdPs(state.client(), o), prefix ? ['ps', 'list'] : [])
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('-q, --quiet', 'Only display container IDs')
      .option('--no-trunc', "Don't truncate output")
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format output using a custom template')
      .option('-n, --last <int>', 'Show n last created containers (includes all states)')
      .option('-l, --latest', 'Show the latest created container (includes all states)')
      .option('-s, --size', 'Display total file sizes');
    sub(parent, 'logs <container>', 'Fetch the logs of a container',
      () => (name: string, o: any) => C.cmdLogs(state.client(), name, o))
      .option('-f, --follow', 'Follow log output')
      .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
      .option('-t, --timestamps', 'Show timestamps');
    sub(parent, 'exec <container> <command...>', 'Execute a command in a running container',
      () => (name: string, cmd: string[], o: any) => C.cmdExec(state.client(), name, cmd, o))
      .passThroughOptions()
      .option('-i, --interactive', 'Keep STDIN open even if not attached')
      .option('-t, --tty', 'Allocate a pseudo-TTY')
      .option('-d, --detach', 'Detached mode: run command in the background')
      .option('-e, --env <list>', 'Set environment variables', collect)
      .option('-w, --workdir <string>', 'Working directory inside the container')
      .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
      .option('--privileged', 'Give extended privileges to the command');
    sub(parent, 'port <container> [port]', 'List port mappings or a specific mapping for the container',
      () => (name: string, port: string | undefined) => C.cmdPort(state.client(), name, port));
    sub(parent, 'rename <container> <newName>', 'Rename a container',
      () => (from: string, to: string) => C.cmdRename(state.client(), from, to));
    sub(parent, 'wait <containers...>', 'Block until one or more containers stop, then print their exit codes',
      () => (names: string[]) => C.cmdWait(state.client(), names));
  };
  containerCmds(program, false);

  sub(program, 'inspect <names...>', 'Return low-level information on Docker objects',
    () => (names: string[], o: any) => cmdInspect(state.client(), names, o))
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('--type <string>', 'Only inspect objects of the given type')
    .option('-s, --size', 'Display total file sizes if the type is container');

  const container = program.command('container').description('Manage containers').helpOption('--help', 'Print usage')
    .exitOverride().configureOutput({ writeErr: () => undefined });
  containerCmds(container, true);
  runOptions(sub(container, 'run <image> [command...]', 'Create and run a new container from an image',
    () => (image: string, cmd: string[], o: any) => C.cmdRun(state.client(), runOpts(o), image, cmd ?? [])));
  runOptions(sub(container, 'create <image> [command...]', 'Create a new container',
    () => (image: string, cmd: string[], o: any) => C.cmdCreate(state.client(), runOpts(o), image, cmd ?? [])));
  sub(container, 'inspect <names...>', 'Display detailed information on one or more containers',
    () => (names: string[], o: any) => cmdInspect(state.client(), names, o, undefined, 'container'))
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes');
  sub(container, 'prune', 'Remove all stopped containers', () => (o: any) => C.cmdPrune(state.client(), o))
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values', collect);

  // ------------------------------------------------------------- images
  const imageCmds = (parent: Command, prefix: boolean) => {
    sub(parent, prefix ? 'ls [repository]' : 'images [repository]', 'List images',
      () => (repo: string | undefined, o: any) => I.cmdImages(state.client(), repo, o), prefix ? ['list'] : [])
      .option('-a, --all', 'Show all images (default hides intermediate images)')
      .option('-q, --quiet', 'Only show image IDs')
      .option('--no-trunc', "Don't truncate output")
      .option('--digests', 'Show digests')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format output using a custom template');
    sub(parent, prefix ? 'rm <images...>' : 'rmi <images...>', 'Remove one or more images',
      () => (refs: string[], o: any) => I.cmdRmi(state.client(), refs, o), prefix ? ['remove'] : [])
      .option('-f, --force', 'Force removal of the image')
      .option('--no-prune', 'Do not delete untagged parents');
    sub(parent, 'tag <source> <target>', 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
      () => (s: string, t: string) => I.cmdTag(state.client(), s, t));
    sub(parent, 'import <file> [reference]', 'Import the contents from a tarball to create a filesystem image',
      () => (file: string, ref: string | undefined, o: any) => I.cmdImport(state.client(), file, ref, o))
      .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
      .option('-m, --message <string>', 'Set commit message for imported image')
      .option('--platform <string>', 'Set platform if server is multi-platform capable');
    sub(parent, 'save <images...>', 'Save one or more images to a tar archive (streamed to STDOUT by default)',
      () => (refs: string[], o: any) => I.cmdSave(state.client(), refs, o))
      .option('-o, --output <string>', 'Write to a file, instead of STDOUT');
    sub(parent, 'pull <name>', 'Download an image from a registry', () => (ref: string, o: any) => I.cmdPull(state.client(), ref, o))
      .option('-q, --quiet', 'Suppress verbose output')
      .option('-a, --all-tags', 'Download all tagged images in the repository')
      .option('--platform <string>', 'Set platform if server is multi-platform capable');
    sub(parent, 'load', 'Load an image from a tar archive or STDIN', () => (o: any) => I.cmdLoad(state.client(), o))
      .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
      .option('-q, --quiet', 'Suppress the load output');
  };
  imageCmds(program, false);
  const image = program.command('image').description('Manage images').helpOption('--help', 'Print usage')
    .exitOverride().configureOutput({ writeErr: () => undefined });
  imageCmds(image, true);
  sub(image, 'inspect <names...>', 'Display detailed information on one or more images',
    () => (names: string[], o: any) => cmdInspect(state.client(), names, o, undefined, 'image'))
    .option('-f, --format <string>', 'Format output using a custom template');

  // ------------------------------------------------------------- networks
  const network = program.command('network').description('Manage networks').helpOption('--help', 'Print usage')
    .exitOverride().configureOutput({ writeErr: () => undefined });
  sub(network, 'create <network>', 'Create a network', () => (name: string, o: any) => N.cmdNetworkCreate(state.client(), name, o))
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('--subnet <strings>', 'Subnet in CIDR format that represents a network segment', collect)
    .option('--gateway <strings>', 'IPv4 or IPv6 Gateway for the master subnet', collect)
    .option('--ip-range <strings>', 'Allocate container ip from a sub-range', collect)
    .option('--aux-address <map>', 'Auxiliary IPv4 or IPv6 addresses used by Network driver', collect)
    .option('--internal', 'Restrict external access to the network')
    .option('--attachable', 'Enable manual container attachment')
    .option('--label <list>', 'Set metadata on a network', collect)
    .option('-o, --opt <map>', 'Set driver specific options', collect)
    .option('--ipv6', 'Enable or disable IPv6 networking')
    .option('--ipam-driver <string>', 'IP Address Management Driver', 'default')
    .option('--ipam-opt <map>', 'Set IPAM driver specific options', collect)
    .option('--scope <string>', "Control the network's scope")
    .option('--ingress', 'Create swarm routing-mesh network')
    .option('--config-only', 'Create a configuration only network')
    .option('--config-from <string>', 'The network from which to copy the configuration');
  sub(network, 'ls', 'List networks', () => (o: any) => N.cmdNetworkLs(state.client(), o), ['list'])
    .option('-q, --quiet', 'Only display network IDs')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'driver=bridge')", collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', 'Do not truncate the output');
  sub(network, 'inspect <networks...>', 'Display detailed information on one or more networks',
    () => (names: string[], o: any) => cmdInspect(state.client(), names, o, undefined, 'network'))
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics');
  sub(network, 'rm <networks...>', 'Remove one or more networks', () => (names: string[]) => N.cmdNetworkRm(state.client(), names), ['remove'])
    .option('-f, --force', 'Do not error if the network does not exist');
  sub(network, 'prune', 'Remove all unused networks', () => (o: any) => N.cmdNetworkPrune(state.client(), o))
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values', collect);
  sub(network, 'connect <network> <container>', 'Connect a container to a network',
    () => (net: string, ctr: string, o: any) => N.cmdNetworkConnect(state.client(), net, ctr, o))
    .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <string>', 'IPv6 address (e.g., "2001:db8::33")')
    .option('--alias <strings>', 'Add network-scoped alias for the container', collect)
    .option('--link <list>', 'Add link to another container', collect)
    .option('--link-local-ip <strings>', 'Add a link-local address for the container', collect)
    .option('--driver-opt <strings>', 'driver options for the network', collect);
  sub(network, 'disconnect <network> <container>', 'Disconnect a container from a network',
    () => (net: string, ctr: string, o: any) => N.cmdNetworkDisconnect(state.client(), net, ctr, o))
    .option('-f, --force', 'Force the container to disconnect from a network');

  // ------------------------------------------------------------- swarm (overlay networks)
  const swarm = program.command('swarm').description('Manage Swarm').helpOption('--help', 'Print usage')
    .exitOverride().configureOutput({ writeErr: () => undefined });
  sub(swarm, 'init', 'Initialize a swarm', () => (o: any) => SW.cmdSwarmInit(state.client(), o))
    .option('--advertise-addr <string>', 'Advertised address (format: "<ip|interface>[:port]")')
    .option('--listen-addr <node-addr>', 'Listen address (format: "<ip|interface>[:port]")');
  sub(swarm, 'join <host:port>', 'Join a swarm as a node and/or manager', () => (addr: string, o: any) => SW.cmdSwarmJoin(state.client(), addr, o))
    .option('--token <string>', 'Token for entry into the swarm')
    .option('--advertise-addr <string>', 'Advertised address (format: "<ip|interface>[:port]")')
    .option('--listen-addr <node-addr>', 'Listen address (format: "<ip|interface>[:port]")');
  sub(swarm, 'join-token <role>', 'Manage join tokens', () => (role: string, o: any) => SW.cmdSwarmJoinToken(state.client(), role, o))
    .option('-q, --quiet', 'Only display token');
  sub(swarm, 'leave', 'Leave the swarm', () => (o: any) => SW.cmdSwarmLeave(state.client(), o))
    .option('-f, --force', 'Force this node to leave the swarm, ignoring warnings');

  const node = program.command('node').description('Manage Swarm nodes').helpOption('--help', 'Print usage')
    .exitOverride().configureOutput({ writeErr: () => undefined });
  sub(node, 'ls', 'List nodes in the swarm', () => (o: any) => SW.cmdNodeLs(state.client(), o), ['list'])
    .option('-q, --quiet', 'Only display IDs')
    .option('--format <string>', 'Pretty-print nodes using a Go template');
  sub(node, 'rm <nodes...>', 'Remove one or more nodes from the swarm', () => (ns: string[], o: any) => SW.cmdNodeRm(state.client(), ns, o), ['remove'])
    .option('-f, --force', 'Force remove a node from the swarm');

  // ------------------------------------------------------------- system
  sub(program, 'version', 'Show the berth version information', () => (o: any) => cmdVersion(state.client(), o))
    .option('-f, --format <string>', 'Format output using a custom template');
  sub(program, 'info', 'Display system-wide information', () => (o: any) => cmdInfo(state.client(), o))
    .option('-f, --format <string>', 'Format output using a custom template');

  return program;
}

/** Docker's wording for flag and argument errors, and their exit codes. */
function commanderFailure(e: CommanderError, path: string): { text: string; code: number } {
  const usage = USAGE[path] ?? `berth ${path} [OPTIONS]`;
  const tail = `\n\nUsage:  ${usage}\n\nRun 'berth ${path} --help' for more information`;
  const msg = e.message.replace(/^error: /, '');
  let m: RegExpExecArray | null;
  if (e.code === 'commander.unknownOption' && (m = /unknown option '([^']+)'/.exec(msg))) {
    const flag = m[1];
    const text = flag.startsWith('--') ? `unknown flag: ${flag}` : `unknown shorthand flag: '${flag.slice(1, 2)}' in ${flag}`;
    return { text: text + tail, code: 125 };
  }
  if (e.code === 'commander.optionMissingArgument' && (m = /option '([^']+)' argument missing/.exec(msg))) {
    const names = m[1].split(/,\s*/);
    const long = names.find((n) => n.startsWith('--')) ?? names[0];
    return { text: `flag needs an argument: ${long.replace(/ .*/, '')}` + tail, code: 125 };
  }
  if (e.code === 'commander.missingArgument') {
    return { text: `berth: 'berth ${path}' requires at least 1 argument\n\nUsage:  ${usage}\n\nSee 'berth ${path} --help' for more information`, code: 1 };
  }
  if (e.code === 'commander.excessArguments') {
    return { text: `berth: 'berth ${path}' accepts no arguments\n\nUsage:  ${usage}\n\nSee 'berth ${path} --help' for more information`, code: 1 };
  }
  if (e.code === 'commander.unknownCommand') {
    const cmd = /unknown command '([^']+)'/.exec(msg)?.[1] ?? '';
    return { text: `berth: unknown command: berth ${path ? path + ' ' : ''}${cmd}\n\nRun 'berth ${path ? path + ' ' : ''}--help' for more information`, code: 1 };
  }
  return { text: msg, code: e.exitCode || 1 };
}

/** Runs the CLI on argv (without node and script) and returns the exit code. */
async function runCli(argv: string[]): Promise<number> {
  const state: State = { code: 0, current: null, client: () => { throw new Error('no client'); } };
  const program = makeProgram(state);
  program.hook('preAction', (_root, action) => {
    state.current = cmdPath(action);
    const host = program.opts().host ?? process.env.BERTH_HOST ?? DEFAULT_HOST;
    let client: Client | null = null;
    state.client = () => (client ??= new Client(socketPathOf(host), host));
  });
  // Remember which command is being parsed, for flag errors.
  let parsing = '';
  const track = (c: Command) => {
    c.hook('preSubcommand', (_t, s) => { parsing = cmdPath(s); });
    c.commands.forEach(track);
  };
  track(program);
  try {
    if (argv.length === 0) {
      process.stdout.write(program.helpInformation());
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return state.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      const f = commanderFailure(e, state.current ?? parsing);
      process.stderr.write(f.text + '\n');
      return f.code;
    }
    const d = describeError(e, state.current);
    if (d.text) process.stderr.write(d.text + '\n');
    return d.code;
  }
}

/** 128 + SIGPIPE: the status of a docker CLI that wrote to a closed pipe. */
const EXIT_SIGPIPE = 141;

/**
 * A reader that went away (`berth ps | head -1`, `berth logs -f c | head`) ends the CLI at
 * once and quietly, as SIGPIPE ends the docker CLI: no stack trace, nothing more written.
 * (Node ignores SIGPIPE and reports EPIPE as an error on the stream instead.)
 */
function exitQuietlyOnClosedPipes(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(EXIT_SIGPIPE);
      // Any other failure to write output: say so where we still can, without a trace.
      try { process.stderr.write(`Error: writing output: ${e.message}\n`); } catch { /* nowhere to say it */ }
      process.exit(1);
    });
  }
}

export function main(): void {
  exitQuietlyOnClosedPipes();
  runCli(process.argv.slice(2)).then((code) => {
    // Exit once everything written has been flushed (pipes may be slow).
    process.exitCode = code;
    let pending = 2;
    const done = () => { if (--pending === 0) process.exit(code); };
    process.stdout.write('', done);
    process.stderr.write('', done);
  }, (e) => {
    process.stderr.write(`Error: ${(e as Error)?.message ?? e}\n`);
    process.exit(1);
  });
}

if (require.main === module) main();


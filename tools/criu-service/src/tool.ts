// criu-service: `criu service` (RPC daemon on a UNIX socket) and `criu swrk
// FD` (one client, on an inherited SOCK_SEQPACKET socket). The protocol and
// the requests are @criu-ts/rpc's; each request runs the tool that serves
// it on the CLI.
import { fileURLToPath } from 'node:url';
import { CriuError, UsageError } from '@criu-ts/base';
import { announceReady, daemonize, launcherChannel, type ToolContext, type ToolSpec } from '@criu-ts/cli';
import { SERVICE_CONNECTION_ENV, serveSession, serveSocket } from '@criu-ts/rpc';
import { serviceOptions } from './service-options.js';

type Context = ToolContext<typeof serviceOptions>;

/** Set in the background copy of `criu service --daemon`. */
const DAEMON_CHILD_ENV = 'CRIU_TS_SERVICE_DAEMON';
/** upstream's default address, relative to the current directory */
const DEFAULT_ADDRESS = 'criu_service.socket';

async function swrk(ctx: Context, fd: string | undefined): Promise<void> {
  if (fd === undefined || !/^\d+$/.test(fd)) throw new UsageError('Usage: criu swrk <fd>');
  const swrkMode = ctx.env[SERVICE_CONNECTION_ENV] !== '1';
  const siblingChannel = swrkMode ? launcherChannel(ctx.env) : undefined;
  const status = await serveSession({ fd: Number(fd), swrk: swrkMode, siblingChannel, log: ctx.log.child('rpc') });
  if (status !== 0) throw new CriuError('the RPC request failed (the client has the response)', { exitCode: status });
}

async function service(ctx: Context): Promise<void> {
  const o = ctx.options;
  const daemonChild = ctx.env[DAEMON_CHILD_ENV] === '1';
  if (o.daemon && o.statusFd !== undefined && !daemonChild) throw new UsageError('--daemon and --status-fd cannot be used together');
  let address = o.address;
  if (address === undefined) {
    ctx.log.warn(`Binding to local dir address ${DEFAULT_ADDRESS}`);
    address = DEFAULT_ADDRESS;
  }
  if (o.daemon && !daemonChild) {
    const pid = await daemonize(process.argv.slice(2), { what: 'service', childEnv: DAEMON_CHILD_ENV });
    ctx.log.info(`service: running in the background as pid ${pid}`);
    return;
  }
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  await serveSocket({
    address,
    log: ctx.log.child('service'),
    worker: [process.execPath, ...process.execArgv, fileURLToPath(new URL('./main.cjs', import.meta.url))],
    workerArgs: [`--verbosity=${o.verbosity}`, '--no-default-config'],
    logFd: ctx.log.sink.fd,
    onReady: () => announceReady(ctx),
    stopped,
  });
}

export const serviceTool: ToolSpec<typeof serviceOptions> = {
  name: 'criu-service',
  summary: 'Listen for RPC requests on a UNIX socket (service), or serve one client on an inherited socket (swrk FD).',
  usage: 'criu-service [--address SOCKET] [options] | criu-service swrk FD',
  options: serviceOptions,
  positionals: [
    { name: 'mode', describe: 'service (the default) or swrk', choices: ['service', 'swrk'] },
    { name: 'fd', describe: 'swrk: the socket fd' },
  ],
  run: (ctx) => {
    const { mode, fd } = ctx.args;
    if (mode === 'swrk') return swrk(ctx, fd);
    if (fd !== undefined) throw new UsageError(`excessive parameter: ${fd}`);
    return service(ctx);
  },
};

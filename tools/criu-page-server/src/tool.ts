// criu-page-server: `criu page-server` — receive one dump's pages over
// --address/--port or --ps-socket (optionally TLS) into -D, then exit.
import { CriuError, UsageError } from '@criu-ts/base';
import { announceReady, type ToolContext, type ToolSpec } from '@criu-ts/cli';
import { imagesLazyPages, loadTlsMaterial, runPageServer, type TlsMaterial } from '@criu-ts/page-server';
import { DAEMON_CHILD_ENV, daemonize } from './daemon.js';
import { pageServerOptions } from './page-server-options.js';

type Context = ToolContext<typeof pageServerOptions>;

function checkOptions(ctx: Context, daemonChild: boolean): void {
  const o = ctx.options;
  if (o.daemon && o.statusFd !== undefined && !daemonChild) throw new UsageError('--daemon and --status-fd cannot be used together');
  if (o.autoDedup) throw new CriuError('page-server --auto-dedup is not supported yet', { code: 'EUNSUPPORTED' });
  if (o.psSocket === undefined && o.port === undefined) throw new UsageError('--port is required (or --ps-socket FD)');
}

function tlsMaterial(ctx: Context): TlsMaterial | undefined {
  const o = ctx.options;
  if (!o.tls) return undefined;
  return loadTlsMaterial({ cacert: o.tlsCacert, cacrl: o.tlsCacrl, cert: o.tlsCert, key: o.tlsKey, noCnVerify: o.tlsNoCnVerify });
}

/** Once listening: the port in the log, the pidfile, then --status-fd gets '\0' and is closed. */
function listening(ctx: Context, port: number | undefined): void {
  if (port !== undefined) ctx.log.info(`Using ${port} port`);
  announceReady(ctx);
}

async function run(ctx: Context): Promise<void> {
  const daemonChild = ctx.env[DAEMON_CHILD_ENV] === '1';
  checkOptions(ctx, daemonChild);
  const tls = tlsMaterial(ctx);
  if (ctx.options.daemon && !daemonChild) {
    const pid = await daemonize(process.argv.slice(2));
    ctx.log.info(`page-server: running in the background as pid ${pid}`);
    return;
  }
  await runPageServer({
    dir: ctx.imagesDir,
    log: ctx.log,
    address: ctx.options.address,
    port: ctx.options.port,
    psSocket: ctx.options.psSocket,
    tls,
    onReady: (port) => listening(ctx, port),
    lazy: ctx.options.lazyPages ? imagesLazyPages(ctx.imagesDir) : undefined,
  });
}

export const pageServerTool: ToolSpec<typeof pageServerOptions> = {
  name: 'criu-page-server',
  summary: 'Receive memory pages from a remote dump into the images dir (one session, then exit).',
  usage: 'criu-page-server -D DIR --port PORT [--address ADDRESS] [options]',
  options: pageServerOptions,
  run,
};

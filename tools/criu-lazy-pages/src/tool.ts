// criu-lazy-pages: `criu lazy-pages` — the daemon that fills the memory of
// a tree restored with --lazy-pages, from the images (-D) or, with
// --page-server, from the dump side's page server at --address/--port.
// --daemon runs it in the background (returning once it listens),
// --status-fd gets '\0' once it listens.
import { lookup } from 'node:dns/promises';
import { CriuError, UsageError, watchInterrupts } from '@criu-ts/base';
import { announceReady, daemonize, type ToolContext, type ToolSpec } from '@criu-ts/cli';
import { localSource, remoteSource, runLazyDaemon, type PageSource } from '@criu-ts/lazy-pages';
import { connectPageServerSync } from '@criu-ts/page-server';
import { lazyPagesOptions } from './lazy-pages-options.js';

type Context = ToolContext<typeof lazyPagesOptions>;

const DAEMON_CHILD_ENV = 'CRIU_TS_LAZY_PAGES_DAEMON';

/** The pages' source; a page server's name is looked up now (the daemon's loop is synchronous). */
async function pageSource(ctx: Context): Promise<PageSource> {
  const o = ctx.options;
  if (!o.pageServer) return localSource(ctx.imagesDir);
  if (o.port === undefined) throw new UsageError('lazy-pages --page-server needs --port (and --address)');
  if (o.tls) throw new CriuError('lazy-pages --page-server with --tls is not supported yet', { code: 'EUNSUPPORTED' });
  const { address } = await lookup(o.address ?? 'localhost');
  return remoteSource(() => connectPageServerSync(address, o.port!));
}

async function run(ctx: Context): Promise<void> {
  const o = ctx.options;
  const daemonChild = ctx.env[DAEMON_CHILD_ENV] === '1';
  if (o.daemon && o.statusFd !== undefined && !daemonChild) throw new UsageError('--daemon and --status-fd cannot be used together');
  if (o.daemon && !daemonChild) {
    const pid = await daemonize(process.argv.slice(2), { what: 'lazy-pages', childEnv: DAEMON_CHILD_ENV });
    ctx.log.info(`lazy-pages: running in the background as pid ${pid}`);
    return;
  }
  // SIGINT/SIGTERM: the tasks still missing pages are killed, not left to run on empty pages
  const interrupts = watchInterrupts();
  try {
    await runLazyDaemon({ dir: ctx.imagesDir, workDir: ctx.workDir, source: await pageSource(ctx), log: ctx.log, onReady: () => announceReady(ctx) });
  } finally {
    interrupts.dispose();
  }
}

export const lazyPagesTool: ToolSpec<typeof lazyPagesOptions> = {
  name: 'criu-lazy-pages',
  summary: 'Serve page faults of processes restored with --lazy-pages, from the images or a remote page server.',
  usage: 'criu-lazy-pages -D DIR [--page-server --address ADDRESS --port PORT] [options]',
  options: lazyPagesOptions,
  run,
};

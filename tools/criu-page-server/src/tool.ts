// criu-page-server: `criu page-server`.
import { CriuError } from '@criu-ts/base';
import type { ToolSpec } from '@criu-ts/cli';
import { pageServerOptions } from './page-server-options.js';

export const pageServerTool: ToolSpec<typeof pageServerOptions> = {
  name: 'criu-page-server',
  summary: 'Receive memory pages from a remote dump into the images dir, or serve them to a lazy-pages daemon.',
  usage: 'criu-page-server [--address ADDRESS] [--port PORT] [options]',
  options: pageServerOptions,
  run: (ctx) => {
    if (ctx.options.daemon && ctx.options.statusFd !== undefined) ctx.log.warn('--daemon and --status-fd are not meant to be used together');
    throw new CriuError(`${ctx.tool}: not implemented yet`);
  },
};

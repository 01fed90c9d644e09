// criu-lazy-pages: `criu lazy-pages`.
import { CriuError } from '@criu-ts/base';
import type { ToolSpec } from '@criu-ts/cli';
import { lazyPagesOptions } from './lazy-pages-options.js';

export const lazyPagesTool: ToolSpec<typeof lazyPagesOptions> = {
  name: 'criu-lazy-pages',
  summary: 'Serve page faults of processes restored with --lazy-pages, from the images or a remote page server.',
  usage: 'criu-lazy-pages -D DIR [--page-server --address ADDRESS --port PORT] [options]',
  options: lazyPagesOptions,
  run: (ctx) => {
    throw new CriuError(`${ctx.tool}: not implemented yet`);
  },
};

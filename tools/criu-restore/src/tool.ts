// criu-restore: `criu restore`.
import { CriuError, UsageError } from '@criu-ts/base';
import { restoreOptions, type ToolSpec } from '@criu-ts/cli';

export const restoreTool: ToolSpec<typeof restoreOptions> = {
  name: 'criu-restore',
  summary: 'Restore a process tree from image files.',
  usage: 'criu-restore [options]',
  options: restoreOptions,
  run: (ctx) => {
    if (ctx.options.restoreSibling && !ctx.options.restoreDetached) {
      throw new UsageError('--restore-sibling only makes sense with --restore-detached');
    }
    if (ctx.options.tree !== undefined) ctx.log.warn('Using -t with criu restore is obsoleted');
    throw new CriuError(`${ctx.tool}: not implemented yet`);
  },
};

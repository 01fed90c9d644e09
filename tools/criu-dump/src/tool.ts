// criu-dump: `criu dump` and `criu pre-dump` (criu-dump pre-dump ...).
import { CriuError, UsageError } from '@criu-ts/base';
import { dumpOptions, type ToolSpec } from '@criu-ts/cli';

export const dumpTool: ToolSpec<typeof dumpOptions> = {
  name: 'criu-dump',
  summary: 'Checkpoint a process tree into image files; with pre-dump, save only memory changes since the last pre-dump.',
  usage: 'criu-dump [pre-dump] -t PID [options]',
  options: dumpOptions,
  positionals: [{ name: 'mode', describe: 'dump (the default) or pre-dump', choices: ['dump', 'pre-dump'] }],
  run: (ctx) => {
    if (ctx.options.tree === undefined) throw new UsageError('-t/--tree PID is required');
    if (ctx.args.mode === 'pre-dump' && ctx.options.lazyPages) throw new UsageError('cannot pre-dump with --lazy-pages');
    throw new CriuError(`${ctx.tool}: not implemented yet`);
  },
};

// criu-check: `criu check`. Probes the running kernel for what dump and
// restore use (@criu-ts/check), prints criu's verdict on stdout, warnings
// naming what will not work into the log, and fails (exit 1) when a
// feature that was asked for is missing.
import { writeSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { CHECK_BAD, runCheck } from '@criu-ts/check';
import type { ToolSpec } from '@criu-ts/cli';
import { checkOptions } from './check-options.js';

export const checkTool: ToolSpec<typeof checkOptions> = {
  name: 'criu-check',
  summary: 'Check whether the kernel supports what criu needs to dump and restore a process tree.',
  usage: 'criu-check [--extra|--experimental|--all] [--feature NAME|list] [options]',
  options: checkOptions,
  run: (ctx) => {
    const { extra, experimental, all, feature } = ctx.options;
    const report = runCheck({ extra, experimental, all, features: feature });
    const log = ctx.log.child('check');
    report.warnings.forEach((line) => log.warn(line));
    if (report.stdout.length > 0) writeSync(1, `${report.stdout.join('\n')}\n`);
    if (report.exitCode !== 0) {
      const count = report.warnings.filter((w) => w !== CHECK_BAD).length;
      throw new CriuError(`${count} kernel feature${count === 1 ? ' is' : 's are'} missing`, { code: 'ECHECK', exitCode: report.exitCode });
    }
  },
};

// criu-dedup: `criu dedup`. It takes only the common options (-D, --prev-images-dir, ...).
import { CriuError } from '@criu-ts/base';
import type { ToolSpec } from '@criu-ts/cli';

const dedupOptions = {} as const;

export const dedupTool: ToolSpec<typeof dedupOptions> = {
  name: 'criu-dedup',
  summary: 'Deduplicate pagemap data: drop pages of the parent images that the newer images replace.',
  usage: 'criu-dedup -D DIR [options]',
  options: dedupOptions,
  run: (ctx) => {
    throw new CriuError(`${ctx.tool}: not implemented yet`);
  },
};

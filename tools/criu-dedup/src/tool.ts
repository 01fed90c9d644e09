// criu-dedup: `criu dedup -D DIR`: punch the pages DIR holds out of its
// parent images (DIR/parent, made by --prev-images-dir). It takes only the
// common options.
import type { ToolSpec } from '@criu-ts/cli';
import { dedupImages } from '@criu-ts/kinds';

const dedupOptions = {} as const;

export const dedupTool: ToolSpec<typeof dedupOptions> = {
  name: 'criu-dedup',
  summary: 'Deduplicate pagemap data: drop pages of the parent images that the newer images replace.',
  usage: 'criu-dedup -D DIR [options]',
  options: dedupOptions,
  run: (ctx) => {
    dedupImages(ctx.imagesDir, ctx.log);
  },
};

// criu dump --stream: a task's pages go straight into the output stream as
// the member pages-N.img while they are dumped (spliced out of the
// vmsplice pipe, or written from a buffer), never through a file. The
// member's size is the sum of the runs, known before the first byte; the
// runs come in address order, back to back, which the target checks run by
// run. pagemap-PID.img is still a small image of the private directory
// (appended to the stream at the end). Not streamed here: shared memory
// (pagemap-shmem/pages of memfd and shared anonymous objects, shmem.ts).
// See criu(8) "dump", --stream.
import { CriuError } from '@criu-ts/base';
import { imageFileName, imagePath, pagemapEntry, writeImage } from '@criu-ts/images';
import { PAGE_SIZE } from '@criu-ts/kernel';
import { imagePid, type DumpContext, type PageSource, type PageStream } from '../dump-context.js';
import { sendRuns } from './page-copy.js';
import { runFlags, type DumpRun } from './page-runs.js';
import type { PageTarget, PlacedRun } from './page-targets.js';
import { spliceRuns } from './page-splice.js';

/** Into the open stream member, run after run; `run.offset` must be where the member is. */
export function streamTarget(stream: PageStream, member: string): PageTarget {
  let at = 0;
  const next = (run: PlacedRun, length: number): void => {
    if (run.offset !== at) {
      throw new CriuError(`${member}: data for 0x${run.vaddr.toString(16)} belongs at byte ${run.offset}, the stream is at ${at}`, { code: 'EINVAL' });
    }
    at += length;
  };
  return {
    fromPipe(pipeFd, run, len) {
      next(run, len);
      stream.appendFromPipe(pipeFd, len);
    },
    fromTask(pid, runs, buffer) {
      for (const run of runs) next(run, run.pages * PAGE_SIZE);
      const addRun = (_run: unknown, source: PageSource): void => {
        if (!('data' in source)) throw new CriuError(`${member}: page data by reference cannot be streamed here`, { code: 'EINVAL' });
        stream.append(source.data);
      };
      sendRuns(pid, runs, { open: () => undefined, addRun }, buffer);
    },
    fromBuffer(run, data) {
      next(run, data.length);
      stream.append(data);
    },
  };
}

/** pagemap-PID.img for pages that live in pages-<pagesId>.img: a head, then one present entry per run. */
function writePagemap(ctx: DumpContext, pid: number, pagesId: number, runs: readonly DumpRun[]): void {
  const entries = runs.map((run) => ({ message: pagemapEntry({ vaddr: run.vaddr, nrPages: run.pages, flags: runFlags(run) }) }));
  writeImage(imagePath(ctx.options.imagesDir, 'pagemap', imagePid(ctx, pid)), 'pagemap', [{ message: { pages_id: pagesId } }, ...entries]);
}

/** --stream: pagemap-PID.img in the images directory, the page data as the stream member pages-N.img. Returns the pages written. */
export function streamPages(ctx: DumpContext, stream: PageStream, pid: number, runs: readonly DumpRun[]): number {
  const pagesId = ctx.nextId();
  const member = imageFileName('pages', pagesId);
  writePagemap(ctx, pid, pagesId, runs);
  const bytes = runs.reduce((sum, run) => sum + run.pages * PAGE_SIZE, 0);
  stream.beginMember(member, bytes);
  if (bytes > 0) {
    const copied = spliceRuns(ctx, { pid, runs, target: streamTarget(stream, member), offset: 0, log: ctx.log });
    ctx.stats.memwriteTime += Number(copied.writeNs / 1000n);
  }
  stream.endMember();
  ctx.log.debug(`pid ${pid}: ${member} (${bytes} bytes) streamed`);
  return bytes / PAGE_SIZE;
}

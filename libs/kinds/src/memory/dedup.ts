// criu dedup and --auto-dedup: pages an images directory holds itself
// (PE_PRESENT in its pagemap-*.img) are obsolete in its parent chain, so
// their data is punched out of the parents' pages images
// (fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): the files keep
// their size and offsets, the blocks are freed). A parent's PE_PARENT runs
// pass the punch on to its own parent. The pagemaps are not changed: a
// deduplicated parent can no longer be restored on its own, only through
// its children — as upstream's dedup. See criu(8) "dedup", fallocate(2).
import { closeSync, existsSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SyscallError, type Logger } from '@criu-ts/base';
import { SYS, trySyscall } from '@criu-ts/kernel';
import { PAGE_SIZE, PE_PARENT, PE_PRESENT, imageFileName, openPagemap, type PageRun } from '@criu-ts/images';
import { intersect, normalize, piecesInside, type Span } from './page-parent.js';

const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const MAX_DEPTH = 64;
const PAGE = BigInt(PAGE_SIZE);

type PagemapKind = 'pagemap' | 'pagemap-shmem';

export interface DedupResult {
  /** bytes punched out of parent pages images */
  punchedBytes: number;
}

const spanOf = (run: PageRun): Span => ({ start: run.vaddr, end: run.vaddr + BigInt(run.nrPages) * PAGE });

function readRuns(dir: string, kind: PagemapKind, id: number): { pagesId: number; runs: PageRun[] } {
  const pagemap = openPagemap(dir, id, kind);
  try {
    return { pagesId: pagemap.pagesId, runs: [...pagemap] };
  } finally {
    pagemap.close();
  }
}

/** Punches the byte ranges out of a pages image. */
function punch(path: string, ranges: readonly { offset: number; length: number }[]): number {
  if (ranges.length === 0) return 0;
  const fd = openSync(path, 'r+');
  try {
    let bytes = 0;
    for (const r of ranges) {
      const done = trySyscall(SYS.fallocate, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, r.offset, r.length);
      if (done.errno !== 0) throw new SyscallError({ syscall: 'fallocate(PUNCH_HOLE)', errno: done.errno, path });
      bytes += r.length;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Punches `wanted` out of the chain above `dir` for one pagemap; returns bytes punched. */
function dedupOne(dir: string, kind: PagemapKind, id: number, log: Logger): number {
  let wanted = normalize(readRuns(dir, kind, id).runs.filter((r) => (r.flags & PE_PRESENT) !== 0).map(spanOf));
  let bytes = 0;
  let at = dir;
  for (let depth = 0; wanted.length > 0 && depth < MAX_DEPTH; depth++) {
    const parent = join(at, 'parent');
    if (!existsSync(join(parent, imageFileName(kind, id)))) break;
    const level = readRuns(parent, kind, id);
    const present = level.runs.filter((run) => run.pagesOffset !== undefined);
    const ranges = piecesInside(present, wanted).map((p) => ({ offset: p.run.pagesOffset! + p.skip * PAGE_SIZE, length: Number(p.end - p.start) }));
    const punched = punch(join(parent, imageFileName('pages', level.pagesId)), ranges);
    if (punched > 0) log.debug(`${imageFileName(kind, id)}: ${punched} bytes punched out of ${parent}`);
    bytes += punched;
    wanted = intersect(wanted, normalize(level.runs.filter((r) => (r.flags & PE_PARENT) !== 0 && (r.flags & PE_PRESENT) === 0).map(spanOf)));
    at = parent;
  }
  return bytes;
}

/** restore --auto-dedup: punches the present runs (as read from dir's pagesId image) out of it; bytes punched. */
export function punchRuns(dir: string, pagesId: number, runs: readonly PageRun[]): number {
  const ranges = runs.filter((r) => r.pagesOffset !== undefined).map((r) => ({ offset: r.pagesOffset!, length: r.nrPages * PAGE_SIZE }));
  return punch(join(dir, imageFileName('pages', pagesId)), ranges);
}

/** Deduplicates every pagemap of `dir` against its parent chain (dir/parent). */
export function dedupImages(dir: string, log: Logger): DedupResult {
  let punchedBytes = 0;
  if (!existsSync(join(dir, 'parent'))) {
    log.info(`${dir} has no parent images: nothing to deduplicate`);
    return { punchedBytes };
  }
  for (const name of readdirSync(dir).sort()) {
    const match = /^(pagemap|pagemap-shmem)-(\d+)\.img$/.exec(name);
    if (match === null) continue;
    punchedBytes += dedupOne(dir, match[1] as PagemapKind, Number(match[2]), log);
  }
  log.info(`deduplicated: ${punchedBytes} bytes punched out of the parent images`);
  return { punchedBytes };
}

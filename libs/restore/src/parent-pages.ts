// Pages through the chain of parent images (incremental dumps): a
// pagemap entry flagged PE_PARENT holds no data; its pages are in the
// same task's pagemap of DIR/parent (the symlink dump --prev-images-dir
// made), or further up when that entry is PE_PARENT again. The result is,
// per images directory of the chain, the runs whose data lie in its
// pages image, clipped to what the child asks for. Works on runs and
// sorted spans, never page by page. A page the chain does not hold is an
// image error naming the directory.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ImageError } from '@criu-ts/base';
import { PAGE_SIZE, PE_PARENT, PE_PRESENT, imageFileName, openPagemap, type PageRun } from '@criu-ts/images';
import { intersect, normalize, piecesInside, subtract, type Span } from '@criu-ts/kinds';

/** The runs to read from one images directory of the chain. */
export interface ChainLevel {
  dir: string;
  pagesId: number;
  /** present runs (pagesOffset set), in address order */
  runs: PageRun[];
}

/** At most this many parents deep (a loop of parent links ends here). */
const MAX_DEPTH = 64;
const PAGE = BigInt(PAGE_SIZE);

const spanOf = (run: PageRun): Span => ({ start: run.vaddr, end: run.vaddr + BigInt(run.nrPages) * PAGE });

/** The parts of the present runs that lie inside `wanted` (normalized), with their data offsets. */
export function clipRuns(runs: readonly PageRun[], wanted: readonly Span[]): PageRun[] {
  return piecesInside(
    runs.filter((run) => run.pagesOffset !== undefined),
    wanted,
  ).map((p) => ({ vaddr: p.start, nrPages: Number((p.end - p.start) / PAGE), flags: PE_PRESENT, pagesOffset: p.run.pagesOffset! + p.skip * PAGE_SIZE }));
}

function readLevel(dir: string, pid: number): { pagesId: number; runs: PageRun[] } {
  const pagemap = openPagemap(dir, pid);
  try {
    return { pagesId: pagemap.pagesId, runs: [...pagemap] };
  } finally {
    pagemap.close();
  }
}

/**
 * Every level of the chain that holds pages for the task, starting with
 * dir itself (its present runs), then the parents for its PE_PARENT runs.
 */
export function resolveChain(dir: string, pid: number): ChainLevel[] {
  const top = readLevel(dir, pid);
  const levels: ChainLevel[] = [{ dir, pagesId: top.pagesId, runs: top.runs.filter((r) => (r.flags & PE_PRESENT) !== 0) }];
  let wanted = normalize(top.runs.filter((r) => (r.flags & PE_PARENT) !== 0 && (r.flags & PE_PRESENT) === 0).map(spanOf));
  let at = dir;
  for (let depth = 1; wanted.length > 0; depth++) {
    const image = join(at, imageFileName('pagemap', pid));
    const parent = join(at, 'parent');
    if (depth > MAX_DEPTH) throw new ImageError(`parent chain deeper than ${MAX_DEPTH} images directories`, { image, offset: 0 });
    if (!existsSync(join(parent, imageFileName('pagemap', pid)))) {
      throw new ImageError(`pages at 0x${wanted[0]!.start.toString(16)} are in a parent image, but ${parent} has no pagemap of pid ${pid}`, { image, offset: 0 });
    }
    const level = readLevel(parent, pid);
    const present = level.runs.filter((r) => (r.flags & PE_PRESENT) !== 0);
    const further = normalize(level.runs.filter((r) => (r.flags & PE_PARENT) !== 0 && (r.flags & PE_PRESENT) === 0).map(spanOf));
    const missing = subtract(subtract(wanted, normalize(present.map(spanOf))), further);
    if (missing.length > 0) {
      throw new ImageError(`pages at 0x${missing[0]!.start.toString(16)} are in no image of the parent chain`, { image: join(parent, imageFileName('pagemap', pid)), offset: 0 });
    }
    const clipped = clipRuns(present, wanted);
    if (clipped.length > 0) levels.push({ dir: parent, pagesId: level.pagesId, runs: clipped });
    wanted = intersect(wanted, further);
    at = parent;
  }
  return levels;
}

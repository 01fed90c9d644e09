// The pages of mappings a child kept from its parent's clone (cow-vmas.ts):
// they hold the parent's restored pages, shared copy-on-write. A page the
// child's image holds with the same contents is left alone — still the
// parent's page — and only the others are read in; a page the child's
// image lacks (the child never had it, or had the zero page) is dropped
// with madvise(MADV_DONTNEED), so the child sees zeroes or its file again,
// not the parent's data. Contents are compared in big chunks: the image's
// bytes (pread) against the task's, page by page with Buffer.compare
// (memcmp); what is read in is still read by the task itself from the
// image (page-fill.ts). The task's bytes come from /proc/PID/mem, never
// process_vm_readv: that one pins the pages it reads, and a read-only pin
// of a shared anonymous page makes the kernel copy it first (gup "unshare"),
// which is the very sharing we keep. See fork(2), madvise(2), proc_pid_mem(5).
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CriuError, ImageError } from '@criu-ts/base';
import { MADV, SYS, openTaskMemory, type TaskMemory } from '@criu-ts/kernel';
import { PAGE_SIZE, PE_PRESENT, imageFileName, type PageRun } from '@criu-ts/images';
import { callsChecked, type Injector } from '@criu-ts/inject';
import { normalize, subtract, type Span } from '@criu-ts/kinds';
import { clipRuns, type ChainLevel } from './parent-pages.js';

const PAGE = BigInt(PAGE_SIZE);
/** bytes compared per read of the image and of the task */
const CHUNK = 4 << 20;

const spanOf = (run: PageRun): Span => ({ start: run.vaddr, end: run.vaddr + BigInt(run.nrPages) * PAGE });

export interface CowResult {
  levels: ChainLevel[];
  /** pages compared, and of those left shared with the parent */
  compared: number;
  shared: number;
}

/** The pages of `run` (in an inherited mapping) whose image contents differ from the task's: as runs. */
function differingRuns(mem: TaskMemory, fd: number, image: string, run: PageRun): { runs: PageRun[]; shared: number } {
  const runs: PageRun[] = [];
  const mine = Buffer.allocUnsafe(Math.min(CHUNK, run.nrPages * PAGE_SIZE));
  const theirs = Buffer.allocUnsafe(mine.length);
  let shared = 0;
  let open: PageRun | undefined;
  for (let done = 0; done < run.nrPages * PAGE_SIZE; done += mine.length) {
    const len = Math.min(mine.length, run.nrPages * PAGE_SIZE - done);
    const offset = run.pagesOffset! + done;
    if (readSync(fd, mine, 0, len, offset) !== len) throw new ImageError(`pages image is truncated: ${len} bytes wanted`, { image, offset });
    const addr = run.vaddr + BigInt(done);
    if (mem.read(addr, theirs.subarray(0, len)) !== len) {
      throw new CriuError(`task ${mem.pid}: cannot read its inherited memory at 0x${addr.toString(16)} to compare it with ${image}`, { code: 'EFAULT' });
    }
    for (let at = 0; at < len; at += PAGE_SIZE) {
      if (mine.compare(theirs, at, at + PAGE_SIZE, at, at + PAGE_SIZE) === 0) {
        shared++;
        open = undefined;
        continue;
      }
      if (open !== undefined) open.nrPages++;
      else {
        open = { vaddr: addr + BigInt(at), nrPages: 1, flags: PE_PRESENT, pagesOffset: offset + at };
        runs.push(open);
      }
    }
  }
  return { runs, shared };
}

/** One level's runs with the inherited pages equal to the task's left out. */
function levelWithoutShared(pid: number, level: ChainLevel, inherited: readonly Span[]): { level: ChainLevel; compared: number; shared: number } {
  const spans = normalize(level.runs.map(spanOf));
  const inside = clipRuns(level.runs, normalize(inherited));
  if (inside.length === 0) return { level, compared: 0, shared: 0 };
  const outside = clipRuns(level.runs, subtract(spans, normalize(inherited)));
  const image = join(level.dir, imageFileName('pages', level.pagesId));
  const fd = openSync(image, 'r');
  let mem: TaskMemory | undefined;
  let shared = 0;
  let compared = 0;
  const differing: PageRun[] = [];
  try {
    mem = openTaskMemory(pid);
    for (const run of inside) {
      const got = differingRuns(mem, fd, image, run);
      differing.push(...got.runs);
      shared += got.shared;
      compared += run.nrPages;
    }
  } finally {
    mem?.close();
    closeSync(fd);
  }
  const runs = [...outside, ...differing].sort((a, b) => (a.vaddr < b.vaddr ? -1 : a.vaddr > b.vaddr ? 1 : 0));
  return { level: { ...level, runs }, compared, shared };
}

/**
 * Drops the inherited pages the child's images do not hold, then leaves
 * out of `levels` the pages still equal to the parent's. The task's
 * inherited mappings must be readable (their fill protection set).
 */
export function keepSharedPages(injector: Injector, levels: readonly ChainLevel[], inherited: readonly Span[]): CowResult {
  if (inherited.length === 0) return { levels: [...levels], compared: 0, shared: 0 };
  const held = normalize(levels.flatMap((level) => level.runs.map(spanOf)));
  const holes = subtract(normalize(inherited), held);
  callsChecked(injector, holes.map((h) => ({ name: `madvise(0x${h.start.toString(16)}, MADV_DONTNEED)`, nr: SYS.madvise, args: [h.start, h.end - h.start, MADV.DONTNEED] })));
  let compared = 0;
  let shared = 0;
  const out = levels.map((level) => {
    const got = levelWithoutShared(injector.pid, level, inherited);
    compared += got.compared;
    shared += got.shared;
    return got.level;
  });
  return { levels: out.filter((level) => level.runs.length > 0), compared, shared };
}

// Which pages of a VMA go into pagemap-PID.img, as runs, following upstream
// (criu/mem.c should_dump_page): the whole vDSO; in private areas the pages
// present or swapped out, except those mapped to the shared zero page and,
// in private file mappings, those still backed by the page cache (never
// written, so the file has them). Adjacent runs are merged, as upstream's
// page pipe merges contiguous pages into one pagemap entry. Runs of
// private anonymous memory are marked lazy (PE_LAZY|PE_PRESENT: the data is
// in the pages image, and upstream's lazy restore may serve it on demand),
// except the pages holding a thread's stack pointer, as upstream marks them
// (criu/mem.c, vma_entry_can_be_lazy).
import { PE_LAZY, PE_PRESENT, type VmaEntry } from '@criu-ts/images';
import { MAP, PAGE_SIZE } from '@criu-ts/kernel';
import { presentRuns } from '@criu-ts/proc';
import { VMA } from './vma-flags.js';

/** A run of pages to dump: pages from vaddr on. */
export interface DumpRun {
  vaddr: bigint;
  pages: number;
  /** pages upstream would mark PE_LAZY */
  lazy?: boolean;
}

/** The pagemap flags of a dumped run. */
export function runFlags(run: DumpRun): number {
  return PE_PRESENT | (run.lazy === true ? PE_LAZY : 0);
}

/** Private anonymous memory, not locked, not hugetlb, not the vDSO area: what upstream may restore lazily. */
export function canBeLazy(vma: Pick<VmaEntry, 'flags' | 'status'>): boolean {
  const special = VMA.AREA_VDSO | VMA.AREA_VVAR | VMA.AREA_VSYSCALL;
  return (vma.flags & MAP.ANONYMOUS) !== 0 && (vma.flags & MAP.PRIVATE) !== 0 && (vma.flags & (MAP.LOCKED | MAP.HUGETLB)) === 0 && (vma.status & special) === 0;
}

/** The runs marked lazy, split so that each page in `eager` (page addresses: the threads' stack pages) is a run of its own, not lazy. */
export function markLazy(runs: readonly DumpRun[], eager: readonly bigint[]): DumpRun[] {
  const pages = [...new Set(eager)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: DumpRun[] = [];
  for (const run of runs) {
    const end = run.vaddr + BigInt(run.pages) * PAGE;
    let at = run.vaddr;
    for (const page of pages.filter((p) => p >= run.vaddr && p < end)) {
      if (page > at) out.push({ vaddr: at, pages: Number((page - at) / PAGE), lazy: true });
      out.push({ vaddr: page, pages: 1 });
      at = page + PAGE;
    }
    if (at < end) out.push({ vaddr: at, pages: Number((end - at) / PAGE), lazy: true });
  }
  return out;
}

export interface RunCounts {
  /** pages looked at */
  scanned: number;
  /** present pages left out because they map the zero page */
  zero: number;
}

const PAGE = BigInt(PAGE_SIZE);
const HI_PRESENT_OR_SWAPPED = 0xc0000000;

/** Pages whose entry says present or swapped (a loop over 32-bit words, no BigInt per page). */
export function countMapped(entries: BigUint64Array): number {
  const words = new Uint32Array(entries.buffer, entries.byteOffset, entries.length * 2);
  let n = 0;
  for (let i = 1; i < words.length; i += 2) if ((words[i] & HI_PRESENT_OR_SWAPPED) !== 0) n++;
  return n;
}

/** Appends runs to `out`, merging a run into the previous one when they touch. */
export function appendMerged(out: DumpRun[], runs: Iterable<DumpRun>): void {
  for (const run of runs) {
    const last = out[out.length - 1];
    const sameKind = (last?.lazy === true) === (run.lazy === true);
    if (last !== undefined && sameKind && last.vaddr + BigInt(last.pages) * PAGE === run.vaddr) last.pages += run.pages;
    else out.push(run.lazy === true ? { vaddr: run.vaddr, pages: run.pages, lazy: true } : { vaddr: run.vaddr, pages: run.pages });
  }
}

export interface PrivateRunOptions {
  /** the shared zero page's PFN */
  zeroPfn: bigint;
  /** a private file mapping: leave out pages still in the page cache */
  skipFilePages: boolean;
}

/** Runs to dump from a private area's pagemap entries, plus what was scanned and skipped. */
export function privateRuns(entries: BigUint64Array, start: bigint, options: PrivateRunOptions): { runs: DumpRun[]; counts: RunCounts } {
  const found = presentRuns(entries, start, { zeroPfn: options.zeroPfn });
  let kept = 0;
  const runs: DumpRun[] = [];
  appendMerged(
    runs,
    found.filter((run) => !(options.skipFilePages && run.file && !run.swapped)).map((run) => ({ vaddr: run.start, pages: run.pages })),
  );
  for (const run of found) kept += run.pages;
  return { runs, counts: { scanned: entries.length, zero: countMapped(entries) - kept } };
}

/** The whole area as one run (the vDSO, which upstream always dumps in full). */
export function wholeRun(start: bigint, end: bigint): DumpRun[] {
  return [{ vaddr: start, pages: Number((end - start) / PAGE) }];
}

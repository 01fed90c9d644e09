// Incremental dumps: which of a task's pages the parent images already
// hold. A page goes into the pagemap as PE_PARENT (no data here) only when
// all three hold: its VMA is tracked (dirty tracking ran on it since the
// parent), it was not written since, and the parent chain has a page at
// that address (its pagemap-PID.img covers it, as data or itself as
// PE_PARENT). Every other page is dumped with its data (PE_PRESENT). Works
// on sorted address ranges, never page by page.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PAGE_SIZE } from '@criu-ts/kernel';
import { PE_PARENT, PE_PRESENT, imageFileName, openPagemap } from '@criu-ts/images';
import { runFlags, type DumpRun } from './page-runs.js';

/** An address range [start, end). */
export interface Span {
  start: bigint;
  end: bigint;
}

/** A run to write: data here (PE_PRESENT) or in the parent (PE_PARENT). */
export interface SplitRun extends DumpRun {
  flags: number;
}

const PAGE = BigInt(PAGE_SIZE);

/** Sorted, joined spans. */
export function normalize(spans: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (const s of [...spans].filter((x) => x.end > x.start).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))) {
    const last = out.at(-1);
    if (last !== undefined && last.end >= s.start) last.end = last.end > s.end ? last.end : s.end;
    else out.push({ start: s.start, end: s.end });
  }
  return out;
}

/** a ∩ b, both normalized. */
export function intersect(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const start = a[i]!.start > b[j]!.start ? a[i]!.start : b[j]!.start;
    const end = a[i]!.end < b[j]!.end ? a[i]!.end : b[j]!.end;
    if (start < end) out.push({ start, end });
    if (a[i]!.end < b[j]!.end) i++;
    else j++;
  }
  return out;
}

/** a − b, both normalized. */
export function subtract(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  let j = 0;
  for (const span of a) {
    let start = span.start;
    while (j < b.length && b[j]!.end <= start) j++;
    let k = j;
    while (k < b.length && b[k]!.start < span.end) {
      if (b[k]!.start > start) out.push({ start, end: b[k]!.start });
      if (b[k]!.end > start) start = b[k]!.end;
      k++;
    }
    if (start < span.end) out.push({ start, end: span.end });
  }
  return out;
}

/**
 * Splits the runs to dump into PE_PARENT pieces (inside `clean`, the pages
 * the parent holds unchanged) and PE_PRESENT pieces, in address order.
 */
export function splitRuns(runs: readonly DumpRun[], clean: readonly Span[]): SplitRun[] {
  const out: SplitRun[] = [];
  const push = (start: bigint, end: bigint, flags: number): void => {
    if (end > start) out.push({ vaddr: start, pages: Number((end - start) / PAGE), flags });
  };
  let j = 0;
  for (const run of runs) {
    const end = run.vaddr + BigInt(run.pages) * PAGE;
    let at = run.vaddr;
    while (j < clean.length && clean[j]!.end <= at) j++;
    for (let k = j; k < clean.length && clean[k]!.start < end; k++) {
      const cs = clean[k]!.start > at ? clean[k]!.start : at;
      const ce = clean[k]!.end < end ? clean[k]!.end : end;
      push(at, cs, runFlags(run));
      push(cs, ce, PE_PARENT);
      at = ce;
    }
    push(at, end, runFlags(run));
  }
  return out;
}

/** A piece of a run that lies inside a span, with how many pages into the run it starts. */
export interface Piece<R> {
  run: R;
  start: bigint;
  end: bigint;
  /** pages from the run's start to the piece's */
  skip: number;
}

/**
 * The pieces of the runs (sorted by address, as pagemaps are) inside
 * `spans` (normalized), in one merge walk: linear, however many runs.
 */
export function piecesInside<R extends { vaddr: bigint; nrPages: number }>(runs: readonly R[], spans: readonly Span[]): Piece<R>[] {
  const out: Piece<R>[] = [];
  let j = 0;
  let last = -1n;
  for (const run of runs) {
    if (run.vaddr < last) j = 0; // out of order: start the walk again
    last = run.vaddr;
    const end = run.vaddr + BigInt(run.nrPages) * PAGE;
    while (j < spans.length && spans[j]!.end <= run.vaddr) j++;
    for (let k = j; k < spans.length && spans[k]!.start < end; k++) {
      const start = spans[k]!.start > run.vaddr ? spans[k]!.start : run.vaddr;
      const stop = spans[k]!.end < end ? spans[k]!.end : end;
      if (start < stop) out.push({ run, start, end: stop, skip: Number((start - run.vaddr) / PAGE) });
    }
  }
  return out;
}

/** What the parent images hold for a task: every page its pagemap names (data or PE_PARENT). */
export function parentCoverage(parentDir: string, pid: number): Span[] {
  if (!existsSync(join(parentDir, imageFileName('pagemap', pid)))) return [];
  const pagemap = openPagemap(parentDir, pid);
  try {
    const spans: Span[] = [];
    for (const run of pagemap) {
      if ((run.flags & (PE_PRESENT | PE_PARENT)) === 0) continue;
      spans.push({ start: run.vaddr, end: run.vaddr + BigInt(run.nrPages) * PAGE });
    }
    return normalize(spans);
  } finally {
    pagemap.close();
  }
}

/** Pages counted in runs. */
export function pagesIn(runs: readonly DumpRun[]): number {
  return runs.reduce((sum, run) => sum + run.pages, 0);
}

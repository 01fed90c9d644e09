// The pages a restored task still lacks, as sorted ranges of its address
// space: where each range is now (start, end: moved by mremap) and where
// it was at dump time (imgStart: what the images and the page server know
// it by). Built from the PE_LAZY runs of pagemap-PID.img, split at VMA
// boundaries (UFFDIO_COPY stays inside one VMA). The daemon takes pieces
// out as it fills them and follows the task's unmaps, removes and remaps
// (UFFD_EVENT_*); a forked child starts with a copy of its parent's.
import { PAGE_SIZE } from '@criu-ts/images';

export interface LazyIov {
  start: bigint;
  end: bigint;
  imgStart: bigint;
}

const PAGE = BigInt(PAGE_SIZE);

/** The lazy runs cut at the VMAs' ends (both sorted); parts outside every VMA are left out. */
export function collectIovs(runs: readonly { vaddr: bigint; nrPages: number }[], vmas: readonly { start: bigint; end: bigint }[]): LazyIov[] {
  const iovs: LazyIov[] = [];
  let v = 0;
  for (const run of runs) {
    const end = run.vaddr + BigInt(run.nrPages) * PAGE;
    let at = run.vaddr;
    while (at < end && v < vmas.length) {
      const vma = vmas[v]!;
      if (vma.end <= at) {
        v++;
        continue;
      }
      if (vma.start >= end) break;
      const from = at > vma.start ? at : vma.start;
      const to = end < vma.end ? end : vma.end;
      if (from < to) iovs.push({ start: from, end: to, imgStart: from });
      at = to;
      if (to === vma.end) v++;
    }
  }
  return iovs;
}

export function pagesOf(iovs: readonly LazyIov[]): number {
  return iovs.reduce((n, iov) => n + Number((iov.end - iov.start) / PAGE), 0);
}

/** The iov holding addr, if any. */
export function findIov(iovs: readonly LazyIov[], addr: bigint): LazyIov | undefined {
  let lo = 0;
  let hi = iovs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const iov = iovs[mid]!;
    if (addr < iov.start) hi = mid - 1;
    else if (addr >= iov.end) lo = mid + 1;
    else return iov;
  }
  return undefined;
}

/** Removes [start, end) from the ranges (an unmap, a remove, or pages now in place). */
export function dropRange(iovs: LazyIov[], start: bigint, end: bigint): void {
  const out: LazyIov[] = [];
  for (const iov of iovs) {
    if (iov.end <= start || iov.start >= end) {
      out.push(iov);
      continue;
    }
    if (iov.start < start) out.push({ start: iov.start, end: start, imgStart: iov.imgStart });
    if (iov.end > end) out.push({ start: end, end: iov.end, imgStart: iov.imgStart + (end - iov.start) });
  }
  iovs.splice(0, iovs.length, ...out);
}

/** mremap moved [from, from+len) to `to`: the ranges there move with it (what was at `to` is gone). */
export function remapRange(iovs: LazyIov[], from: bigint, to: bigint, len: bigint): void {
  const moved: LazyIov[] = [];
  for (const iov of iovs) {
    const s = iov.start > from ? iov.start : from;
    const e = iov.end < from + len ? iov.end : from + len;
    if (s < e) moved.push({ start: s - from + to, end: e - from + to, imgStart: iov.imgStart + (s - iov.start) });
  }
  dropRange(iovs, from, from + len);
  dropRange(iovs, to, to + len);
  iovs.push(...moved);
  iovs.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

/** A piece to fill: at most maxBytes from addr on, inside addr's iov. */
export function pieceAt(iov: LazyIov, addr: bigint, maxBytes: bigint): LazyIov {
  const end = addr + maxBytes < iov.end ? addr + maxBytes : iov.end;
  return { start: addr, end, imgStart: iov.imgStart + (addr - iov.start) };
}

export function copyIovs(iovs: readonly LazyIov[]): LazyIov[] {
  return iovs.map((iov) => ({ ...iov }));
}

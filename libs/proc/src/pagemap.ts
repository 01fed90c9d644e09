// /proc/PID/pagemap: one little-endian u64 per virtual page, at file offset
// (address / page size) * 8 (Documentation/admin-guide/mm/pagemap.rst).
// A range is read with positioned reads straight into the returned array
// (one read unless the range needs more than CHUNK_BYTES).
import { closeSync, openSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { procPath, readFully, withProcErrors } from './proc-files.js';

export const PAGE_SIZE = 4096n;

/** Bits of a pagemap entry. */
export const PM = {
  PRESENT: 1n << 63n,
  SWAPPED: 1n << 62n,
  /** file-page or shared-anon */
  FILE: 1n << 61n,
  /** "page exclusively mapped" */
  EXCLUSIVE: 1n << 56n,
  /** always 0 here: CONFIG_MEM_SOFT_DIRTY is off */
  SOFT_DIRTY: 1n << 55n,
  /** bits 0-54: page frame number when present (0 without CAP_SYS_ADMIN) */
  PFN_MASK: (1n << 55n) - 1n,
} as const;

/** Largest single read; a range needing more is read in several. */
export const CHUNK_BYTES = 64 * 1024 * 1024;

export interface PagemapReader {
  readonly pid: number;
  /** entries for the pages of [start, end): both page-aligned, start < end */
  read(start: bigint, end: bigint): BigUint64Array;
  close(): void;
}

function checkRange(pid: number, start: bigint, end: bigint): number {
  if (start % PAGE_SIZE !== 0n || end % PAGE_SIZE !== 0n || end <= start) {
    throw new CriuError(`pagemap pid ${pid}: bad range 0x${start.toString(16)}-0x${end.toString(16)}`, { code: 'EINVAL' });
  }
  return Number((end - start) / PAGE_SIZE);
}

function readRange(pid: number, fd: number, range: { start: bigint; end: bigint; chunkBytes: number }): BigUint64Array {
  const { start, end, chunkBytes } = range;
  const pages = checkRange(pid, start, end);
  const entries = new BigUint64Array(pages);
  const bytes = new Uint8Array(entries.buffer);
  const base = (start / PAGE_SIZE) * 8n;
  for (let off = 0; off < bytes.length; off += chunkBytes) {
    const chunk = bytes.subarray(off, Math.min(off + chunkBytes, bytes.length));
    const got = withProcErrors(pid, procPath(pid, 'pagemap'), () => readFully(fd, chunk, base + BigInt(off)));
    if (got !== chunk.length) {
      throw new CriuError(`pagemap pid ${pid}: short read at 0x${(start + BigInt(off / 8) * PAGE_SIZE).toString(16)} (${got} of ${chunk.length} bytes)`, { code: 'EPROCSHORT' });
    }
  }
  return entries;
}

export interface PagemapOptions {
  /** bytes per read (a multiple of 8); CHUNK_BYTES unless given */
  chunkBytes?: number;
}

/** Opens /proc/PID/pagemap once for many reads (one per VMA, say). */
export function openPagemap(pid: number, options: PagemapOptions = {}): PagemapReader {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  if (chunkBytes <= 0 || chunkBytes % 8 !== 0) throw new CriuError(`pagemap: chunk of ${chunkBytes} bytes is not a positive multiple of 8`, { code: 'EINVAL' });
  const path = procPath(pid, 'pagemap');
  const fd = withProcErrors(pid, path, () => openSync(path, 'r'));
  return {
    pid,
    read: (start, end) => readRange(pid, fd, { start, end, chunkBytes }),
    close: () => closeSync(fd),
  };
}

/** Entries for the pages of [start, end) of task pid. */
export function readPagemap(pid: number, start: bigint, end: bigint): BigUint64Array {
  const reader = openPagemap(pid);
  try {
    return reader.read(start, end);
  } finally {
    reader.close();
  }
}

/** The PFN of a present entry (0 if PFNs are hidden from us), undefined if not present. */
export function pfnOf(entry: bigint): bigint | undefined {
  return (entry & PM.PRESENT) === 0n || (entry & PM.SWAPPED) !== 0n ? undefined : entry & PM.PFN_MASK;
}

/**
 * The shared zero page's PFN, from a page of task pid that was read but
 * never written (private anonymous memory): such a read maps the zero
 * page. The caller provides that page (e.g. mmap + read in itself) once
 * and passes the result to presentRuns.
 */
export function readZeroPagePfn(pid: number, address: bigint): bigint {
  const page = address - (address % PAGE_SIZE);
  const pfn = pfnOf(readPagemap(pid, page, page + PAGE_SIZE)[0]);
  if (pfn === undefined) throw new CriuError(`pagemap pid ${pid}: page 0x${page.toString(16)} is not present; read it before asking for its PFN`, { code: 'ENOZEROPAGE' });
  if (pfn === 0n) throw new CriuError(`pagemap pid ${pid}: PFNs are hidden`, { code: 'ENOZEROPAGE', hint: 'reading PFNs needs CAP_SYS_ADMIN' });
  return pfn;
}

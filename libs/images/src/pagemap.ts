// pagemap-ID.img and pages-N.img: a pagemap_head {pages_id}, then one
// pagemap_entry per run of pages; the data of the runs present in this dump
// lies in pages-<pages_id>.img, in entry order. Page data is moved by callers
// (preadv, splice, process_vm_*): we hand out the pages image fd and offsets.
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { CriuError, ImageError } from '@criu-ts/base';
import { imageFileName } from './kind-lookup.js';
import { openImage, type ImageReader } from './image-reader.js';
import { createImage, type ImageWriter, type PayloadSlot } from './image-writer.js';
import { wireType } from './wire-types.js';
import type { ImageMessage } from './wire.js';
import type { PagemapEntry } from './generated/messages.js';

export const PAGE_SIZE = 4096;
/** pagemap_entry flags (CRIU's PE_*) */
export const PE_PARENT = 1 << 0;
export const PE_LAZY = 1 << 1;
export const PE_PRESENT = 1 << 2;

/** A run of pages: where it is, and (if present) where its data is in the pages image. */
export interface PageRun {
  vaddr: bigint;
  nrPages: number;
  flags: number;
  /** byte offset of the run's data in pages-<pagesId>.img; undefined when not present there */
  pagesOffset?: number;
}

/** Field names of pagemap_entry's page counts: field 2 (uint32, every CRIU) and field 5 (uint64, CRIU 4). */
function countFields(): { compat: string; wide: string | undefined } {
  const type = wireType('pagemap_entry');
  const compat = type.byId[2];
  if (compat === undefined) throw new CriuError('pagemap_entry has no field 2 (page count)', { code: 'ENOSCHEMA' });
  return { compat: compat.name, wide: type.byId[5]?.name };
}

/**
 * A pagemap_entry for a run, both page counts filled as CRIU 4 writes them
 * (field 2 where the count fits, field 5 always when the schema has it).
 */
export function pagemapEntry(run: { vaddr: bigint; nrPages: number; flags: number }): PagemapEntry {
  const fields = countFields();
  const message: ImageMessage = { vaddr: run.vaddr, [fields.compat]: run.nrPages <= 0xffffffff ? run.nrPages : 0, flags: run.flags };
  if (fields.wide !== undefined) message[fields.wide] = BigInt(run.nrPages);
  else if (run.nrPages > 0xffffffff) throw new CriuError(`run of ${run.nrPages} pages does not fit pagemap_entry`, { code: 'EINVAL' });
  // the field names come from the schema (field 2 and 5), so the type is asserted
  return message as unknown as PagemapEntry;
}

function runFlags(entry: ImageMessage): number {
  if (typeof entry.flags === 'number') return entry.flags;
  return entry.in_parent === true ? PE_PARENT : PE_PRESENT;
}

/** The end of the 64-bit address space: no run may reach past it. */
const ADDRESS_SPACE_END = 1n << 64n;
/** Runs larger than this (2^40 pages, 4 PiB) are no real task's. */
const MAX_RUN_PAGES = 2 ** 40;

/**
 * Reads the runs of a pagemap image one at a time. The image is untrusted:
 * each run must be page aligned, non-empty and inside the address space,
 * else an ImageError names the entry's offset (that runs lie in the task's
 * mappings is the restore's check).
 */
export class PagemapReader implements Iterable<PageRun> {
  readonly pagesId: number;
  private pagesOffset = 0;
  private readonly fields = countFields();

  constructor(private readonly reader: ImageReader) {
    const head = reader.next();
    if (head === null) throw new ImageError('no pagemap_head', { image: reader.image, offset: reader.offset });
    const pagesId = head.message.pages_id;
    if (typeof pagesId !== 'number' || !Number.isSafeInteger(pagesId) || pagesId < 0) {
      throw new ImageError(`pagemap_head has a bad pages_id ${String(pagesId)}`, { image: reader.image, offset: 8 });
    }
    this.pagesId = pagesId;
  }

  /** Bytes of page data the runs so far hold in the pages image. */
  get presentBytes(): number {
    return this.pagesOffset;
  }

  private checked(m: ImageMessage, at: number): PageRun {
    const wide = this.fields.wide === undefined ? undefined : m[this.fields.wide];
    const count = wide ?? m[this.fields.compat];
    const nrPages = typeof count === 'bigint' || typeof count === 'number' ? Number(count) : NaN;
    const vaddr = m.vaddr;
    const where = { image: this.reader.image, offset: at };
    if (typeof vaddr !== 'bigint') throw new ImageError('pagemap_entry without a vaddr', where);
    const what = `run at 0x${vaddr.toString(16)} of ${String(count)} page(s)`;
    if (!Number.isSafeInteger(nrPages) || nrPages < 1 || nrPages > MAX_RUN_PAGES) throw new ImageError(`${what}: bad page count`, where);
    if (vaddr % BigInt(PAGE_SIZE) !== 0n) throw new ImageError(`${what}: address not page aligned`, where);
    const end = vaddr + BigInt(nrPages) * BigInt(PAGE_SIZE);
    if (end > ADDRESS_SPACE_END) throw new ImageError(`${what}: runs past the end of the address space`, where);
    return { vaddr, nrPages, flags: runFlags(m) };
  }

  next(): PageRun | null {
    const at = this.reader.offset;
    const entry = this.reader.next();
    if (entry === null) return null;
    const run = this.checked(entry.message, at);
    if ((run.flags & PE_PRESENT) !== 0) {
      run.pagesOffset = this.pagesOffset;
      this.pagesOffset += run.nrPages * PAGE_SIZE;
    }
    return run;
  }

  *[Symbol.iterator](): Iterator<PageRun> {
    for (let run = this.next(); run !== null; run = this.next()) yield run;
  }

  close(): void {
    this.reader.close();
  }
}

/** Open pagemap-<id>.img (kind 'pagemap' or 'pagemap-shmem') in dir. */
export function openPagemap(dir: string, id: number | bigint, kind: 'pagemap' | 'pagemap-shmem' = 'pagemap'): PagemapReader {
  return new PagemapReader(openImage(join(dir, imageFileName(kind, id)), kind));
}

/** Open pages-<pagesId>.img read-only; the caller closes the fd. */
export function openPagesImage(dir: string, pagesId: number): number {
  return openSync(join(dir, imageFileName('pages', pagesId)), 'r');
}

/** Writes a pagemap image and its pages image side by side. */
export class PagemapWriter {
  constructor(
    private readonly pagemap: ImageWriter,
    private readonly pages: ImageWriter,
    readonly pagesId: number,
  ) {
    pagemap.write({ message: { pages_id: pagesId } });
  }

  /** The pages image fd, for callers that write page data themselves. */
  get pagesFd(): number {
    return this.pages.fd;
  }

  /**
   * Append a run. A present run (PE_PRESENT) gets nrPages pages in the pages
   * image: written from `data` if given, else a slot the caller fills.
   */
  appendRun(run: { vaddr: bigint; nrPages: number; flags: number; data?: Uint8Array }): PayloadSlot | undefined {
    this.pagemap.write({ message: { ...pagemapEntry(run) } });
    if ((run.flags & PE_PRESENT) === 0) return undefined;
    const length = run.nrPages * PAGE_SIZE;
    if (run.data === undefined) return this.pages.reserve(length);
    if (run.data.length !== length) throw new CriuError(`run data of ${run.data.length} bytes for ${run.nrPages} pages`, { code: 'EINVAL' });
    this.pages.append(run.data);
    return undefined;
  }

  /** Flush, fsync and close both images. */
  close(): void {
    try {
      this.pagemap.close();
    } finally {
      this.pages.close();
    }
  }
}

/** Create pagemap-<id>.img and pages-<pagesId>.img in dir. */
export function createPagemap(dir: string, id: number | bigint, pagesId: number, kind: 'pagemap' | 'pagemap-shmem' = 'pagemap'): PagemapWriter {
  const pagemap = createImage(join(dir, imageFileName(kind, id)), kind);
  try {
    return new PagemapWriter(pagemap, createImage(join(dir, imageFileName('pages', pagesId)), 'pages'), pagesId);
  } catch (error) {
    pagemap.close();
    throw error;
  }
}

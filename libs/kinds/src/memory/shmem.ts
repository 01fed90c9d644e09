// Shared memory objects (MAP_SHARED|MAP_ANONYMOUS, shared /dev/zero, memfd)
// are dumped once per object however many tasks or VMAs map them, keyed by
// shmid (the object's inode on the internal shmem mount, as upstream keys
// them), into pagemap-shmem-<shmid>.img + pages-N.img. pagemap entries
// hold byte offsets into the object. Which pages: the data extents
// (lseek SEEK_DATA/SEEK_HOLE), i.e. pages the object holds in RAM or swap;
// holes read as zeros and are left out. With --page-server the runs go to
// the page sink instead. See memfd_create(2), lseek(2).
import { readSync, writeSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { PE_PRESENT, createPagemap } from '@criu-ts/images';
import { PAGE_SIZE, SEEK, SYS, trySyscall } from '@criu-ts/kernel';
import type { DumpContext, PageSink } from '../dump-context.js';
import { appendMerged, type DumpRun } from './page-runs.js';
import { memoryTables } from './tables.js';

const ENXIO = 6;

function seek(fd: number, offset: number, whence: number): number | undefined {
  const { value, errno } = trySyscall(SYS.lseek, fd, offset, whence);
  if (errno === ENXIO) return undefined;
  if (errno !== 0) throw new CriuError(`lseek(fd ${fd}, ${offset}, ${whence}) failed, errno ${errno}`, { code: 'EIO' });
  return Number(value);
}

/** The object's data extents below `size`, as page runs (vaddr = offset in the object). */
export function dataRuns(fd: number, size: number): DumpRun[] {
  const runs: DumpRun[] = [];
  const limit = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  for (let at = 0; at < limit; ) {
    const data = seek(fd, at, SEEK.DATA);
    if (data === undefined || data >= limit) break;
    const hole = Math.min(seek(fd, data, SEEK.HOLE) ?? limit, limit);
    const start = Math.floor(data / PAGE_SIZE) * PAGE_SIZE;
    const end = Math.ceil(hole / PAGE_SIZE) * PAGE_SIZE;
    appendMerged(runs, [{ vaddr: BigInt(start), pages: (end - start) / PAGE_SIZE }]);
    at = end;
  }
  return runs;
}

/** Reads a run of the object chunk by chunk into buf; `use` gets each chunk and its offset in the run. */
function readChunks(fd: number, run: DumpRun, buf: Buffer, use: (chunk: Buffer, done: number) => void): void {
  const total = run.pages * PAGE_SIZE;
  for (let done = 0; done < total; ) {
    const len = Math.min(buf.length, total - done);
    const chunk = buf.subarray(0, len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, chunk, got, len - got, Number(run.vaddr) + done + got);
      if (n === 0) break;
      got += n;
    }
    chunk.fill(0, got); // a file shorter than its last page reads as zeros there
    use(chunk, done);
    done += len;
  }
}

function copyFromFile(fd: number, run: DumpRun, slotOffset: number, pagesFd: number, buf: Buffer): void {
  readChunks(fd, run, buf, (chunk, done) => {
    for (let w = 0; w < chunk.length; ) w += writeSync(pagesFd, chunk, w, chunk.length - w, slotOffset + done + w);
  });
}

/** --page-server: the object's runs go to the page sink, chunk by chunk. */
function sendShmem(sink: PageSink, fd: number, runs: readonly DumpRun[], buf: Buffer): number {
  let pages = 0;
  for (const run of runs) {
    readChunks(fd, run, buf, (chunk, done) => {
      sink.addRun({ vaddr: run.vaddr + BigInt(done), nrPages: chunk.length / PAGE_SIZE, flags: PE_PRESENT }, { data: chunk });
    });
    pages += run.pages;
  }
  return pages;
}

/**
 * Dump the shared memory object behind fd (readable) as shmid, unless this
 * dump already did. Returns the pages written (0 when already dumped).
 */
export function dumpShmemOnce(ctx: DumpContext, fd: number, shmid: number, size: number): number {
  const tables = memoryTables(ctx);
  if (tables.shmemDumped.has(shmid)) return 0;
  tables.shmemDumped.add(shmid);
  const runs = dataRuns(fd, size);
  if (ctx.pageSink !== undefined) {
    ctx.pageSink.open('pagemap-shmem', shmid);
    const sent = sendShmem(ctx.pageSink, fd, runs, tables.buffer);
    ctx.log.info(`shmem ${shmid}: ${sent} page(s) of ${size} bytes sent to the page server`);
    return sent;
  }
  const writer = createPagemap(ctx.options.imagesDir, shmid, ctx.nextId(), 'pagemap-shmem');
  let pages = 0;
  try {
    for (const run of runs) {
      const slot = writer.appendRun({ vaddr: run.vaddr, nrPages: run.pages, flags: PE_PRESENT });
      if (slot === undefined) throw new CriuError(`pagemap-shmem-${shmid}: no slot for a present run`, { code: 'EINVAL' });
      copyFromFile(fd, run, slot.offset, slot.fd, tables.buffer);
      pages += run.pages;
    }
  } finally {
    writer.close();
  }
  ctx.stats.shpagesWritten = (ctx.stats.shpagesWritten ?? 0) + pages;
  ctx.log.info(`shmem ${shmid}: ${pages} page(s) of ${size} bytes dumped`);
  return pages;
}

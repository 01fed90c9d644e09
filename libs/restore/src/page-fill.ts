// Reading a task's pages back: the runs of pagemap-PID.img whose data is in
// pages-N.img are read by the task itself, with injected preadv calls on
// the pages image, which it opens by its path — or, in a mount namespace
// of its own, where it does not see the images directory, under its fd on
// that directory kept from before the namespace turned (up to IOV_MAX runs
// per call, one iovec per
// run, consecutive runs being consecutive in the file). The page data never
// passes through the tool. Runs held by a parent image (PE_PARENT,
// incremental dumps) are read from the parent chain's pages images
// (parent-pages.ts). PE_LAZY|PE_PRESENT runs (upstream marks private
// anonymous pages so) are in the pages image and read like others; runs
// with PE_LAZY alone (a `dump --lazy-pages`) are refused. With
// --lazy-pages every PE_LAZY run is left out: the lazy-pages daemon fills
// it on demand (lazy-handover.ts). In mappings kept from the parent's
// clone, pages equal to the parent's are left shared (cow-pages.ts).
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CriuError, ImageError, SyscallError, UnsupportedError } from '@criu-ts/base';
import { AT, IOV_MAX, MADV, O, SYS } from '@criu-ts/kernel';
import { PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT, imageFileName, openPagemap, type PageRun } from '@criu-ts/images';
import type { BatchCall, Injector } from '@criu-ts/inject';
import { putPath, putScratch, type Range, type TaskArea } from './task-area.js';
import { keepSharedPages } from './cow-pages.js';
import { resolveChain, type ChainLevel } from './parent-pages.js';

/** One preadv: runs contiguous in the pages file, read from fileOffset. */
export interface ReadBatch {
  fileOffset: number;
  iovecs: { addr: bigint; len: number }[];
  bytes: number;
}

/** A read(2)-family call moves at most MAX_RW_COUNT (~2 GiB) at once: stay well below. */
const MAX_BATCH_BYTES = 1 << 30;

/** Groups present runs into preadv batches (at most maxIov each, contiguous in the file). */
export function planReads(runs: readonly PageRun[], maxIov = IOV_MAX): ReadBatch[] {
  const batches: ReadBatch[] = [];
  let current: ReadBatch | undefined;
  for (const run of runs) {
    if (run.pagesOffset === undefined) continue;
    // a run larger than one call may move is read in pieces
    for (let done = 0; done < run.nrPages * PAGE_SIZE; ) {
      const len = Math.min(run.nrPages * PAGE_SIZE - done, MAX_BATCH_BYTES);
      const fileOffset = run.pagesOffset + done;
      const contiguous =
        current !== undefined &&
        current.fileOffset + current.bytes === fileOffset &&
        current.iovecs.length < maxIov &&
        current.bytes + len <= MAX_BATCH_BYTES;
      if (!contiguous) {
        current = { fileOffset, iovecs: [], bytes: 0 };
        batches.push(current);
      }
      current!.iovecs.push({ addr: run.vaddr + BigInt(done), len });
      current!.bytes += len;
      done += len;
    }
  }
  return batches;
}

/**
 * Reads and checks the runs of pagemap-PID.img (PE_PARENT runs are left to
 * the parent chain; `lazy`: PE_LAZY runs are left to the lazy-pages daemon).
 */
export function readRuns(dir: string, pid: number, lazy = false): { pagesId: number; runs: PageRun[]; inParent: boolean } {
  const pagemap = openPagemap(dir, pid);
  try {
    const runs = lazy ? [...pagemap].filter((run) => (run.flags & PE_LAZY) === 0) : [...pagemap];
    for (const run of runs) {
      // upstream marks every private anonymous page PE_LAZY; with PE_PRESENT its data is in pages-N.img
      if ((run.flags & PE_LAZY) !== 0 && (run.flags & PE_PRESENT) === 0) {
        throw new UnsupportedError({ pid, kind: 'lazy pages (not in the pages image: restore them with --lazy-pages and `criu lazy-pages`)', address: run.vaddr });
      }
    }
    const inParent = runs.some((run) => (run.flags & PE_PARENT) !== 0);
    return { pagesId: pagemap.pagesId, runs: runs.filter((run) => (run.flags & PE_PRESENT) !== 0), inParent };
  } finally {
    pagemap.close();
  }
}

/** An injected openat(2) of `path` in the task; a failure names the path. */
export function openInTask(injector: Injector, area: TaskArea, path: string, flags: number): bigint {
  try {
    return injector.call('openat', SYS.openat, [AT.FDCWD, putPath(injector.pid, area, path), flags | O.CLOEXEC, 0]);
  } catch (error) {
    if (error instanceof SyscallError) throw new CriuError(`task ${injector.pid}: cannot open ${path}: ${error.message}`, { code: error.code, cause: error });
    throw error;
  }
}

/**
 * Opens many files in the task (O_CLOEXEC added), in as few trips as the
 * scratch holds their paths: their fds in order. A failure names the file;
 * the files opened before it are closed.
 */
export function openAllInTask(injector: Injector, area: TaskArea, files: readonly { path: string; flags: number }[]): bigint[] {
  const fds: bigint[] = [];
  try {
    for (let first = 0; first < files.length; ) {
      const calls: { nr: number; args: bigint[] }[] = [];
      let offset = 0;
      for (let i = first; i < files.length; i++) {
        const bytes = Buffer.byteLength(files[i]!.path) + 1;
        if (calls.length > 0 && offset + bytes > area.scratchSize) break;
        calls.push({ nr: SYS.openat, args: [BigInt(AT.FDCWD), putPath(injector.pid, area, files[i]!.path, offset), BigInt(files[i]!.flags | O.CLOEXEC), 0n] });
        offset += bytes;
      }
      const results = injector.batch(calls);
      results.forEach((fd) => {
        if (fd >= 0n) fds.push(fd);
      });
      const failed = results.findIndex((fd) => fd < 0n);
      if (failed >= 0) {
        const error = new SyscallError({ syscall: 'openat', errno: Number(-results[failed]!), pid: injector.pid });
        throw new CriuError(`task ${injector.pid}: cannot open ${files[first + failed]!.path}: ${error.message}`, { code: error.code, cause: error });
      }
      first += calls.length;
    }
    return fds;
  } catch (error) {
    if (fds.length > 0) injector.batch(fds.map((fd) => ({ nr: SYS.close, args: [fd] })));
    throw error;
  }
}

function iovecBuffer(batch: ReadBatch): Buffer {
  const buf = Buffer.alloc(batch.iovecs.length * 16);
  batch.iovecs.forEach((iov, i) => {
    buf.writeBigUInt64LE(iov.addr, i * 16);
    buf.writeBigUInt64LE(BigInt(iov.len), i * 16 + 8);
  });
  return buf;
}

export interface FillOptions {
  /** MADV_POPULATE_WRITE each run before reading into it */
  populate: boolean;
  /** the task's pid in the images (in its own pid namespace); default: its pid */
  imagePid?: number;
  /** --lazy-pages: PE_LAZY runs are not read (the lazy-pages daemon fills them) */
  lazy?: boolean;
  /** the task's fd on the images directory, when it is in a mount namespace of its own (mnt-restore.ts) */
  imagesFd?: number;
}

/** Sorted ranges with adjacent ones joined (a run may span neighbouring mappings). */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const merged: Range[] = [];
  for (const r of [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))) {
    const last = merged.at(-1);
    if (last !== undefined && last.end >= r.start) last.end = last.end > r.end ? last.end : r.end;
    else merged.push({ start: r.start, end: r.end });
  }
  return merged;
}

/** The task's mappings as page reads see them. */
export interface MappedRanges {
  /** private mappings we made: pages are read into these only */
  private: readonly Range[];
  /** shared mappings (a file's, shared anonymous, memfd): their contents are their object's, never the task's pagemap */
  shared: readonly Range[];
  /** the vDSO area: the kernel's own vDSO is moved there */
  skipped: readonly Range[];
  /** private mappings kept from the parent's clone, holding its pages (cow-pages.ts); inside `private` */
  inherited?: readonly Range[];
}

/**
 * The runs to read: those in the private mappings we made. Runs in the
 * vDSO area (a dump may carry its pages) are skipped. A run in a shared
 * mapping would write the task's pages into a file or a shared object, and
 * one outside every mapping has nowhere to go: both are image errors.
 */
export function runsToRead(runs: readonly PageRun[], ranges: MappedRanges, image: string): PageRun[] {
  const inside = (run: PageRun, spans: readonly Range[]): boolean =>
    spans.some((r) => run.vaddr >= r.start && run.vaddr + BigInt(run.nrPages * PAGE_SIZE) <= r.end);
  const overlaps = (run: PageRun, spans: readonly Range[]): boolean =>
    spans.some((r) => run.vaddr < r.end && r.start < run.vaddr + BigInt(run.nrPages * PAGE_SIZE));
  const privateSpans = mergeRanges(ranges.private);
  const skippedSpans = mergeRanges(ranges.skipped);
  return runs.filter((run) => {
    const where = `pages at 0x${run.vaddr.toString(16)} (${run.nrPages})`;
    if (overlaps(run, ranges.shared)) throw new ImageError(`${where} lie in a shared mapping, whose contents are not the task's to write`, { image, offset: 0 });
    if (inside(run, privateSpans)) return true;
    if (inside(run, skippedSpans)) return false;
    throw new ImageError(`${where} lie outside the task's dumped mappings`, { image, offset: 0 });
  });
}

/**
 * Why a batch read came up short: the pages image ends early, or — the
 * image holding the bytes — the task's memory took fewer (a mapping past
 * the end of its file, say).
 */
export function shortReadError(pid: number, image: string, imageSize: number, batch: ReadBatch, got: bigint): CriuError {
  if (imageSize < batch.fileOffset + batch.bytes) {
    return new ImageError(`pages image is truncated: read ${got} of ${batch.bytes} bytes`, { image, offset: batch.fileOffset });
  }
  const at = batch.iovecs[0]?.addr ?? 0n;
  return new CriuError(`task ${pid}: its memory from 0x${at.toString(16)} took ${got} of the ${batch.bytes} bytes at offset ${batch.fileOffset} of ${image} (a mapping past the end of its file?)`, {
    code: 'EFAULT',
  });
}

/**
 * Reads one level's runs (already filtered) from its pages image, inside
 * the task: openat, every preadv (their iovecs side by side in the
 * scratch) and close in as few trips as the scratch holds iovecs — one
 * for most tasks. Each preadv must read all its bytes.
 */
/**
 * The call that gives the task its fd on `image`: an openat of its path,
 * or — in a mount namespace of its own, where the images directory is not
 * to be seen — of its path under the task's fd on that directory, opened
 * before the namespace turned (mnt-restore.ts); `scratch` bytes it uses.
 */
function openImageCall(injector: Injector, area: TaskArea, image: string, at: { fd: number; dir: string } | undefined): { call: BatchCall; scratch: number } {
  const path = at === undefined ? image : relative(at.dir, image);
  const call = { nr: SYS.openat, args: [BigInt(at === undefined ? AT.FDCWD : at.fd), putPath(injector.pid, area, path), BigInt(O.RDONLY | O.CLOEXEC), 0n] };
  return { call, scratch: Math.ceil((Buffer.byteLength(path) + 1) / 16) * 16 };
}

function readLevel(injector: Injector, area: TaskArea, level: ChainLevel, at: { fd: number; dir: string } | undefined): void {
  const image = join(level.dir, imageFileName('pages', level.pagesId));
  const reads = planReads(level.runs);
  let fd: bigint | undefined;
  try {
    for (let first = 0; first < reads.length || fd === undefined; ) {
      const calls: BatchCall[] = [];
      let offset = 0;
      if (fd === undefined) {
        const open = openImageCall(injector, area, image, at);
        calls.push(open.call);
        offset = open.scratch;
      }
      const fdArg = fd ?? { result: 0 };
      const batched: ReadBatch[] = [];
      for (let i = first; i < reads.length; i++) {
        const iovecs = iovecBuffer(reads[i]!);
        if (batched.length > 0 && offset + iovecs.length > area.scratchSize) break;
        const iov = putScratch(injector.pid, area, iovecs, offset);
        calls.push({ nr: SYS.preadv, args: [fdArg, iov, reads[i]!.iovecs.length, reads[i]!.fileOffset, 0] });
        batched.push(reads[i]!);
        offset += iovecs.length;
      }
      const results = injector.batch(calls);
      if (fd === undefined) {
        const opened = results.shift()!;
        if (opened < 0n) {
          const error = new SyscallError({ syscall: 'openat', errno: Number(-opened), pid: injector.pid });
          throw new CriuError(`task ${injector.pid}: cannot open ${image}: ${error.message}`, { code: error.code, cause: error });
        }
        fd = opened;
      }
      results.forEach((got, i) => {
        const batch = batched[i]!;
        if (got !== BigInt(batch.bytes)) throw shortReadError(injector.pid, image, statSync(image).size, batch, got);
      });
      first += batched.length;
    }
  } finally {
    if (fd !== undefined) injector.call('close', SYS.close, [fd]);
  }
}

/** Fills the task's memory from the pages image (and its parents'); returns the number of pages read. */
export function fillPages(injector: Injector, area: TaskArea, dir: string, options: FillOptions & MappedRanges): number {
  const pid = options.imagePid ?? injector.pid;
  const top = readRuns(dir, pid, options.lazy === true);
  const chain: ChainLevel[] = top.inParent ? resolveChain(dir, pid) : [{ dir, pagesId: top.pagesId, runs: top.runs }];
  const wanted = chain
    .map((level) => ({ ...level, runs: runsToRead(level.runs, options, join(level.dir, imageFileName('pagemap', pid))) }))
    .filter((level) => level.runs.length > 0);
  const { levels } = keepSharedPages(injector, wanted, options.inherited ?? []);
  if (options.populate) {
    for (const level of levels) for (const run of level.runs) injector.call('madvise', SYS.madvise, [run.vaddr, run.nrPages * PAGE_SIZE, MADV.POPULATE_WRITE]);
  }
  const at = options.imagesFd === undefined ? undefined : { fd: options.imagesFd, dir };
  for (const level of levels) readLevel(injector, area, level, at);
  return levels.reduce((sum, level) => sum + level.runs.reduce((n, run) => n + run.nrPages, 0), 0);
}

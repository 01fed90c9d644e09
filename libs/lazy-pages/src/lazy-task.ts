// One restored task as the daemon sees it: its userfaultfd, the pages it
// still lacks (lazy-iovs.ts), and how each event of the uffd changes that.
// Faults are served at once (a small piece around the faulting page); the
// rest is copied in the background in big pieces once the restore has
// finished. Where the kernel says the task is gone (ESRCH, ENOSPC) the task
// is done; where its mm is changing (EAGAIN) the piece is tried again.
import { closeSync } from 'node:fs';
import { CriuError, SyscallError, type Logger } from '@criu-ts/base';
import { PAGE_SIZE } from '@criu-ts/images';
import {
  SYS, UFFD_EVENT, UFFD_MSG_SIZE, decodeUffdMessage, trySyscall, uffdCopy, uffdUnregister, uffdWake, uffdZeropage, type UffdMessage,
} from '@criu-ts/kernel';
import { copyIovs, dropRange, findIov, pagesOf, pieceAt, remapRange, type LazyIov } from './lazy-iovs.js';
import type { PageSource } from './page-source.js';

const PAGE = BigInt(PAGE_SIZE);
/** A fault brings in this much around the faulting page (upstream's DEFAULT_XFER_LEN, 64 KiB). */
export const FAULT_BYTES = 64n << 10n;
/** A background copy moves this much at once (upstream's MAX_XFER_LEN, 4 MiB). */
export const BACKGROUND_BYTES = 4n << 20n;

const ERRNO = { ENOENT: 2, ESRCH: 3, EAGAIN: 11, EEXIST: 17, ENOSPC: 28 } as const;

export interface LazyTask {
  /** the pid whose images hold its pages (a forked child's is its restored ancestor's) */
  pid: number;
  uffd: number;
  iovs: LazyIov[];
  total: number;
  copied: number;
  exited: boolean;
  /** fault addresses to try again (the mm was changing) */
  retry: bigint[];
  /** a child of this task's (UFFD_EVENT_FORK) */
  forked: LazyTask[];
}

export function newTask(pid: number, uffd: number, iovs: LazyIov[]): LazyTask {
  return { pid, uffd, iovs, total: pagesOf(iovs), copied: 0, exited: false, retry: [], forked: [] };
}

function label(task: LazyTask): string {
  return `${task.pid}-${task.uffd}`;
}

function markExited(task: LazyTask, log: Logger): void {
  if (task.exited) return;
  task.exited = true;
  task.iovs = [];
  task.retry = [];
  closeSync(task.uffd);
  log.debug(`lazy-pages: ${label(task)}: exited`);
}

/** Fill `piece` (fetched from the source); false when it must be tried again. */
function fill(task: LazyTask, piece: LazyIov, source: PageSource, log: Logger): boolean {
  const pages = source.fetch(task.pid, piece.imgStart, Number((piece.end - piece.start) / PAGE));
  const len = BigInt(pages.nrPages) * PAGE;
  const done = uffdCopy(task.uffd, piece.start, pages.addr, len);
  if (done.errno === ERRNO.ESRCH || done.errno === ERRNO.ENOSPC) {
    markExited(task, log);
    return true;
  }
  if (done.bytes > 0) {
    dropRange(task.iovs, piece.start, piece.start + BigInt(done.bytes));
    task.copied += done.bytes / PAGE_SIZE;
  }
  if (done.errno === 0) return true;
  if (done.errno === ERRNO.EEXIST) {
    // a page is there already (the task's own write raced in before the registration could): leave it
    const at = piece.start + BigInt(done.bytes);
    dropRange(task.iovs, at, at + PAGE);
    uffdWake(task.uffd, { start: at, end: at + PAGE });
    return true;
  }
  if (done.errno === ERRNO.EAGAIN || done.errno === ERRNO.ENOENT) return false;
  throw new CriuError(`lazy-pages: pid ${task.pid}: UFFDIO_COPY at 0x${piece.start.toString(16)} failed (errno ${done.errno})`, { code: 'EIO' });
}

function pageFault(task: LazyTask, address: bigint, source: PageSource, log: Logger): void {
  const addr = address & ~(PAGE - 1n);
  const iov = findIov(task.iovs, addr);
  if (iov === undefined) {
    // not a page of the dump (never touched, or not lazy): an empty page, as the kernel would give
    const zero = uffdZeropage(task.uffd, { start: addr, end: addr + PAGE });
    if (zero.errno === ERRNO.ESRCH || zero.errno === ERRNO.ENOSPC) markExited(task, log);
    else if (zero.errno === ERRNO.EEXIST) uffdWake(task.uffd, { start: addr, end: addr + PAGE });
    else if (zero.errno === ERRNO.EAGAIN || zero.errno === ERRNO.ENOENT) task.retry.push(addr);
    else if (zero.errno !== 0) throw new CriuError(`lazy-pages: pid ${task.pid}: UFFDIO_ZEROPAGE at 0x${addr.toString(16)} failed (errno ${zero.errno})`, { code: 'EIO' });
    return;
  }
  if (!fill(task, pieceAt(iov, addr, FAULT_BYTES), source, log)) task.retry.push(addr);
}

function handle(task: LazyTask, message: UffdMessage, source: PageSource, log: Logger): void {
  if ('address' in message) return pageFault(task, message.address, source, log);
  if ('ufd' in message) {
    const child = newTask(task.pid, message.ufd, copyIovs(task.iovs));
    task.forked.push(child);
    log.debug(`lazy-pages: ${label(task)}: FORK, child uffd ${message.ufd} (${child.total} pages to go)`);
    return;
  }
  if ('from' in message) {
    log.debug(`lazy-pages: ${label(task)}: REMAP 0x${message.from.toString(16)} -> 0x${message.to.toString(16)} (${message.len})`);
    return remapRange(task.iovs, message.from, message.to, message.len);
  }
  if ('start' in message) {
    log.debug(`lazy-pages: ${label(task)}: ${message.event === UFFD_EVENT.REMOVE ? 'REMOVE' : 'UNMAP'} 0x${message.start.toString(16)}-0x${message.end.toString(16)}`);
    // after MADV_DONTNEED the task expects empty pages there: no more faults come to us for them
    if (message.event === UFFD_EVENT.REMOVE) {
      try {
        uffdUnregister(task.uffd, { start: message.start, end: message.end });
      } catch (error) {
        if (error instanceof SyscallError && error.errno === 12 /* ENOMEM: the mm is gone */) return markExited(task, log);
        throw error;
      }
    }
    return dropRange(task.iovs, message.start, message.end);
  }
  throw new CriuError(`lazy-pages: pid ${task.pid}: unexpected userfaultfd event 0x${message.event.toString(16)}`, { code: 'EPROTO' });
}

const READ_BATCH = 64;

/** Reads and handles every message queued on the task's uffd. */
export function serveEvents(task: LazyTask, source: PageSource, log: Logger): void {
  const buf = Buffer.alloc(READ_BATCH * UFFD_MSG_SIZE);
  while (!task.exited) {
    const { value, errno } = trySyscall(SYS.read, task.uffd, buf, buf.length);
    if (errno === ERRNO.EAGAIN) return;
    if (errno !== 0) throw new CriuError(`lazy-pages: pid ${task.pid}: reading its userfaultfd failed (errno ${errno})`, { code: 'EIO' });
    const n = Number(value) / UFFD_MSG_SIZE;
    if (n === 0) return;
    for (let i = 0; i < n && !task.exited; i++) handle(task, decodeUffdMessage(buf, i * UFFD_MSG_SIZE), source, log);
  }
}

/** Faults whose fill must be tried again (the mm was changing then). */
export function retryFaults(task: LazyTask, source: PageSource, log: Logger): void {
  const again = task.retry;
  task.retry = [];
  for (const addr of again) if (!task.exited) pageFault(task, addr, source, log);
}

/** One background piece: the first range still missing. */
export function copySome(task: LazyTask, source: PageSource, log: Logger): void {
  const iov = task.iovs[0];
  if (iov === undefined || task.exited) return;
  fill(task, pieceAt(iov, iov.start, BACKGROUND_BYTES), source, log);
}

export function finished(task: LazyTask): boolean {
  return task.exited || (task.iovs.length === 0 && task.retry.length === 0);
}

/** Done with the task: its uffd is closed (the kernel then unregisters its areas). */
export function closeTask(task: LazyTask, log: Logger): void {
  if (!task.exited) {
    closeSync(task.uffd);
    task.exited = true;
  }
  log.info(`lazy-pages: ${label(task)}: ${task.copied} of ${task.total} page(s) copied`);
}

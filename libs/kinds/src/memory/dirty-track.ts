// Dirty-page tracking without soft-dirty: userfaultfd write-protect in
// async mode (UFFD_FEATURE_WP_ASYNC) read with PAGEMAP_SCAN (PAGE_IS_WRITTEN).
//
// The tracker is a userfaultfd created inside the task (an injected
// userfaultfd(2): a uffd acts on its creator's mm) and left there, at a
// high fd with FD_CLOEXEC, so that write-protection survives between
// `criu pre-dump` and the next run: it vanishes when its last reference
// closes. The tool drives it through a copy taken with pidfd_getfd. Each
// arming moves it to a new fd number, which the images record
// (track-record.ts), so a run given an older parent finds no tracker and
// dumps everything. What makes a VMA untracked (so dumped in full): no
// tracker at the recorded number, no "uw" in its VmFlags, or PAGEMAP_SCAN
// refusing it as not async-wp (PM_SCAN_CHECK_WPASYNC). Forked children
// (their VMAs lose the registration), exec (new mm, the fd is CLOEXEC),
// mremap (unregisters without EVENT_REMAP), a task closing the fd: all end
// as untracked, never as wrongly clean. A failed run unregisters what it
// armed, so the next one is full. See userfaultfd(2), ioctl_userfaultfd(2).
import { closeSync, openSync, readFileSync } from 'node:fs';
import { CriuError, SyscallError, type Logger } from '@criu-ts/base';
import {
  F,
  O,
  PAGE_IS,
  PM_SCAN,
  SYS,
  UFFD_FEATURE,
  UFFD_USER_MODE_ONLY,
  UFFDIO_REGISTER_MODE_WP,
  kcmp,
  KCMP,
  pagemapScan,
  pidfdGetfd,
  pidfdOpen,
  signed64,
  uffdApi,
  uffdRegister,
  uffdUnregister,
  uffdWriteProtect,
} from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';
import { listFds } from '@criu-ts/proc';
import type { Span } from './page-parent.js';
import type { VmaPlan } from './vma-plan.js';

/** A task's tracker: its fd number in the task and our copy of it. */
export interface Tracker {
  pid: number;
  taskFd: number;
  local: number;
}

/** How many fd numbers below RLIMIT_NOFILE the tracker moves through. */
const FD_WINDOW = 64;

/**
 * Whether a VMA is tracked: private anonymous memory only. A private file
 * mapping is not: write-protecting it puts uffd-wp markers on its
 * unpopulated ptes, which /proc/PID/pagemap shows as swapped pages (so the
 * page cache would be dumped); its written (COW) pages are dumped in full.
 */
export function trackable(plan: VmaPlan): boolean {
  return plan.pages === 'private' && plan.backing === 'none';
}

/** Spans of the tracked VMAs. */
export function privateSpans(plans: readonly VmaPlan[]): Span[] {
  return plans.filter(trackable).map((p) => ({ start: p.smaps.start, end: p.smaps.end }));
}

function copyFd(pid: number, fd: number): number {
  const pidfd = pidfdOpen(pid);
  try {
    return pidfdGetfd(pidfd, fd);
  } finally {
    closeSync(pidfd);
  }
}

/** The task's userfaultfds (numbers). */
export function userfaultfds(pid: number): number[] {
  return listFds(pid)
    .filter((e) => e.target.kind === 'anon_inode' && e.target.anon === 'userfaultfd')
    .map((e) => e.fd);
}

/** The tracker at fd `taskFd` of the task, if a userfaultfd is there. */
export function findTracker(pid: number, taskFd: number): Tracker | undefined {
  if (!userfaultfds(pid).includes(taskFd)) return undefined;
  return { pid, taskFd, local: copyFd(pid, taskFd) };
}

/** The features our trackers have: WP_ASYNC (the kernel adds WP_UNPOPULATED), nothing else. */
const TRACKER_FEATURES = UFFD_FEATURE.WP_ASYNC | UFFD_FEATURE.WP_UNPOPULATED;
const UFFD_FEATURE_INITIALIZED = 1n << 31n;

/**
 * Does fd look like a tracker of ours with no record naming it (a dump run
 * without --prev-images-dir after a pre-dump)? A userfaultfd with
 * FD_CLOEXEC in the tracker's fd window whose features (fdinfo "API:") are
 * exactly our tracker's.
 */
export function looksLikeTracker(pid: number, fd: number): boolean {
  if (fd < softNofile(pid) - FD_WINDOW) return false;
  const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
  const flags = /^flags:\s+([0-7]+)/m.exec(info);
  const api = /^API:\s+([0-9a-f]+):([0-9a-f]+):/m.exec(info);
  if (flags === null || api === null || (Number.parseInt(flags[1]!, 8) & O.CLOEXEC) === 0) return false;
  return (BigInt(`0x${api[2]}`) & ~UFFD_FEATURE_INITIALIZED) === TRACKER_FEATURES;
}

/** Same open file? (kcmp KCMP_FILE) */
export function sameFile(a: { pid: number; fd: number }, b: { pid: number; fd: number }): boolean {
  return kcmp(a.pid, b.pid, KCMP.FILE, BigInt(a.fd), BigInt(b.fd)) === 0;
}

/**
 * The tracked spans of the task and, inside them, those written since the
 * tracker was armed. Spans the scan refuses as not async-wp are untracked.
 */
export function scanWritten(tracker: Tracker, plans: readonly VmaPlan[], log: Logger): { tracked: Span[]; written: Span[] } {
  const tracked: Span[] = [];
  const written: Span[] = [];
  const fd = openSync(`/proc/${tracker.pid}/pagemap`, 'r');
  try {
    for (const plan of plans) {
      if (!trackable(plan) || !plan.smaps.VmFlags.has('uw')) continue;
      const range = { start: plan.smaps.start, end: plan.smaps.end };
      try {
        const found = pagemapScan(fd, { range, flags: PM_SCAN.CHECK_WPASYNC, categoryMask: PAGE_IS.WRITTEN, returnMask: PAGE_IS.WRITTEN });
        for (const r of found) written.push({ start: r.start, end: r.end });
        tracked.push(range);
      } catch (error) {
        if (!(error instanceof SyscallError)) throw error;
        log.debug(`pid ${tracker.pid}: 0x${range.start.toString(16)} not tracked (${error.message})`);
      }
    }
  } finally {
    closeSync(fd);
  }
  return { tracked, written };
}

function softNofile(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s+/)[3];
  return soft === undefined || soft === 'unlimited' ? 1 << 20 : Number(soft);
}

/** Moves `fd` of the task to the next fd number of the window (F_DUPFD_CLOEXEC), closing the old one. */
function moveFd(injector: Injector, fd: number, previous: number | undefined): number {
  const limit = softNofile(injector.pid);
  const base = Math.max(3, limit - FD_WINDOW);
  const min = previous !== undefined && previous + 1 < limit ? Math.max(base, previous + 1) : base;
  let moved = signed64(injector.syscall(SYS.fcntl, fd, F.DUPFD_CLOEXEC, min));
  if (moved < 0n && min > base) moved = signed64(injector.syscall(SYS.fcntl, fd, F.DUPFD_CLOEXEC, base));
  injector.syscall(SYS.close, fd);
  if (moved < 0n) throw new CriuError(`pid ${injector.pid}: no free fd for the memory tracker (errno ${-moved})`, { code: 'EMFILE' });
  return Number(moved);
}

/** An injected userfaultfd(2) in the task (user-mode-only where the task may not have more). */
function createInTask(injector: Injector): number {
  let fd = signed64(injector.syscall(SYS.userfaultfd, O.CLOEXEC | O.NONBLOCK));
  if (fd === -1n /* EPERM */) fd = signed64(injector.syscall(SYS.userfaultfd, O.CLOEXEC | O.NONBLOCK | UFFD_USER_MODE_ONLY));
  if (fd < 0n) throw new SyscallError({ syscall: 'userfaultfd', errno: Number(-fd), pid: injector.pid });
  return Number(fd);
}

export interface ArmResult {
  tracker: Tracker;
  /** spans registered by this arming (unregistered again if the run fails) */
  registered: Span[];
}

/**
 * Arms tracking for the next run: a new tracker (or the old one moved to
 * the next fd number), every private VMA registered for write-protect,
 * then all of them write-protected. The task is frozen.
 */
export function armTracker(injector: Injector, old: Tracker | undefined, plans: readonly VmaPlan[], log: Logger): ArmResult {
  const pid = injector.pid;
  const fresh = old === undefined;
  const inTask = fresh ? createInTask(injector) : old.taskFd;
  const taskFd = moveFd(injector, inTask, old?.taskFd);
  const local = copyFd(pid, taskFd);
  const tracker = { pid, taskFd, local };
  try {
    if (fresh) {
      const offered = uffdApi(local, UFFD_FEATURE.WP_ASYNC);
      if ((offered & UFFD_FEATURE.WP_ASYNC) === 0n) throw new CriuError('userfaultfd lacks WP_ASYNC', { code: 'ENOTSUP' });
    }
    const registered: Span[] = [];
    for (const plan of plans) {
      if (!trackable(plan)) continue;
      const range = { start: plan.smaps.start, end: plan.smaps.end };
      try {
        if (fresh || !plan.smaps.VmFlags.has('uw')) {
          uffdRegister(local, range, UFFDIO_REGISTER_MODE_WP);
          registered.push(range);
        }
        uffdWriteProtect(local, range, true);
      } catch (error) {
        if (!(error instanceof SyscallError)) throw error;
        log.debug(`pid ${pid}: cannot track 0x${range.start.toString(16)}-0x${range.end.toString(16)}: ${error.message}`);
      }
    }
    log.info(`pid ${pid}: memory tracker at fd ${taskFd}, ${registered.length} vma(s) newly registered`);
    return { tracker, registered };
  } catch (error) {
    injector.syscall(SYS.close, taskFd);
    closeSync(local);
    throw error;
  }
}

/**
 * After a failed run: unregister every tracked VMA, so that the next run
 * finds nothing tracked and dumps every page. Never throws.
 */
export function poisonTracker(tracker: Tracker, spans: readonly Span[], log: Logger): void {
  for (const range of spans) {
    try {
      uffdUnregister(tracker.local, range);
    } catch (error) {
      log.warn(`pid ${tracker.pid}: could not drop tracking of 0x${range.start.toString(16)}: ${String(error)}`);
    }
  }
}

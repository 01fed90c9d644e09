// The memory kind's incremental side, per dump: which pages of a task the
// parent images hold unchanged (cleanSpans, from the task's tracker and
// the parent's pagemap), which fds of a task are our trackers and so not
// the task's own (hiddenFds: the files kind skips them), and, once every
// task is dumped, arming the trackers for the next run (armTrackers), with
// an undo that drops tracking if this run fails after all. Pre-dump arms
// always; dump arms with --track-mem when the tree runs on (-R); a dump
// that runs on without --track-mem takes its trackers away. A task whose fd
// table another task shares (CLONE_FILES) is never armed: the tables would
// hold each other's trackers; it is dumped in full at every run.
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SyscallError } from '@criu-ts/base';
import { KCMP, KCMP_RESULT, SYS, kcmp } from '@criu-ts/kernel';
import { imagePath, readOne } from '@criu-ts/images';
import { readStat } from '@criu-ts/proc';
import { imagePid, type DumpContext } from '../dump-context.js';
import { armTracker, findTracker, looksLikeTracker, poisonTracker, privateSpans, sameFile, scanWritten, userfaultfds, type ArmResult, type Tracker } from './dirty-track.js';
import { intersect, normalize, parentCoverage, subtract, type Span } from './page-parent.js';
import { TRACK_RECORD, readTrackRecord, writeTrackRecord } from './track-record.js';
import type { VmaPlan } from './vma-plan.js';

interface TrackingState {
  record: Map<number, number>;
  /** trackers found alive from the parent's record */
  trackers: Map<number, Tracker>;
  /** the plans of each dumped task, for arming */
  plans: Map<number, readonly VmaPlan[]>;
  /** per task: fds that are copies of our trackers (the task's own or inherited) */
  hidden: Map<number, Set<number>>;
  /** dump_uptime of the parent run (µs since boot), if it wrote one */
  parentUptime?: bigint;
}

function state(ctx: DumpContext): TrackingState {
  return ctx.shared<TrackingState>('memory.tracking', () => {
    const dir = ctx.options.parentDir;
    const record = dir === undefined ? new Map<number, number>() : readTrackRecord(dir);
    let parentUptime: bigint | undefined;
    if (dir !== undefined && existsSync(imagePath(dir, 'inventory'))) {
      const uptime = readOne(dir, 'inventory').dump_uptime;
      parentUptime = uptime === undefined ? undefined : BigInt(uptime);
    }
    return { record, trackers: new Map(), plans: new Map(), hidden: new Map(), parentUptime };
  });
}

/** µs since boot, as upstream's dump_uptime. */
export function uptimeMicros(): bigint {
  const [sec, frac = '0'] = readFileSync('/proc/uptime', 'utf8').split(' ')[0]!.split('.');
  return BigInt(sec!) * 1_000_000n + BigInt(frac.padEnd(2, '0').slice(0, 2)) * 10_000n;
}

/** Did the task start after the parent run (a new process under a reused pid)? */
function startedAfterParent(pid: number, parentUptime: bigint | undefined): boolean {
  if (parentUptime === undefined) return false;
  const ticksPerSecond = 100n;
  return BigInt(readStat(pid).starttime) >= parentUptime / (1_000_000n / ticksPerSecond);
}

/** Our tracker copies among the task's userfaultfds (its own by the record, or ones that share a known tracker's file). */
function findHidden(ctx: DumpContext, s: TrackingState, pid: number): void {
  const ufds = userfaultfds(pid);
  if (ufds.length === 0) return;
  const own = s.record.get(pid);
  const hidden = new Set<number>();
  if (own !== undefined && ufds.includes(own) && !startedAfterParent(pid, s.parentUptime)) {
    const tracker = findTracker(pid, own);
    if (tracker !== undefined) {
      s.trackers.set(pid, tracker);
      hidden.add(own);
    }
  }
  for (const fd of ufds) {
    if (hidden.has(fd)) continue;
    for (const [other, otherFd] of s.record) {
      if (!s.trackers.has(other)) continue;
      try {
        if (sameFile({ pid, fd }, { pid: other, fd: otherFd })) hidden.add(fd);
      } catch (error) {
        if (!(error instanceof SyscallError)) throw error;
      }
    }
  }
  // trackers no record names (this run has no parent): ours by their look
  for (const fd of ufds) if (!hidden.has(fd) && looksLikeTracker(pid, fd)) hidden.add(fd);
  if (hidden.size > 0) s.hidden.set(pid, hidden);
  ctx.log.debug(`pid ${pid}: memory tracker fds ${[...hidden].join(' ') || 'none'}`);
}

/**
 * The spans of the task's pages that its parent images hold unchanged
 * (empty without --track-mem and a parent, or without a live tracker).
 */
export function cleanSpans(ctx: DumpContext, pid: number, plans: readonly VmaPlan[]): Span[] {
  const s = state(ctx);
  s.plans.set(pid, plans);
  findHidden(ctx, s, pid);
  const dir = ctx.options.parentDir;
  const tracker = s.trackers.get(pid);
  if (!ctx.options.trackMem || dir === undefined || tracker === undefined) {
    if (dir !== undefined && ctx.options.trackMem) ctx.log.info(`pid ${pid}: no memory tracking since the parent run; every page is dumped`);
    return [];
  }
  const { tracked, written } = scanWritten(tracker, plans, ctx.log);
  const clean = intersect(subtract(normalize(tracked), normalize(written)), parentCoverage(dir, imagePid(ctx, pid)));
  return clean;
}

/** Fds of the task that are our memory trackers, not the task's own files. */
export function hiddenFds(ctx: DumpContext, pid: number): ReadonlySet<number> {
  return state(ctx).hidden.get(pid) ?? new Set();
}

function closeInTask(ctx: DumpContext, pid: number, fds: Iterable<number>): void {
  const injector = ctx.injector(pid);
  for (const fd of fds) injector.syscall(SYS.close, fd);
}

/**
 * The pids whose fd table another of `pids` shares (CLONE_FILES): sorted
 * by kcmp(2) KCMP_FILES, which orders tables, equal ones end up side by side.
 */
export function sharingFdTables(pids: readonly number[]): ReadonlySet<number> {
  const order = (a: number, b: number): number => {
    const r = kcmp(a, b, KCMP.FILES);
    return r === KCMP_RESULT.EQUAL ? 0 : r === KCMP_RESULT.LESS ? -1 : 1;
  };
  const sorted = [...pids].sort(order);
  return new Set(sorted.filter((pid, i) => (i > 0 && order(sorted[i - 1]!, pid) === 0) || (i + 1 < sorted.length && order(pid, sorted[i + 1]!) === 0)));
}

/** After every task is dumped: arm (or take away) the trackers. */
export function armTrackers(ctx: DumpContext): void {
  const s = state(ctx);
  const o = ctx.options;
  const arm = o.preDump || (o.trackMem && o.leaveRunning);
  if (!arm) {
    // the tree dies, or runs on untracked: nothing of ours is left in it
    if (o.leaveRunning) for (const [pid, hidden] of s.hidden) closeInTask(ctx, pid, hidden);
    return;
  }
  const armed: ArmResult[] = [];
  ctx.onAbort?.(() => {
    for (const a of armed) poisonTracker(a.tracker, privateSpans(s.plans.get(a.tracker.pid) ?? []), ctx.log);
    for (const t of s.trackers.values()) poisonTracker(t, privateSpans(s.plans.get(t.pid) ?? []), ctx.log);
  });
  const record = new Map<number, number>();
  const sharing = sharingFdTables([...s.plans.keys()]);
  for (const [pid, plans] of s.plans) {
    const old = s.trackers.get(pid);
    if (sharing.has(pid)) {
      // its tracker would sit in the table of every task sharing it, where their own would close it
      closeInTask(ctx, pid, s.hidden.get(pid) ?? []);
      if (old !== undefined) poisonTracker(old, privateSpans(plans), ctx.log);
      ctx.log.info(`pid ${pid}: memory tracking not armed: its fd table is shared (CLONE_FILES); the next run dumps all its pages`);
      continue;
    }
    const inherited = [...(s.hidden.get(pid) ?? [])].filter((fd) => fd !== old?.taskFd);
    closeInTask(ctx, pid, inherited);
    try {
      const result = armTracker(ctx.injector(pid), old, plans, ctx.log);
      armed.push(result);
      record.set(pid, result.tracker.taskFd);
    } catch (error) {
      if (!(error instanceof SyscallError) && !(error instanceof Error && 'code' in error)) throw error;
      ctx.log.warn(`pid ${pid}: memory tracking not armed (${String(error)}); the next run dumps all its pages`);
      if (old !== undefined) poisonTracker(old, privateSpans(plans), ctx.log);
    }
  }
  writeTrackRecord(o.imagesDir, record);
  ctx.onAbort?.(() => unlinkSync(join(o.imagesDir, TRACK_RECORD)));
}

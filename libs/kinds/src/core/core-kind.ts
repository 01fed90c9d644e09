// The core kind: core-TID.img for every thread of a task (the leader's,
// core-PID.img, also holds the task-wide task_core_entry) and ids-PID.img
// (task_kobj_ids_entry), as upstream CRIU 4.x writes them; for a zombie,
// core-PID.img with task_state DEAD and its exit code only. It runs last:
// the other kinds have filled record.ids (vm_id, files_id, fs_id).
// Seccomp modes and filters: seccomp.ts (seccomp.img, written once every
// task is dumped). Not saved: LSM labels. thread_core.cg_set: the cgroup kind's ids. Restore:
// core-restore.ts. See criu(8), ptrace(2), proc_pid_status(5).
import { batchOnThreads, inThreadGroups, type Injector, type Scratch } from '@criu-ts/inject';
import { imagePath, writeImage, type Messages } from '@criu-ts/images';
import { PAGE_SIZE, ptraceGetRegs } from '@criu-ts/kernel';
import { readStat } from '@criu-ts/proc';
import { imagePid, type DumpContext, type DumpTask, type DumpThread } from '../dump-context.js';
import type { TaskKind, TaskRecord } from '../kind.js';
import { sighandId, taskNamespaceIds, type TaskKobjIds } from './kobj-ids.js';
import { threadSnapshots, takeSnapshot } from './core-snapshot.js';
import type { RseqState } from './rseq.js';
import { peekQueue } from './signals.js';
import { THREAD_ANSWER_BYTES, prefetchedTaskCalls, prepareTaskCalls, type TaskCalls } from './task-calls.js';
import { TASK_STATE, taskCore } from './task-core.js';
import { threadCore, threadInfo, type ThreadBefore } from './thread-core.js';
import { dumpTaskSeccomp, writeSeccompImage } from './seccomp.js';
import { coreRestore } from './core-restore.js';
import { probeXsaveLayout } from './xsave-layout.js';
import type { XsaveLayout } from './x86-fpu.js';

export type CoreEntry = Messages['core_entry'];

/** core_entry.mtype X86_64 */
const MARCH_X86_64 = 1;

type Before = ThreadBefore & { rseq: RseqState };

/**
 * Signal mask, private queue and rseq state of a thread, from the snapshot
 * taken before any injection (core-snapshot.ts) or, without one, now.
 */
function threadBefore(ctx: DumpContext, thread: DumpThread): Before {
  const { tid } = thread;
  let snapshot = threadSnapshots(ctx).get(tid);
  if (snapshot === undefined) {
    ctx.log.debug(`thread ${tid}: no snapshot from before injection; reading its state now`);
    snapshot = takeSnapshot(thread, ptraceGetRegs(tid).rip);
  }
  const pending = peekQueue(tid, false);
  if (snapshot.stopSiginfo !== undefined) pending.unshift(snapshot.stopSiginfo);
  return { tid, sigmask: snapshot.sigmask, pending, rseq: snapshot.rseq };
}

const XSAVE_LAYOUT = 'core.xsave-layout';

/** The CPU's XSAVE layout: probed before the tree is frozen (prepareDump), or now. */
function layoutOf(ctx: DumpContext): XsaveLayout {
  return ctx.shared(XSAVE_LAYOUT, () => probeXsaveLayout());
}

function threadEntryWith(ctx: DumpContext, pid: number, before: Before, via: { injector: Injector; calls: TaskCalls }): CoreEntry {
  const { injector, calls } = via;
  const { rseq } = before;
  if (rseq.abortIp !== undefined) ctx.log.warn(`thread ${before.tid} is inside an rseq critical section; saved at its abort handler`);
  const regs = rseq.abortIp === undefined ? injector.savedRegs : { ...injector.savedRegs, rip: rseq.abortIp };
  return {
    mtype: MARCH_X86_64,
    thread_info: threadInfo(before.tid, regs, calls, layoutOf(ctx)),
    thread_core: threadCore(pid, { before, calls, rseq: rseq.entry, withSigmask: before.tid !== pid }),
  };
}

/**
 * The non-leader threads: each gets a short-lived injector of its own,
 * on the leader's trampoline and batch area (nothing written); their
 * answers land in the leader's scratch page, THREAD_ANSWER_BYTES each.
 * Their question batches run side by side (batchOnThreads): one trip's
 * wait for a group of threads, as many as the page holds answers for.
 */
function otherThreadEntries(ctx: DumpContext, pid: number, befores: readonly Before[], leader: { injector: Injector; scratch: Scratch }): [number, CoreEntry][] {
  const entries: [number, CoreEntry][] = [];
  const perGroup = Math.floor(leader.scratch.size / THREAD_ANSWER_BYTES);
  inThreadGroups(leader.injector, befores.map((before) => before.tid), perGroup, ctx.log.child('inject'), (injectors, first) => {
    const prepared = injectors.map((injector, i) => prepareTaskCalls(injector, leader.scratch, 'thread', i * THREAD_ANSWER_BYTES));
    const results = batchOnThreads(injectors.map((injector, i) => ({ injector, calls: prepared[i]!.calls })));
    injectors.forEach((injector, i) => {
      const before = befores[first + i]!;
      entries.push([before.tid, threadEntryWith(ctx, pid, before, { injector, calls: prepared[i]!.answer(results[i]!) })]);
    });
  });
  return entries;
}

function kobjIds(ctx: DumpContext, pid: number, record: TaskRecord): TaskKobjIds {
  const ids: TaskKobjIds = {
    vm_id: record.ids.vm_id ?? 0,
    files_id: record.ids.files_id ?? 0,
    fs_id: record.ids.fs_id ?? 0,
    sighand_id: sighandId(ctx, pid),
    ...taskNamespaceIds(ctx, pid),
  };
  for (const [key, value] of Object.entries(ids)) if (typeof value === 'number') record.ids[key] = value;
  return ids;
}

function dumpLive(ctx: DumpContext, task: DumpTask, record: TaskRecord): void {
  const { pid } = task;
  const ids = kobjIds(ctx, pid, record);
  const befores = task.threads.map((thread) => threadBefore(ctx, thread));
  const leader = ctx.injector(pid);
  const scratch = leader.scratch(PAGE_SIZE);
  const calls = prefetchedTaskCalls(leader, scratch);
  const leaderEntry = threadEntryWith(ctx, pid, befores[0]!, { injector: leader, calls });
  leaderEntry.tc = taskCore(task, { calls, injector: leader, scratch, sigmask: befores[0]!.sigmask });
  const entries: [number, CoreEntry][] = [[pid, leaderEntry]];
  entries.push(...otherThreadEntries(ctx, pid, befores.slice(1), { injector: leader, scratch }));
  for (const [tid, entry] of entries) {
    const cgSet = record.cgSets?.get(tid);
    if (cgSet !== undefined && entry.thread_core !== undefined) entry.thread_core.cg_set = cgSet;
  }
  dumpTaskSeccomp(ctx, task, new Map(entries));
  const dir = ctx.options.imagesDir;
  writeImage(imagePath(dir, 'ids', imagePid(ctx, pid)), 'ids', [ids]);
  for (const [tid, entry] of entries) writeImage(imagePath(dir, 'core', imagePid(ctx, tid)), 'core', [entry]);
  ctx.log.info(`core: task ${pid}: ${entries.length} thread(s) saved`);
}

/** core-PID.img of a zombie: its comm and exit status, as upstream's dump_one_zombie. */
function dumpZombie(ctx: DumpContext, task: DumpTask): void {
  const entry: CoreEntry = {
    mtype: MARCH_X86_64,
    tc: { task_state: TASK_STATE.DEAD, exit_code: task.exitCode, personality: 0, flags: 0, blk_sigset: 0n, comm: readStat(task.pid).comm },
  };
  writeImage(imagePath(ctx.options.imagesDir, 'core', imagePid(ctx, task.pid)), 'core', [entry]);
  ctx.log.info(`core: zombie ${task.pid} (exit status ${task.exitCode}) saved`);
}

export const coreKind: TaskKind = {
  name: 'core',
  images: ['core', 'ids', 'seccomp'],
  prepareDump: () => ({ [XSAVE_LAYOUT]: probeXsaveLayout() }),
  dump: dumpLive,
  dumpZombie,
  afterTasks: writeSeccompImage,
  ...coreRestore,
};

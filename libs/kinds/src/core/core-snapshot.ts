// What the core kind must read of a thread before anything is injected into
// its process: an open injector blocks every signal (so PTRACE_GETSIGMASK
// would answer "all blocked"), its trap replaces the siginfo of a signal
// caught in delivery, and returning to user space at the trampoline may
// let the kernel clear an rseq critical-section pointer. The core kind
// runs last, so this small kind runs first and keeps, per thread, the
// signal mask, that siginfo and the rseq state (DumpContext.shared
// 'core.snapshots'). It writes no image. If the engine already supplies
// DumpThread.sigmask, that value is kept. It also refuses, before any
// injection, a thread in a seccomp mode whose filters the engine could
// not suspend (seccomp.ts), and a task in a namespace other than criu's
// (kobj-ids.ts): before anything is injected into it, since an injected
// call runs in the task's namespaces (a pid of ours means nothing there).
import { ptraceGetRegs, ptraceGetSigmask } from '@criu-ts/kernel';
import type { DumpContext, DumpTask, DumpThread } from '../dump-context.js';
import type { TaskKind } from '../kind.js';
import { dumpRseq, type RseqState } from './rseq.js';
import { taskNamespaceIds } from './kobj-ids.js';
import { checkSeccompSuspended } from './seccomp.js';
import { stopSignalSiginfo } from './signals.js';

export interface ThreadSnapshot {
  sigmask: bigint;
  rseq: RseqState;
  /** the siginfo of the signal the thread was caught delivering, if any */
  stopSiginfo?: Buffer;
}

const KEY = 'core.snapshots';

/** Snapshots by tid, for the whole dump. */
export function threadSnapshots(ctx: DumpContext): Map<number, ThreadSnapshot> {
  return ctx.shared(KEY, () => new Map<number, ThreadSnapshot>());
}

/** Reads a thread's snapshot now; right only while nothing is injected into its process. */
export function takeSnapshot(thread: DumpThread, ip: bigint): ThreadSnapshot {
  const snapshot: ThreadSnapshot = { sigmask: thread.sigmask ?? ptraceGetSigmask(thread.tid), rseq: dumpRseq(thread.tid, ip) };
  if (thread.pendingStopSignal !== 0) snapshot.stopSiginfo = stopSignalSiginfo(thread.tid, thread.pendingStopSignal);
  return snapshot;
}

function snapshotTask(ctx: DumpContext, task: DumpTask): void {
  taskNamespaceIds(ctx, task.pid);
  for (const thread of task.threads) checkSeccompSuspended(task.pid, thread.tid);
  const snapshots = threadSnapshots(ctx);
  for (const thread of task.threads) snapshots.set(thread.tid, takeSnapshot(thread, ptraceGetRegs(thread.tid).rip));
}

export const coreSnapshotKind: TaskKind = {
  name: 'core-snapshot',
  images: [],
  dump: snapshotTask,
};

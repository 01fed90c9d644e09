// The core kind's restore half: what core-PID.img / core-TID.img hold
// beyond what the engine sets itself (memory, registers, signal mask and
// dispositions, per-thread addresses). restoreCore runs with the other
// kinds: task-wide state (rlimits, timers, subreaper, membarrier,
// loginuid, oom_score_adj) and each thread's scheduling. restoreCoreLast
// runs once every kind is done: the pending signals (process-wide queue
// from the leader, each thread's own queue from that thread), the seccomp
// filters and modes (seccomp-restore.ts: checked in restoreCore, installed
// here under PTRACE_O_SUSPEND_SECCOMP, before the credentials because a
// filter needs CAP_SYS_ADMIN or no_new_privs), and then each thread's
// personality and credentials, which may drop the privileges the other
// steps need; the dumpable flag, which a change of credentials resets,
// goes last. See criu(8) "restore", credentials(7).
import { CriuError, ImageError } from '@criu-ts/base';
import { imagePath, readOne, type Messages } from '@criu-ts/images';
import { PR, SYS } from '@criu-ts/kernel';
import { batchOnThreads } from '@criu-ts/inject';
import { imagePidOf, type RestoreContext, type RestoreTask } from '../restore-context.js';
import { queueSignals, queuedSiginfos } from './signals-restore.js';
import { restoreTaskWide } from './task-restore.js';
import { planTaskSeccomp, restoreTaskSeccomp, type TaskSeccompPlan } from './seccomp-restore.js';
import { readLastCap, restoreSched, restoreThreadLast, threadLastBytes, threadLastCalls, type ThreadLastInput } from './thread-restore.js';
import { checkNamed } from './injected-batch.js';
import { restoreTimers } from './timers-restore.js';

type CoreEntry = Messages['core_entry'];
type TaskCore = Messages['task_core_entry'];

function readCore(ctx: RestoreContext, tid: number): { core: CoreEntry; image: string } {
  const dir = ctx.options.imagesDir;
  return { core: readOne(dir, 'core', imagePidOf(ctx, tid)), image: imagePath(dir, 'core', imagePidOf(ctx, tid)) };
}

function taskCoreOf(ctx: RestoreContext, pid: number): { tc: TaskCore; image: string } {
  const { core, image } = readCore(ctx, pid);
  if (core.tc === undefined) throw new ImageError(`core of task ${pid} has no task_core_entry`, { image, offset: 0 });
  return { tc: core.tc, image };
}

/** Seccomp plans by pid, made (and checked) in restoreCore, carried out in restoreCoreLast. */
function seccompPlans(ctx: RestoreContext): Map<number, TaskSeccompPlan | undefined> {
  return ctx.shared('core.seccomp-plans', () => new Map<number, TaskSeccompPlan | undefined>());
}

function restoreCore(ctx: RestoreContext, task: RestoreTask): 'done' {
  const { pid } = task;
  const { tc, image } = taskCoreOf(ctx, pid);
  const threads = task.threads.map((tid) => {
    const read = readCore(ctx, tid);
    return { tid, core: read.core.thread_core, image: read.image };
  });
  seccompPlans(ctx).set(pid, planTaskSeccomp(ctx, { tc, threads }));
  const injector = ctx.injector(pid);
  const scratch = ctx.scratch(pid);
  const log = ctx.log;
  restoreTaskWide({ injector, scratch, log, image }, tc);
  const timers = restoreTimers(injector, scratch, tc.timers, image);
  for (const { tid, core } of threads) restoreSched(tid, core);
  log.info(`core: task ${pid}: limits, ${timers} POSIX timer(s), scheduling of ${threads.length} thread(s) restored`);
  return 'done';
}

type ThreadLastBase = Omit<ThreadLastInput, 'injector' | 'core' | 'image'>;

/**
 * The other threads' last step: as many threads a batch, side by side
 * (batchOnThreads), as the scratch holds their structs; a thread whose
 * structs alone exceed it gets its own trips.
 */
function restoreOtherThreadsLast(ctx: RestoreContext, pid: number, tids: readonly number[], base: ThreadLastBase): void {
  const threads = tids.map((tid) => {
    const { core, image } = readCore(ctx, tid);
    return { tid, core, image, bytes: threadLastBytes(core, image) };
  });
  if (threads.length === 0) return;
  const { withThread, withThreads } = ctx;
  if (withThread === undefined) throw new CriuError(`task ${pid}: the restore engine cannot inject into its threads`, { code: 'ENOSYS' });
  const alone = withThreads === undefined ? threads : threads.filter((thread) => thread.bytes > base.scratch.size);
  for (const thread of alone) withThread(thread.tid, (injector) => restoreThreadLast({ ...base, injector, core: thread.core, image: thread.image }));
  if (withThreads === undefined) return;
  const grouped = threads.filter((thread) => thread.bytes <= base.scratch.size);
  for (let first = 0; first < grouped.length;) {
    let used = 0;
    let end = first;
    while (end < grouped.length && used + grouped[end]!.bytes <= base.scratch.size) used += grouped[end++]!.bytes;
    const group = grouped.slice(first, end);
    withThreads(pid, group.map((thread) => thread.tid), (injectors) => {
      let offset = 0;
      const calls = injectors.map((injector, i) => {
        const thread = group[i]!;
        const named = threadLastCalls({ ...base, injector, core: thread.core, image: thread.image }, offset);
        offset += thread.bytes;
        return named;
      });
      const results = batchOnThreads(injectors.map((injector, i) => ({ injector, calls: calls[i]!.map(({ nr, args }) => ({ nr, args })) })));
      injectors.forEach((injector, i) => checkNamed(injector, calls[i]!, results[i]!));
    });
    first = end;
  }
}

function restoreCoreLast(ctx: RestoreContext, task: RestoreTask): void {
  const { pid } = task;
  const { tc, image } = taskCoreOf(ctx, pid);
  const lastCap = ctx.shared('core.cap-last-cap', readLastCap);
  const scratch = ctx.scratch(pid);
  const leader = ctx.injector(pid);
  const base = { scratch, log: ctx.log, personality: tc.personality, lastCap };
  queueSignals(leader, scratch, queuedSiginfos(tc.signals_s, image), true);
  const seccomp = seccompPlans(ctx).get(pid);
  if (seccomp !== undefined) restoreTaskSeccomp(ctx, task, seccomp);
  const leaderCore = readCore(ctx, pid);
  restoreThreadLast({ ...base, injector: leader, core: leaderCore.core, image: leaderCore.image });
  restoreOtherThreadsLast(ctx, pid, task.threads.filter((tid) => tid !== pid), base);
  const mm = readOne(ctx.options.imagesDir, 'mm', imagePidOf(ctx, pid));
  if (mm.dumpable === 0 || mm.dumpable === 1) leader.call('prctl(PR_SET_DUMPABLE)', SYS.prctl, [PR.SET_DUMPABLE, mm.dumpable, 0, 0, 0]);
  ctx.log.info(`core: task ${pid}: pending signals and credentials of ${task.threads.length} thread(s) restored`);
}

/** The restore members of the core kind. */
export const coreRestore = { restore: restoreCore, restoreLast: restoreCoreLast };

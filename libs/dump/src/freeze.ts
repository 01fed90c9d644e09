// Freezing: seize every thread of every task of the tree under ptrace and
// stop it (PTRACE_SEIZE + PTRACE_INTERRUPT, waited for with __WALL), then
// re-scan threads and children until nothing new appears, so tasks and
// threads created while we freeze are caught too. See ptrace(2).
import { CriuError, SyscallError, type Logger } from '@criu-ts/base';
import { PTRACE_O, ptraceInterrupt, ptraceSeize } from '@criu-ts/kernel';
import type { FrozenTask, FrozenThread, FrozenTree } from './task-tree.js';
import { walkTree } from './task-tree.js';
import { listChildren, listThreads, readNsTid, readTaskStat } from './task-proc.js';
import { waitForStop, releaseThreads } from './thread-stop.js';

export interface FreezeOptions {
  log: Logger;
  /** give up seizing after this many milliseconds (--timeout) */
  timeoutMs: number;
  /** threads seized and interrupted already (--freeze-cgroup): only waited for */
  preSeized?: ReadonlySet<number>;
}

interface FreezeState {
  log: Logger;
  deadline: number;
  /** every thread we seized, for release on failure */
  seized: Map<number, FrozenThread>;
  preSeized: ReadonlySet<number>;
}

/** Freeze the tree rooted at rootPid. On failure every seized thread is released. */
export function freezeTree(rootPid: number, options: FreezeOptions): FrozenTree {
  checkTarget(rootPid);
  const state: FreezeState = { log: options.log, deadline: Date.now() + options.timeoutMs, seized: new Map(), preSeized: options.preSeized ?? new Set() };
  const frozenAt = process.hrtime.bigint();
  try {
    const root = freezeTask(state, rootPid, 0);
    if (root === undefined) throw new CriuError(`pid ${rootPid} exited while being frozen`, { code: 'ESRCH' });
    while (freezeNewcomers(state, root)) options.log.debug('tree changed while freezing; scanning again');
    const tasks = walkTree(root);
    options.log.info(`frozen ${tasks.length} task(s), ${state.seized.size} thread(s)`);
    return { root, tasks, frozenAt };
  } catch (error) {
    releaseThreads([...state.seized.values()], options.log);
    throw error;
  }
}

function checkTarget(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new CriuError(`invalid pid ${pid}`, { code: 'EINVAL' });
  const stat = readTaskStat(pid);
  if (stat === undefined) throw new CriuError(`pid ${pid} does not exist`, { code: 'ESRCH' });
  for (let p: number | undefined = process.pid; p !== undefined && p > 0; p = readTaskStat(p)?.ppid) {
    if (p === pid) {
      throw new CriuError(`pid ${pid} is criu itself or one of its ancestors: a tree holding criu cannot be dumped`, { code: 'EINVAL' });
    }
  }
}

/** Seize and stop one task (all its threads). undefined if it vanished. */
function freezeTask(state: FreezeState, pid: number, ppid: number): FrozenTask | undefined {
  const stat = readTaskStat(pid);
  if (stat === undefined) return undefined;
  const task: FrozenTask = {
    pid,
    ppid,
    pgid: stat.pgrp,
    sid: stat.session,
    threads: [],
    children: [],
    zombie: stat.state === 'Z' || stat.state === 'X',
    wasStopped: stat.state === 'T',
    exitCode: stat.exitCode,
    ns: stat.ns,
  };
  if (task.zombie) {
    task.threads.push({ tid: pid, nsTid: stat.ns.pid, pendingStopSignal: 0 });
    return task;
  }
  freezeThreads(state, task);
  if (task.threads.length === 0) return undefined;
  if (task.wasStopped) task.stopSignal = task.threads.find((thread) => thread.tid === pid)?.groupStopSignal;
  // re-read: pgid/sid cannot change any more now that every thread is stopped
  const frozen = readTaskStat(pid);
  if (frozen !== undefined) {
    task.pgid = frozen.pgrp;
    task.sid = frozen.session;
    task.ns = frozen.ns;
  }
  return task;
}

/**
 * Seize every thread of a task, scanning until no new thread appears. Each
 * scan seizes and interrupts all the threads it found before waiting for
 * any of them, so they stop side by side instead of one after another.
 */
function freezeThreads(state: FreezeState, task: FrozenTask): void {
  for (let changed = true; changed; ) {
    changed = false;
    const known = new Set(task.threads.map((thread) => thread.tid));
    const seized = listThreads(task.pid).filter((tid) => !known.has(tid)).filter((tid) => seizeThread(state, tid));
    for (const tid of seized) {
      const thread = awaitThreadStop(state, tid);
      if (thread === undefined) continue;
      task.threads.push(thread);
      changed = true;
    }
  }
  task.threads.sort((a, b) => (a.tid === task.pid ? -1 : b.tid === task.pid ? 1 : a.tid - b.tid));
}

/** PTRACE_SEIZE and PTRACE_INTERRUPT; false if the thread is gone. */
function seizeThread(state: FreezeState, tid: number): boolean {
  if (Date.now() > state.deadline) throw new CriuError(`timed out freezing thread ${tid} (--timeout)`, { code: 'ETIMEDOUT' });
  if (state.preSeized.has(tid)) {
    state.seized.set(tid, { tid, pendingStopSignal: 0 });
    return true;
  }
  return seizeAndInterrupt(tid, () => state.seized.set(tid, { tid, pendingStopSignal: 0 }));
}

/** PTRACE_SEIZE then PTRACE_INTERRUPT; false if the thread is gone. `seized` runs once it is ours. */
export function seizeAndInterrupt(tid: number, seized: () => void = () => {}): boolean {
  try {
    seize(tid);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'ESRCH') return false;
    throw explainSeizeFailure(tid, error);
  }
  seized();
  try {
    ptraceInterrupt(tid);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === 'ESRCH')) throw error;
  }
  return true;
}

/** The seized thread once stopped; undefined if it exited first. */
function awaitThreadStop(state: FreezeState, tid: number): FrozenThread | undefined {
  const thread = state.seized.get(tid)!;
  const stop = waitForStop(tid, state.deadline);
  if (stop === 'gone') {
    state.seized.delete(tid);
    return undefined;
  }
  thread.pendingStopSignal = stop.deliverySignal;
  thread.nsTid = readNsTid(tid, tid) ?? tid;
  if (stop.stopSignal !== undefined) thread.groupStopSignal = stop.stopSignal;
  state.log.debug(`seized thread ${tid}${stop.deliverySignal ? ` (stopped delivering signal ${stop.deliverySignal})` : ''}`);
  return thread;
}

/**
 * PTRACE_SEIZE, with seccomp suspended so the syscalls we inject are not
 * filtered (it needs CAP_SYS_ADMIN: without it, seize plainly).
 */
function seize(tid: number): void {
  try {
    ptraceSeize(tid, PTRACE_O.SUSPEND_SECCOMP);
  } catch (error) {
    if (!(error instanceof SyscallError) || error.code === 'ESRCH' || !isSeccompRefusal(tid, error)) throw error;
    ptraceSeize(tid);
  }
}

/** EPERM for the option alone (not for tracing at all): the task is not already traced. */
function isSeccompRefusal(tid: number, error: SyscallError): boolean {
  return error.code === 'EINVAL' || (error.code === 'EPERM' && (readTaskStat(tid)?.tracerPid ?? 0) === 0);
}

function explainSeizeFailure(tid: number, error: unknown): unknown {
  if (!(error instanceof SyscallError) || error.code !== 'EPERM') return error;
  const tracer = readTaskStat(tid)?.tracerPid ?? 0;
  const why = tracer > 0 ? `it is already traced by pid ${tracer} (another dump or a debugger?)` : 'not permitted to trace it';
  return new CriuError(`cannot seize pid ${tid}: ${why}`, { code: 'EPERM', cause: error });
}

/** Find and freeze children (and threads) that appeared since the last scan. */
function freezeNewcomers(state: FreezeState, root: FrozenTask): boolean {
  let changed = false;
  for (const task of walkTree(root)) {
    if (task.zombie) continue;
    const before = task.threads.length;
    freezeThreads(state, task);
    changed ||= task.threads.length !== before;
    const known = new Set(task.children.map((child) => child.pid));
    for (const childPid of listChildren(task.pid, task.threads.map((t) => t.tid))) {
      if (known.has(childPid)) continue;
      const child = freezeTask(state, childPid, task.pid);
      if (child === undefined) continue;
      task.children.push(child);
      changed = true;
    }
  }
  return changed;
}

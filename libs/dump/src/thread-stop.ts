// Waiting for a seized thread to stop, and letting threads go again.
// waitpid runs with WNOHANG and a bounded poll so a thread that never
// stops cannot hang the dump. See ptrace(2) "Stopped states".
import { CriuError, SyscallError, type Logger } from '@criu-ts/base';
import { PTRACE_EVENT, SIG, WAIT, kill, ptraceDetach, ptraceEventOf, pollPause, waitpid, wifstopped, wstopsig } from '@criu-ts/kernel';
import type { FrozenThread } from './task-tree.js';

export interface ThreadStop {
  /** non-zero when the thread stopped while a signal was being delivered */
  deliverySignal: number;
  /** in group-stop (job control): the task was stopped before we came */
  groupStop: boolean;
  /** the signal of that group-stop (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) */
  stopSignal?: number;
}

/** Wait until tid reports a ptrace-stop; 'gone' if it exited first. */
export function waitForStop(tid: number, deadline: number): ThreadStop | 'gone' {
  for (let round = 0; ; round++) {
    const result = waitpid(tid, WAIT.__WALL | WAIT.WNOHANG);
    if (result !== null) {
      if (!wifstopped(result.status)) return 'gone';
      const signal = wstopsig(result.status);
      if (ptraceEventOf(result.status) === PTRACE_EVENT.STOP) {
        return signal !== SIG.TRAP ? { deliverySignal: 0, groupStop: true, stopSignal: signal } : { deliverySignal: 0, groupStop: false };
      }
      return { deliverySignal: signal, groupStop: false };
    }
    if (Date.now() > deadline) throw new CriuError(`timed out waiting for thread ${tid} to stop (--timeout)`, { code: 'ETIMEDOUT' });
    pollPause(round);
  }
}

/** Detach every thread, giving back a signal caught in delivery. Never throws. */
export function releaseThreads(threads: FrozenThread[], log: Logger): void {
  for (const thread of threads) {
    try {
      ptraceDetach(thread.tid, thread.pendingStopSignal);
    } catch (error) {
      if (error instanceof SyscallError && error.code === 'ESRCH') continue;
      log.error(`could not release thread ${thread.tid}: ${String(error)}`);
    }
  }
}

/**
 * Kill frozen tasks (still traced, so nothing runs in between) and reap the
 * ptrace notifications. All threads are polled together: a thread-group
 * leader's exit is reported only after every other thread of its group has
 * been reaped (ptrace(2), "a thread group leader ... delayed"), so waiting
 * for the leader first would stall until the deadline.
 */
export function killTasks(pids: number[], threads: FrozenThread[], log: Logger): void {
  for (const pid of pids) {
    try {
      kill(pid, SIG.KILL);
    } catch (error) {
      if (!(error instanceof SyscallError && error.code === 'ESRCH')) log.error(`could not kill pid ${pid}: ${String(error)}`);
    }
  }
  const leaders = new Set(pids);
  // non-leaders first, so a leader's report is usually ready by its turn
  let pending = [...threads.filter((t) => !leaders.has(t.tid)), ...threads.filter((t) => leaders.has(t.tid))].map((t) => t.tid);
  const deadline = Date.now() + 5000;
  for (let round = 0; pending.length > 0; round++) {
    pending = pending.filter((tid) => !reapedExit(tid));
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      log.warn(`threads ${pending.join(', ')} did not report their exit within 5 s`);
      break;
    }
    pollPause(round);
  }
}

/** One non-blocking look at tid: true once its exit has been reaped (or it is no child of ours). */
function reapedExit(tid: number): boolean {
  let result;
  try {
    result = waitpid(tid, WAIT.__WALL | WAIT.WNOHANG);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'ECHILD') return true;
    throw error;
  }
  // null: not yet; a stop reported before the kill landed: look again next round
  return result !== null && !wifstopped(result.status);
}

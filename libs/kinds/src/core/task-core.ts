// The task-wide part of the leader's core-PID.img (task_core_entry): state
// (alive, or stopped with its stop signal), personality, PF_* flags, the
// leader's signal mask, comm, timers, resource limits, the shared pending
// signal queue, loginuid, oom_score_adj, signal handlers, child-subreaper
// flag and membarrier registrations. Not saved: cgroup set, old-style
// per-task seccomp fields (seccomp is saved per thread: seccomp.ts), umask
// (the fs kind has it).
// See proc_pid_stat(5), getrlimit(2), proc_pid_loginuid(5), sigaction(2).
import { SyscallError } from '@criu-ts/base';
import type { Messages } from '@criu-ts/images';
import { RLIM_NLIMITS, SIG, SYS, prlimit, type Rlimit } from '@criu-ts/kernel';
import type { Injector, Scratch } from '@criu-ts/inject';
import { readLoginuid, readOomScoreAdj, readPersonality, readStat, readTimers } from '@criu-ts/proc';
import type { DumpTask } from '../dump-context.js';
import { saEntries } from './sigactions.js';
import { peekQueue, queueEntry } from './signals.js';
import type { TaskCalls } from './task-calls.js';
import { itimerEntries, posixTimerEntry } from './timers.js';

export type TaskCore = Messages['task_core_entry'];

/** task_state values (criu/include/pid.h, compel's task-state.h) */
export const TASK_STATE = { ALIVE: 1, DEAD: 2, STOPPED: 3 } as const;

/** One rlimit; from outside, or asked of the task itself when we may not read another uid's limits. */
function readRlimit(pid: number, resource: number, injector: Injector, scratch: Scratch): Rlimit {
  try {
    return prlimit(pid, resource);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === 'EPERM')) throw error;
  }
  injector.call(`prlimit64(${resource})`, SYS.prlimit64, [0, resource, 0, scratch.addr]);
  const buf = scratch.read(16);
  return { cur: buf.readBigUInt64LE(0), max: buf.readBigUInt64LE(8) };
}

function rlimits(pid: number, injector: Injector, scratch: Scratch): TaskCore['rlimits'] {
  return { rlimits: Array.from({ length: RLIM_NLIMITS }, (_, res) => readRlimit(pid, res, injector, scratch)) };
}

function timers(pid: number, calls: TaskCalls): TaskCore['timers'] {
  const posix = readTimers(pid)
    .sort((a, b) => a.ID - b.ID)
    .map((timer) => {
      const { value, overrun } = calls.posixTimer(timer.ID);
      return posixTimerEntry(timer, value, overrun);
    });
  return { ...itimerEntries(calls.itimers()), posix };
}

/** loginuid when the kernel has it (CONFIG_AUDIT), else none. */
function loginuid(pid: number): number | undefined {
  try {
    return readLoginuid(pid);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

export interface TaskCoreParts {
  calls: TaskCalls;
  injector: Injector;
  scratch: Scratch;
  /** the leader's blocked signals, read before any injection */
  sigmask: bigint;
}

/** task_core_entry of a live task; its leader is frozen and `parts.injector` is the leader's. */
export function taskCore(task: DumpTask, parts: TaskCoreParts): TaskCore {
  const { pid } = task;
  const { calls } = parts;
  const stat = readStat(pid);
  const tc: TaskCore = {
    task_state: task.wasStopped ? TASK_STATE.STOPPED : TASK_STATE.ALIVE,
    exit_code: 0,
    personality: readPersonality(pid),
    flags: stat.flags,
    blk_sigset: parts.sigmask,
    comm: stat.comm,
    timers: timers(pid, calls),
    rlimits: rlimits(pid, parts.injector, parts.scratch),
    signals_s: queueEntry(peekQueue(pid, true)),
    oom_score_adj: readOomScoreAdj(pid),
    sigactions: saEntries(calls.sigactions()),
    child_subreaper: calls.childSubreaper(),
  };
  const luid = loginuid(pid);
  if (luid !== undefined) tc.loginuid = luid;
  if (task.wasStopped) tc.stop_signo = task.stopSignal ?? SIG.STOP;
  const membarrier = calls.membarrierRegistrations();
  if (membarrier !== 0) tc.membarrier_registration_mask = membarrier;
  return tc;
}

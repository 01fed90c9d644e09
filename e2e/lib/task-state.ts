// What a test checks about a workload after a dump: it is still there,
// running (not stopped, not traced) and unchanged.
import { readFileSync } from 'node:fs';

export interface TaskState {
  state: string;
  tracerPid: number;
}

export function taskState(pid: number): TaskState | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const state = /^State:\s*(\S)/m.exec(status)?.[1] ?? '?';
  const tracerPid = Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1] ?? 0);
  return { state, tracerPid };
}

/** A compact description of a task's mappings, to compare before and after. */
export function mapsOf(pid: number): string {
  return readFileSync(`/proc/${pid}/maps`, 'utf8');
}

/** The fd numbers a task has open, with their targets. */
export function fdsOf(pid: number): string {
  return readFileSync(`/proc/${pid}/status`, 'utf8').match(/^FDSize.*$/m)?.[0] ?? '';
}

/**
 * What /proc shows of the state the core kind restores: the given
 * /proc/PID/task/TID/status lines and the nice value per thread, then the
 * task's limits, oom_score_adj, personality and POSIX timers.
 */
export function coreStateOf(pid: number, tids: readonly number[], statusKeys: readonly string[]): Record<string, string> {
  const state: Record<string, string> = {};
  for (const tid of tids) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    for (const key of statusKeys) state[`${tid} ${key}`] = new RegExp(`^${key}:(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    state[`${tid} nice`] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]!;
  }
  state.limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  state.oom = readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8');
  state.personality = readFileSync(`/proc/${pid}/personality`, 'utf8');
  state.timers = readFileSync(`/proc/${pid}/timers`, 'utf8').split('\n').filter((l) => /^(ID|signal|notify|ClockID):/.test(l)).join('\n');
  return state;
}

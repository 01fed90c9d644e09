// Timers of a task into tc.timers (task_timers_entry), as upstream CRIU 4.x
// keeps them inside the core (not the old itimers-PID.img /
// posix-timers-PID.img): the three interval timers (getitimer(2): real,
// virtual, prof; remaining value and interval) and every POSIX timer
// (timer_create(2)) listed in /proc/PID/timers, with timer_gettime(2)'s
// value/interval and timer_getoverrun(2). Pure decoding.
import type { Messages } from '@criu-ts/images';
import type { PosixTimer } from '@criu-ts/proc';
import { ITIMERVAL_SIZE } from './task-calls.js';

export type ItimerEntry = Messages['itimer_entry'];
export type PosixTimerEntry = Messages['posix_timer_entry'];
export type TaskTimers = Messages['task_timers_entry'];

/** sigev_notify values (<asm-generic/siginfo.h>) */
export const SIGEV = { SIGNAL: 0, NONE: 1, THREAD: 2, THREAD_ID: 4 } as const;

/** struct itimerval {interval, value} of timevals → itimer_entry. */
export function itimerEntry(buf: Buffer, at = 0): ItimerEntry {
  return {
    isec: buf.readBigUInt64LE(at),
    iusec: buf.readBigUInt64LE(at + 8),
    vsec: buf.readBigUInt64LE(at + 16),
    vusec: buf.readBigUInt64LE(at + 24),
  };
}

/** The real, virt and prof itimers of TaskCalls.itimers() output. */
export function itimerEntries(buf: Buffer): Pick<TaskTimers, 'real' | 'virt' | 'prof'> {
  return { real: itimerEntry(buf, 0), virt: itimerEntry(buf, ITIMERVAL_SIZE), prof: itimerEntry(buf, 2 * ITIMERVAL_SIZE) };
}

/** The sigev_notify a /proc/PID/timers entry stands for, as upstream reads it back. */
export function sigevNotify(timer: PosixTimer): number {
  if (timer.thread_id) return SIGEV.THREAD_ID | SIGEV.SIGNAL;
  if (timer.notify === 'thread') return SIGEV.THREAD;
  if (timer.notify === 'none') return SIGEV.NONE;
  return SIGEV.SIGNAL;
}

/** posix_timer_entry from the /proc line and timer_gettime's struct itimerspec {interval, value}. */
export function posixTimerEntry(timer: PosixTimer, itimerspec: Buffer, overrun: number): PosixTimerEntry {
  const entry: PosixTimerEntry = {
    it_id: timer.ID,
    clock_id: timer.ClockID,
    si_signo: timer.signal,
    it_sigev_notify: sigevNotify(timer),
    sival_ptr: timer.sigev_value,
    overrun,
    isec: itimerspec.readBigUInt64LE(0),
    insec: itimerspec.readBigUInt64LE(8),
    vsec: itimerspec.readBigUInt64LE(16),
    vnsec: itimerspec.readBigUInt64LE(24),
  };
  if (timer.thread_id) entry.notify_thread_id = timer.notify_pid;
  return entry;
}

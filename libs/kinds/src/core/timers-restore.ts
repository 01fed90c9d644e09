// Re-arming a task's timers (task_timers_entry of tc) from inside it:
// every POSIX timer is created again with its saved id, clock and
// notification (timer_create(2)), then set to its remaining time and
// interval (timer_settime(2), relative); the interval timers get their
// remaining value and interval (setitimer(2)). The saved id is asked for
// with prctl(PR_TIMER_CREATE_RESTORE_IDS) (Linux 6.15+); on older kernels,
// as upstream CRIU does, timers are created until the kernel hands out the
// wanted id. Overrun counts are not restored (the kernel has no way to set
// them). Call once the task's threads exist (SIGEV_THREAD_ID names one).
import { CriuError, ImageError } from '@criu-ts/base';
import { ITIMER, SYS } from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';
import type { TaskScratch } from '../restore-context.js';
import { isErrno, runChecked, type NamedCall } from './injected-batch.js';
import type { ItimerEntry, PosixTimerEntry, TaskTimers } from './timers.js';

const PR_TIMER_CREATE_RESTORE_IDS = 77;
const RESTORE_IDS = { OFF: 0, ON: 1 } as const;
const EINVAL = 22n;
const SIGEVENT_SIZE = 64;
const SPEC_SIZE = 32;
/** per timer in the scratch: sigevent, its id slot, its itimerspec */
const TIMER_SLOT = SIGEVENT_SIZE + 8 + SPEC_SIZE;
const NSEC = 1_000_000_000n;
const USEC = 1_000_000n;

function checkTime(image: string, what: string, sec: bigint, frac: bigint, limit: bigint): void {
  if (frac >= limit || sec < 0n || frac < 0n) throw new ImageError(`${what}: bad time ${sec}.${frac}`, { image, offset: 0 });
}

/** struct sigevent for timer_create. */
export function sigeventStruct(timer: PosixTimerEntry): Buffer {
  const buf = Buffer.alloc(SIGEVENT_SIZE);
  buf.writeBigUInt64LE(BigInt.asUintN(64, timer.sival_ptr), 0);
  buf.writeInt32LE(timer.si_signo, 8);
  buf.writeInt32LE(timer.it_sigev_notify, 12);
  buf.writeInt32LE(timer.notify_thread_id ?? 0, 16);
  return buf;
}

/**
 * {interval, value} as the timer must be armed. A periodic timer read with
 * no time left had just expired: its signal was pending and the kernel
 * re-arms it only when the signal is taken, so it is armed with one whole
 * interval — a zero value would disarm it for good.
 */
function armedPair(interval: [bigint, bigint], value: [bigint, bigint]): bigint[] {
  const expired = value[0] === 0n && value[1] === 0n;
  return [...interval, ...(expired ? interval : value)];
}

/** struct itimerspec {interval, value} of a POSIX timer. */
export function itimerspecStruct(timer: PosixTimerEntry): Buffer {
  const buf = Buffer.alloc(SPEC_SIZE);
  armedPair([timer.isec, timer.insec], [timer.vsec, timer.vnsec]).forEach((v, i) => buf.writeBigUInt64LE(v, i * 8));
  return buf;
}

/** struct itimerval {interval, value} of an interval timer. */
export function itimervalStruct(timer: ItimerEntry): Buffer {
  const buf = Buffer.alloc(32);
  armedPair([timer.isec, timer.iusec], [timer.vsec, timer.vusec]).forEach((v, i) => buf.writeBigUInt64LE(v, i * 8));
  return buf;
}

/** Writes the timers' structs into the scratch; the address of timer i's slot. */
function stagePosix(scratch: TaskScratch, timers: readonly PosixTimerEntry[], image: string): bigint[] {
  if (timers.length * TIMER_SLOT > scratch.size) throw new CriuError(`${image}: ${timers.length} POSIX timers do not fit the restore scratch`, { code: 'E2BIG' });
  return timers.map((timer, i) => {
    checkTime(image, `POSIX timer ${timer.it_id} interval`, timer.isec, timer.insec, NSEC);
    checkTime(image, `POSIX timer ${timer.it_id} value`, timer.vsec, timer.vnsec, NSEC);
    const slot = Buffer.concat([sigeventStruct(timer), Buffer.alloc(8), itimerspecStruct(timer)]);
    slot.writeInt32LE(timer.it_id, SIGEVENT_SIZE);
    return scratch.write(slot, i * TIMER_SLOT);
  });
}

/** timer_create until the kernel gives out the wanted id (no PR_TIMER_CREATE_RESTORE_IDS). */
function createBySequence(injector: Injector, scratch: TaskScratch, timer: PosixTimerEntry, slot: bigint): void {
  const idAt = slot + BigInt(SIGEVENT_SIZE);
  for (;;) {
    injector.call(`timer_create(${timer.it_id})`, SYS.timer_create, [timer.clock_id, slot, idAt]);
    const got = scratch.read(4, Number(idAt - scratch.addr)).readInt32LE(0);
    if (got === timer.it_id) return;
    injector.call(`timer_delete(${got})`, SYS.timer_delete, [got]);
    if (got > timer.it_id) throw new CriuError(`task ${injector.pid}: POSIX timer id ${timer.it_id} is no longer free (the kernel gave ${got})`, { code: 'EBUSY' });
  }
}

function createPosix(injector: Injector, scratch: TaskScratch, timers: readonly PosixTimerEntry[], slots: readonly bigint[]): void {
  const on = injector.syscall(SYS.prctl, PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS.ON, 0, 0, 0);
  if (on === -EINVAL) {
    timers.forEach((timer, i) => createBySequence(injector, scratch, timer, slots[i]!));
    return;
  }
  if (isErrno(on)) throw new CriuError(`task ${injector.pid}: prctl(PR_TIMER_CREATE_RESTORE_IDS) failed (${on})`, { code: 'EINVAL' });
  try {
    runChecked(injector, timers.map((timer, i) => ({
      name: `timer_create(id ${timer.it_id})`, nr: SYS.timer_create, args: [timer.clock_id, slots[i]!, slots[i]! + BigInt(SIGEVENT_SIZE)],
    })));
  } finally {
    injector.call('prctl(PR_TIMER_CREATE_RESTORE_IDS, OFF)', SYS.prctl, [PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS.OFF, 0, 0, 0]);
  }
}

function itimerCalls(scratch: TaskScratch, timers: TaskTimers, at: number, image: string): NamedCall[] {
  const which = [[ITIMER.REAL, timers.real, 'real'], [ITIMER.VIRTUAL, timers.virt, 'virtual'], [ITIMER.PROF, timers.prof, 'prof']] as const;
  return which
    .filter(([, timer]) => timer.vsec !== 0n || timer.vusec !== 0n || timer.isec !== 0n || timer.iusec !== 0n) // armed, or periodic
    .map(([nr, timer, name], i) => {
      checkTime(image, `ITIMER_${name} interval`, timer.isec, timer.iusec, USEC);
      checkTime(image, `ITIMER_${name} value`, timer.vsec, timer.vusec, USEC);
      const addr = scratch.write(itimervalStruct(timer), at + i * 32);
      return { name: `setitimer(ITIMER_${name.toUpperCase()})`, nr: SYS.setitimer, args: [nr, addr, 0] };
    });
}

/** Creates and arms the task's timers through its leader's injector. */
export function restoreTimers(injector: Injector, scratch: TaskScratch, timers: TaskTimers | undefined, image: string): number {
  if (timers === undefined) return 0;
  const posix = [...(timers.posix ?? [])].sort((a, b) => a.it_id - b.it_id);
  const slots = stagePosix(scratch, posix, image);
  if (posix.length > 0) createPosix(injector, scratch, posix, slots);
  const settime: NamedCall[] = posix.map((timer, i) => ({
    name: `timer_settime(${timer.it_id})`, nr: SYS.timer_settime, args: [timer.it_id, 0, slots[i]! + BigInt(SIGEVENT_SIZE + 8), 0],
  }));
  runChecked(injector, [...settime, ...itimerCalls(scratch, timers, posix.length * TIMER_SLOT, image)]);
  return posix.length;
}

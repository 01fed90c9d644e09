// The questions only a thread itself can answer, asked through an injected
// syscall (our compel): its clear_child_tid address, alternate signal
// stack, parent-death signal, securebits, signal handlers, interval and
// POSIX timers, child-subreaper flag and membarrier registrations. Struct
// results land in one scratch page mapped in the task (unmapped when the
// injector is released); each answer is read back with one positioned read.
import { SyscallError } from '@criu-ts/base';
import type { BatchCall, Injector, Scratch } from '@criu-ts/inject';
import { ITIMER, NSIG, PR, SIG, SYS } from '@criu-ts/kernel';

/** sizeof(struct sigaction) as the kernel's rt_sigaction takes it on x86_64 */
export const KSIGACTION_SIZE = 32;
/** sizeof(struct itimerval), sizeof(struct itimerspec) */
export const ITIMERVAL_SIZE = 32;
export const ITIMERSPEC_SIZE = 32;
/** sizeof(stack_t) */
export const STACK_T_SIZE = 24;
const MEMBARRIER_CMD_GET_REGISTRATIONS = 1 << 9;
const EINVAL = 22n;

/** Every signal whose action a task has: 1..64 but SIGKILL and SIGSTOP (62 of them). */
export const ACTION_SIGNALS: readonly number[] = Array.from({ length: NSIG }, (_, i) => i + 1).filter(
  (sig) => sig !== SIG.KILL && sig !== SIG.STOP,
);

export interface TaskCalls {
  tidAddress(): bigint;
  sigaltstack(): Buffer;
  pdeathSignal(): number;
  securebits(): number;
  childSubreaper(): boolean;
  /** ACTION_SIGNALS.length struct sigactions, in that order */
  sigactions(): Buffer;
  /** ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF itimervals, in that order */
  itimers(): Buffer;
  posixTimer(id: number): { value: Buffer; overrun: number };
  /** the membarrier(2) registrations, 0 when the kernel cannot tell */
  membarrierRegistrations(): number;
}

function readInt(scratch: Scratch): number {
  return scratch.read(4).readInt32LE(0);
}

/** Runs calls as one batch; the first that failed throws, naming it. */
function batchChecked(injector: Injector, name: string, calls: BatchCall[]): void {
  injector.batch(calls).forEach((result, i) => {
    if (result < 0n && result >= -4095n) throw new SyscallError({ syscall: `${name}(${calls[i]!.args?.[0] ?? ''})`, errno: Number(-result), pid: injector.tid });
  });
}

/** Injected calls on `injector`'s thread; `scratch` is a page of that task. */
export function taskCalls(injector: Injector, scratch: Scratch): TaskCalls {
  const at = (offset: number): bigint => scratch.addr + BigInt(offset);
  const call = (name: string, nr: number, args: (bigint | number)[]): bigint => injector.call(name, nr, args);
  return {
    tidAddress() {
      call('prctl(PR_GET_TID_ADDRESS)', SYS.prctl, [PR.GET_TID_ADDRESS, at(0)]);
      return scratch.read(8).readBigUInt64LE(0);
    },
    sigaltstack() {
      call('sigaltstack', SYS.sigaltstack, [0, at(0)]);
      return scratch.read(STACK_T_SIZE);
    },
    pdeathSignal() {
      call('prctl(PR_GET_PDEATHSIG)', SYS.prctl, [PR.GET_PDEATHSIG, at(0)]);
      return readInt(scratch);
    },
    securebits: () => Number(call('prctl(PR_GET_SECUREBITS)', SYS.prctl, [PR.GET_SECUREBITS])),
    childSubreaper() {
      call('prctl(PR_GET_CHILD_SUBREAPER)', SYS.prctl, [PR.GET_CHILD_SUBREAPER, at(0)]);
      return readInt(scratch) !== 0;
    },
    sigactions() {
      // one trip into the task for all 62 (an injected call each would be 62 ptrace round trips)
      const calls = ACTION_SIGNALS.map((sig, i) => ({ nr: SYS.rt_sigaction, args: [sig, 0, at(i * KSIGACTION_SIZE), 8] }));
      batchChecked(injector, 'rt_sigaction', calls);
      return scratch.read(ACTION_SIGNALS.length * KSIGACTION_SIZE);
    },
    itimers() {
      const calls = [ITIMER.REAL, ITIMER.VIRTUAL, ITIMER.PROF].map((which, i) => ({ nr: SYS.getitimer, args: [which, at(i * ITIMERVAL_SIZE)] }));
      batchChecked(injector, 'getitimer', calls);
      return scratch.read(3 * ITIMERVAL_SIZE);
    },
    posixTimer(id) {
      call(`timer_gettime(${id})`, SYS.timer_gettime, [id, at(0)]);
      const value = scratch.read(ITIMERSPEC_SIZE);
      return { value, overrun: Number(call(`timer_getoverrun(${id})`, SYS.timer_getoverrun, [id])) };
    },
    membarrierRegistrations() {
      const result = injector.syscall(SYS.membarrier, MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
      if (result === -EINVAL) return 0;
      if (result < 0n) throw new SyscallError({ syscall: 'membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS)', errno: Number(-result), pid: injector.tid });
      return Number(result);
    },
  };
}


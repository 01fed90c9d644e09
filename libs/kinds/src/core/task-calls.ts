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


/** Where each answer of the prefetch batch lands in the scratch page. */
const AT = { tidAddress: 0, pdeath: 8, subreaper: 16, sigaltstack: 32, itimers: 64, sigactions: 256 } as const;
const PREFETCH_BYTES = AT.sigactions + ACTION_SIGNALS.length * KSIGACTION_SIZE;

/** The prefetch batch's first calls are the questions of one thread; the rest are task-wide. */
const THREAD_QUESTIONS = 4;

/** Bytes of scratch one thread's own questions need (prefetch scope 'thread'). */
export const THREAD_ANSWER_BYTES = 64;

/** The calls of a prefetch, to run (alone or beside other threads'), and how to read their answers. */
export interface PreparedCalls {
  calls: BatchCall[];
  answer(results: readonly bigint[]): TaskCalls;
}

/**
 * The prefetch batch of taskCalls (see prefetchedTaskCalls), not run yet:
 * its answers land in `scratch` from `base` on. For a thread other than the
 * leader (`scope` 'thread') only its own questions (clear_child_tid,
 * sigaltstack, parent-death signal, securebits), THREAD_ANSWER_BYTES of
 * scratch: the task-wide ones are the leader's.
 */
export function prepareTaskCalls(injector: Injector, scratch: Scratch, scope: 'task' | 'thread' = 'task', base = 0): PreparedCalls {
  const at = (offset: number): bigint => scratch.addr + BigInt(base + offset);
  const named: { name: string; nr: number; args: (bigint | number)[] }[] = [
    { name: 'prctl(PR_GET_TID_ADDRESS)', nr: SYS.prctl, args: [PR.GET_TID_ADDRESS, at(AT.tidAddress)] },
    { name: 'sigaltstack', nr: SYS.sigaltstack, args: [0, at(AT.sigaltstack)] },
    { name: 'prctl(PR_GET_PDEATHSIG)', nr: SYS.prctl, args: [PR.GET_PDEATHSIG, at(AT.pdeath)] },
    { name: 'prctl(PR_GET_SECUREBITS)', nr: SYS.prctl, args: [PR.GET_SECUREBITS] },
    { name: 'prctl(PR_GET_CHILD_SUBREAPER)', nr: SYS.prctl, args: [PR.GET_CHILD_SUBREAPER, at(AT.subreaper)] },
    { name: 'membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS)', nr: SYS.membarrier, args: [MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0] },
    ...[ITIMER.REAL, ITIMER.VIRTUAL, ITIMER.PROF].map((which, i) => ({ name: `getitimer(${which})`, nr: SYS.getitimer, args: [which, at(AT.itimers + i * ITIMERVAL_SIZE)] })),
    ...ACTION_SIGNALS.map((sig, i) => ({ name: `rt_sigaction(${sig})`, nr: SYS.rt_sigaction, args: [sig, 0, at(AT.sigactions + i * KSIGACTION_SIZE), 8] })),
  ];
  const asked = scope === 'task' ? named : named.slice(0, THREAD_QUESTIONS);
  return {
    calls: asked.map(({ nr, args }) => ({ nr, args })),
    answer(results) {
      const answers = scratch.read(scope === 'task' ? PREFETCH_BYTES : AT.sigaltstack + STACK_T_SIZE, base);
      const checked = (first: number, count = 1): bigint => {
        if (first + count > asked.length) throw new Error(`task-wide question ${named[first]!.name} asked of thread ${injector.tid}`);
        for (let i = first; i < first + count; i++) {
          const result = results[i]!;
          if (result < 0n && result >= -4095n) throw new SyscallError({ syscall: named[i]!.name, errno: Number(-result), pid: injector.tid });
        }
        return results[first]!;
      };
      const lazy = taskCalls(injector, scratch);
      return {
        tidAddress: () => (checked(0), answers.readBigUInt64LE(AT.tidAddress)),
        sigaltstack: () => (checked(1), answers.subarray(AT.sigaltstack, AT.sigaltstack + STACK_T_SIZE)),
        pdeathSignal: () => (checked(2), answers.readInt32LE(AT.pdeath)),
        securebits: () => Number(checked(3)),
        childSubreaper: () => (checked(4), answers.readInt32LE(AT.subreaper) !== 0),
        membarrierRegistrations() {
          if (results[5] === -EINVAL) return 0;
          return Number(checked(5));
        },
        itimers: () => (checked(6, 3), answers.subarray(AT.itimers, AT.itimers + 3 * ITIMERVAL_SIZE)),
        sigactions: () => (checked(9, ACTION_SIGNALS.length), answers.subarray(AT.sigactions, AT.sigactions + ACTION_SIGNALS.length * KSIGACTION_SIZE)),
        posixTimer: (id) => lazy.posixTimer(id),
      };
    },
  };
}

/**
 * taskCalls whose questions (all but the POSIX timers', which depend on the
 * timer ids) are asked in one batch — one trip into the task instead of
 * eight. Each answer is checked when it is used, so a failure names its call.
 */
export function prefetchedTaskCalls(injector: Injector, scratch: Scratch, scope: 'task' | 'thread' = 'task'): TaskCalls {
  const prepared = prepareTaskCalls(injector, scratch, scope);
  return prepared.answer(injector.batch(prepared.calls));
}

// Putting an injected task back: queue again the signals that arrived while
// we worked, then restore code bytes, signal mask and registers. Every
// restoring step runs even if an earlier one failed; the first failure is
// thrown at the end.
import { CriuError } from '@criu-ts/base';
import {
  SIG, SYS, ptraceSetRegs, ptraceSetSigmask, tgkill, type TaskMemory, type X86Regs,
} from '@criu-ts/kernel';
import type { TrapContext } from './run-to-trap.js';
import type { Scratch } from './scratch.js';
import { nsTidOf } from './tool-pidfd.js';

/** What openInjector changed, and what release puts back. */
export interface Saved {
  tid: number;
  pid: number;
  regs: X86Regs;
  sigmask: bigint;
  site: bigint;
  /** the bytes under the trampoline; null until it is written */
  code: Buffer | null;
  /** SIGSTOPs to send once the task is back (they cannot wait blocked) */
  stops: number;
}

type Call = (name: string, nr: number, args?: (bigint | number)[]) => bigint;

/** Bound on rounds: queuing a signal could, in theory, let yet another arrive. */
const MAX_ROUNDS = 16;

/**
 * Queues each deferred signal again with its own siginfo, through an
 * rt_tgsigqueueinfo the task makes itself (the kernel allows any si_code
 * when a task signals its own thread group). All signals are still
 * blocked, so they stay pending until release restores the mask. SIGSTOP
 * cannot be blocked: it is sent after the task is back.
 */
export function requeueDeferred(ctx: TrapContext, saved: Saved, scratchOf: (size: number) => Scratch, call: Call): void {
  let page: Scratch | null = null;
  for (let round = 0; ctx.deferred.length > 0 && round < MAX_ROUNDS; round++) {
    const siginfo = ctx.deferred.shift()!;
    const signo = siginfo.readInt32LE(0);
    if (signo === SIG.STOP) {
      saved.stops += 1;
      continue;
    }
    page ??= scratchOf(siginfo.length);
    page.write(siginfo);
    call('rt_tgsigqueueinfo', SYS.rt_tgsigqueueinfo, [nsTidOf(saved.pid), nsTidOf(saved.tid), signo, page.addr]);
  }
  if (page !== null) call('munmap', SYS.munmap, [page.addr, page.size]);
  if (ctx.deferred.length > 0) {
    throw new CriuError(`task ${saved.tid}: signals kept arriving while injecting; ${ctx.deferred.length} not queued again`, { code: 'EAGAIN' });
  }
}

/** Restores code bytes, mask and registers, closes the memory fd, sends deferred SIGSTOPs. */
export function restoreTask(saved: Saved, mem: TaskMemory): void {
  const code = saved.code;
  const steps: (() => void)[] = [
    () => {
      if (code !== null && mem.write(saved.site, code) !== code.length) {
        throw new CriuError(`task ${saved.tid}: could not restore the code at 0x${saved.site.toString(16)}`);
      }
    },
    () => ptraceSetSigmask(saved.tid, saved.sigmask),
    () => ptraceSetRegs(saved.tid, saved.regs),
    () => mem.close(),
    () => {
      for (; saved.stops > 0; saved.stops -= 1) tgkill(saved.pid, saved.tid, SIG.STOP);
    },
  ];
  let first: unknown = null;
  for (const step of steps) {
    try {
      step();
    } catch (error) {
      first ??= error;
    }
  }
  if (first !== null) throw first;
}

// Running a task from the trampoline to its int3, and sorting out every
// other stop that may come first. The injector blocks all blockable signals but
// SIGTRAP while it works, so normally the int3 is the only stop. Otherwise:
//  - a signal-delivery stop (SIGSTOP, or any signal if blocking was
//    defeated) is not delivered now: its siginfo is kept and the injector
//    queues it again on release, so the task still gets it;
//  - a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS) inside the trampoline
//    ends the injection with an error;
//  - ptrace events (a clone the injected call made, an interrupt) are
//    recorded or skipped, and the task continued.
import { CriuError, type Logger } from '@criu-ts/base';
import {
  PTRACE_EVENT, SIG, WAIT, ptraceCont, ptraceEventOf, ptraceGetEventMsg, ptraceGetRegs, ptraceGetSiginfo,
  ptraceInterrupt, waitpidWithin, wifexited, wifsignaled, wstopsig, type X86Regs,
} from '@criu-ts/kernel';

/** The trampoline: syscall; int3. */
export const TRAMPOLINE = Buffer.from([0x0f, 0x05, 0xcc]);

const FAULTS: ReadonlySet<number> = new Set([SIG.SEGV, SIG.BUS, SIG.ILL, SIG.FPE, SIG.SYS]);

export interface TrapContext {
  tid: number;
  site: bigint;
  timeoutMs: number;
  log: Logger;
  /** siginfo of signals that arrived meanwhile: queue them again on release */
  deferred: Buffer[];
  /** ptrace events seen meanwhile (e.g. PTRACE_EVENT_CLONE with the new tid) */
  events: { event: number; msg: bigint }[];
}

function checkAlive(ctx: TrapContext, status: number): void {
  if (wifexited(status) || wifsignaled(status)) {
    throw new CriuError(`task ${ctx.tid} ended during an injected syscall (wait status 0x${status.toString(16)})`, { code: 'ESRCH' });
  }
}

/** The code a run executes: from `start`; its int3 is the byte before `end`. */
export interface CodeRange {
  start: bigint;
  end: bigint;
}

/** Handles one stop; returns the registers if it was our int3, else null after continuing the task. */
function onStop(ctx: TrapContext, code: CodeRange, status: number): X86Regs | null {
  const event = ptraceEventOf(status);
  const sig = wstopsig(status);
  if (event !== 0) {
    if (event !== PTRACE_EVENT.STOP) ctx.events.push({ event, msg: ptraceGetEventMsg(ctx.tid) });
    ptraceCont(ctx.tid);
    return null;
  }
  const regs = ptraceGetRegs(ctx.tid);
  const inTrampoline = regs.rip >= code.start && regs.rip <= code.end;
  if (sig === SIG.TRAP && regs.rip === code.end) return regs;
  if (FAULTS.has(sig) && inTrampoline) {
    throw new CriuError(`task ${ctx.tid}: signal ${sig} at 0x${regs.rip.toString(16)} while running the injected syscall`, { code: 'EFAULT' });
  }
  ctx.log.info(`task ${ctx.tid}: signal ${sig} arrived during an injected syscall; it is queued again on release`);
  ctx.deferred.push(ptraceGetSiginfo(ctx.tid));
  ptraceCont(ctx.tid);
  return null;
}

/** Takes back a task whose injected call did not finish in time. */
function interruptOverdue(ctx: TrapContext): never {
  ptraceInterrupt(ctx.tid);
  // the stop that follows: our interrupt, or the trap if the call ended just now
  const status = waitpidWithin(ctx.tid, WAIT.__WALL, 1000).status;
  checkAlive(ctx, status);
  throw new CriuError(`task ${ctx.tid}: injected syscall did not return within ${ctx.timeoutMs} ms`, { code: 'ETIMEDOUT' });
}

/** Continues the task (already at code.start) and waits, bounded, for the int3 that ends the code. */
export function runToTrap(ctx: TrapContext, code: CodeRange = { start: ctx.site, end: ctx.site + BigInt(TRAMPOLINE.length) }): X86Regs {
  ptraceCont(ctx.tid);
  return awaitTrap(ctx, code);
}

/** The waiting half of runToTrap, for a task already continued (several threads may run at once). */
export function awaitTrap(ctx: TrapContext, code: CodeRange): X86Regs {
  const deadline = performance.now() + ctx.timeoutMs;
  for (;;) {
    const left = deadline - performance.now();
    let status: number;
    try {
      status = waitpidWithin(ctx.tid, WAIT.__WALL, Math.max(left, 0)).status;
    } catch (error) {
      if (error instanceof CriuError && error.code === 'ETIMEDOUT') interruptOverdue(ctx);
      throw error;
    }
    checkAlive(ctx, status);
    const regs = onStop(ctx, code, status);
    if (regs !== null) return regs;
  }
}

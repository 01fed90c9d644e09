// The last step: every thread gets its registers, FPU state and blocked
// signals, zombies are made to exit with their status, and the
// whole tree is let go at once (PTRACE_DETACH). Tasks that were stopped
// at dump time, or all with -s/--leave-stopped, get their stop signal
// queued first, so they stop before running a single instruction.
import { FAULT, faultPoint, type Logger } from '@criu-ts/base';
import {
  SIG, SYS, kill, ptraceDetach, ptraceGetRegs, ptraceSetRegs, ptraceSetSigmask, writeTaskMemory,
} from '@criu-ts/kernel';
import { nsTidOf } from '@criu-ts/inject';
import { probeXsaveLayout, type XsaveLayout } from '@criu-ts/kinds';
import type { TaskArea } from './task-area.js';
import { setThreadState } from './thread-state.js';
import { TASK_STATE, type TaskImage, type ThreadImage } from './tree-images.js';

const SYSCALL_INSN = Buffer.from([0x0f, 0x05]);

function prepareThread(task: TaskImage, thread: ThreadImage, layout: XsaveLayout): void {
  const tc = task.threads[0]!.core.tc!;
  setThreadState(thread.tid, thread.core.thread_info!, layout);
  ptraceSetSigmask(thread.tid, thread.core.thread_core?.blk_sigset ?? tc.blk_sigset);
}

/** A zombie runs one syscall from the restore area: exit_group(status) or kill(self, signal). */
function prepareZombie(task: TaskImage, area: TaskArea): void {
  const signal = task.exitCode & 0x7f;
  const regs = ptraceGetRegs(task.pid);
  writeTaskMemory(task.pid, area.site, SYSCALL_INSN);
  const call = signal !== 0
    ? { rax: BigInt(SYS.kill), rdi: BigInt(nsTidOf(task.pid)), rsi: BigInt(signal) }
    : { rax: BigInt(SYS.exit_group), rdi: BigInt((task.exitCode >> 8) & 0xff), rsi: 0n };
  ptraceSetRegs(task.pid, { ...regs, ...call, rip: area.site, orig_rax: BigInt.asUintN(64, -1n) });
  ptraceSetSigmask(task.pid, 0n);
}

function stopSignalOf(task: TaskImage, leaveStopped: boolean): number | undefined {
  if (task.state === TASK_STATE.STOPPED) return task.threads[0]!.core.tc?.stop_signo || SIG.STOP;
  return leaveStopped ? SIG.STOP : undefined;
}

export interface ResumeInput {
  tasks: readonly TaskImage[];
  area: TaskArea;
  leaveStopped: boolean;
  log: Logger;
}

/** Sets every thread's final state and detaches the tree. */
export function resumeTree(input: ResumeInput): void {
  const { tasks, area, log } = input;
  const layout = probeXsaveLayout();
  for (const task of tasks) {
    if (task.state === TASK_STATE.DEAD) prepareZombie(task, area);
    else for (const thread of task.threads) prepareThread(task, thread, layout);
  }
  faultPoint(FAULT.RESTORE_RESUME);
  for (const task of tasks) {
    const stop = task.state === TASK_STATE.DEAD ? undefined : stopSignalOf(task, input.leaveStopped);
    if (stop !== undefined) kill(task.pid, stop);
  }
  for (const task of tasks) {
    const tids = task.state === TASK_STATE.DEAD ? [task.pid] : task.threads.map((thread) => thread.tid);
    for (const tid of tids) ptraceDetach(tid);
  }
  log.info(`resumed ${tasks.length} task(s)${input.leaveStopped ? ' (left stopped)' : ''}`);
}

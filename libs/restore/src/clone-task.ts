// Creating a task or thread with a chosen pid: an injected clone3(2) with
// set_tid in the would-be parent (a task of the tree, or the helper for the
// root). The tracer's PTRACE_O_TRACEFORK/TRACECLONE options are inherited,
// so the child is attached before it runs and reports an initial
// PTRACE_EVENT_STOP; it sits at the parent's trampoline until its registers
// are set.
import { CriuError, SyscallError } from '@criu-ts/base';
import {
  CLONE, CLONE_ARGS_SIZE, SIG, SYS, WAIT, ptraceEventOf, waitpidWithin, wifstopped, PTRACE_EVENT,
} from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';
import { putScratch, type TaskArea } from './task-area.js';

export interface CloneRequest {
  /** the pid (tid) the new task must have */
  pid: number;
  /** its pid in its own pid namespace, when that is not criu's (1 for the root cloned with CLONE_NEWPID) */
  nsPid?: number;
  flags: bigint;
  /** signal the parent gets when it ends: SIGCHLD for processes, 0 for threads */
  exitSignal: number;
  /** CLONE_CHILD_CLEARTID address (threads) */
  childTid?: bigint;
}

/** Flags of a thread made like pthread_create's (clone(2)). */
export const THREAD_FLAGS = CLONE.VM | CLONE.FS | CLONE.FILES | CLONE.SIGHAND | CLONE.THREAD | CLONE.SYSVSEM;

/** struct clone_args (CLONE_ARGS_SIZE.VER2 bytes) for one set_tid level. */
export function cloneArgs(request: CloneRequest, setTidAddr: bigint): Buffer {
  const args = Buffer.alloc(CLONE_ARGS_SIZE.VER2);
  const childTid = request.childTid ?? 0n;
  const flags = childTid !== 0n ? request.flags | CLONE.CHILD_CLEARTID : request.flags;
  args.writeBigUInt64LE(flags, 0);
  args.writeBigUInt64LE(childTid, 16);
  args.writeBigUInt64LE(BigInt(request.exitSignal), 32);
  args.writeBigUInt64LE(setTidAddr, 64);
  args.writeBigUInt64LE(BigInt(setTids(request).length), 72);
  return args;
}

/** set_tid, innermost pid namespace first: [pid], or [pid in its namespace, pid in criu's]. */
export function setTids(request: CloneRequest): number[] {
  return request.nsPid === undefined || request.nsPid === request.pid ? [request.pid] : [request.nsPid, request.pid];
}

/** Waits (bounded) for a new task's first stop. */
export function waitInitialStop(pid: number, timeoutMs: number): void {
  const { status } = waitpidWithin(pid, WAIT.__WALL, timeoutMs);
  if (!wifstopped(status)) throw new CriuError(`new task ${pid} did not stop after clone3 (wait status 0x${status.toString(16)})`);
  const event = ptraceEventOf(status);
  if (event !== PTRACE_EVENT.STOP && (status >> 8 & 0xff) !== SIG.STOP) {
    throw new CriuError(`new task ${pid} stopped with wait status 0x${status.toString(16)}, not its initial stop`);
  }
}

/**
 * Clones `request.pid` out of the task behind `injector`, using the area's
 * scratch for the arguments; returns once the child is in its initial stop.
 */
export function cloneTask(injector: Injector, area: TaskArea, request: CloneRequest, timeoutMs = 10_000): number {
  const tidAddr = putScratch(injector.pid, area, Buffer.from(new Int32Array(setTids(request)).buffer), 128);
  const argsAddr = putScratch(injector.pid, area, cloneArgs(request, tidAddr), 0);
  let got: bigint;
  try {
    got = injector.call('clone3', SYS.clone3, [argsAddr, CLONE_ARGS_SIZE.VER2]);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'EEXIST') {
      throw new CriuError(`pid ${request.pid} is already in use on this system: cannot restore it`, { code: 'EEXIST', cause: error });
    }
    throw error;
  }
  // the parent sees the child's pid in its own pid namespace
  if (got !== BigInt(request.pid) && got !== BigInt(request.nsPid ?? request.pid)) {
    throw new CriuError(`clone3 in task ${injector.tid} made pid ${got}, not ${request.pid}`);
  }
  waitInitialStop(request.pid, timeoutMs);
  return request.pid;
}

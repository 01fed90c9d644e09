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

/** What one clone in a batch takes of the scratch: its clone_args and its set_tid words (two levels at most). */
const CLONE_SLOT = CLONE_ARGS_SIZE.VER2 + 8;

function inUse(pid: number, error: unknown): CriuError {
  return new CriuError(`pid ${pid} is already in use on this system: cannot restore it`, { code: 'EEXIST', cause: error });
}

/**
 * Clones every request out of the task behind `injector` with as few
 * injected trips as the scratch allows (one for up to ~670 threads): each
 * clone3 is one call of a batch. The children cannot run meanwhile — each
 * is attached (the tracer's TRACECLONE/TRACEFORK options) and held in its
 * initial stop before its first instruction — so the parent goes on with
 * the next call. Returns once every child is in its initial stop.
 */
export function cloneTasks(injector: Injector, area: TaskArea, requests: readonly CloneRequest[], timeoutMs = 10_000): void {
  const perTrip = Math.max(1, Math.floor(area.scratchSize / CLONE_SLOT));
  for (let first = 0; first < requests.length; first += perTrip) {
    const group = requests.slice(first, first + perTrip);
    const slots = Buffer.alloc(group.length * CLONE_SLOT);
    const base = area.scratch;
    const calls = group.map((request, i) => {
      const at = i * CLONE_SLOT;
      const tidAddr = base + BigInt(at + CLONE_ARGS_SIZE.VER2);
      cloneArgs(request, tidAddr).copy(slots, at);
      setTids(request).forEach((tid, level) => slots.writeInt32LE(tid, at + CLONE_ARGS_SIZE.VER2 + 4 * level));
      return { nr: SYS.clone3, args: [base + BigInt(at), CLONE_ARGS_SIZE.VER2] };
    });
    putScratch(injector.pid, area, slots, 0);
    const results = injector.batch(calls);
    // every child made is waited for, even when a later clone failed: the caller's cleanup kills them
    const failed: CriuError[] = [];
    results.forEach((got, i) => {
      const request = group[i]!;
      // the parent sees the child's pid in its own pid namespace
      if (got === BigInt(request.pid) || got === BigInt(request.nsPid ?? request.pid)) {
        waitInitialStop(request.pid, timeoutMs);
        return;
      }
      if (got >= 0n) {
        failed.push(new CriuError(`clone3 in task ${injector.tid} made pid ${got}, not ${request.pid}`));
        return;
      }
      const error = new SyscallError({ syscall: 'clone3', errno: -Number(got), pid: injector.tid });
      failed.push(error.code === 'EEXIST' ? inUse(request.pid, error) : error);
    });
    if (failed.length > 0) throw failed[0]!;
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
      throw inUse(request.pid, error);
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

// Calls about tasks that need no code inside them: signals, kcmp, process
// group and session, scheduling, rlimits, capabilities, and prctl/setns for
// the tool's own process.
import { CAPABILITY_VERSION_3, PRIO } from './task-constants.js';
import { invoke, invokeInt } from './syscall.js';
import { SYS } from './sys-numbers.js';

/** kcmp(2): 0 equal, 1 less, 2 greater, 3 not ordered (KCMP_RESULT). */
export function kcmp(pid1: number, pid2: number, type: number, idx1 = 0n, idx2 = 0n): 0 | 1 | 2 | 3 {
  const result = invokeInt(SYS.kcmp, [pid1, pid2, type, idx1, idx2], { pid: pid1, path: `vs pid ${pid2}` });
  return result as 0 | 1 | 2 | 3;
}

export function kill(pid: number, sig: number): void {
  invoke(SYS.kill, [pid, sig], { pid });
}

export function tgkill(tgid: number, tid: number, sig: number): void {
  invoke(SYS.tgkill, [tgid, tid, sig], { pid: tid });
}

type PrctlArg = bigint | number | Buffer;

/** prctl(2) on the tool's own process, e.g. PR.SET_CHILD_SUBREAPER. */
export function prctl(option: number, a2: PrctlArg = 0n, a3: PrctlArg = 0n, a4: PrctlArg = 0n, a5: PrctlArg = 0n): bigint {
  return invoke(SYS.prctl, [option, a2, a3, a4, a5], { call: `prctl(${option})` });
}

/** setns(2) for the tool's own thread. */
export function setns(fd: number, nstype: number): void {
  invoke(SYS.setns, [fd, nstype], { path: `fd ${fd}` });
}

export function gettid(): number {
  return invokeInt(SYS.gettid, []);
}

export function getpgid(pid: number): number {
  return invokeInt(SYS.getpgid, [pid], { pid });
}

export function getsid(pid: number): number {
  return invokeInt(SYS.getsid, [pid], { pid });
}

/** The task's policy (SCHED.*), with SCHED.RESET_ON_FORK or'ed in if set. */
export function schedGetscheduler(pid: number): number {
  return invokeInt(SYS.sched_getscheduler, [pid], { pid });
}

/** The task's static real-time priority (0 for normal policies). */
export function schedGetparam(pid: number): number {
  const param = Buffer.alloc(4);
  invoke(SYS.sched_getparam, [pid, param], { pid });
  return param.readInt32LE(0);
}

/** The nice value (-20..19) of a process, group or user (which: PRIO.*). */
export function getpriority(who: number, which: number = PRIO.PROCESS): number {
  // the raw syscall answers 20 - nice so that no valid value is negative
  return 20 - invokeInt(SYS.getpriority, [which, who], { pid: which === PRIO.PROCESS ? who : undefined });
}

export interface Rlimit {
  cur: bigint;
  max: bigint;
}

/** Reads one resource limit of a task (RLIMIT.*); RLIM_INFINITY for unlimited. */
export function prlimit(pid: number, resource: number): Rlimit {
  const old = Buffer.alloc(16);
  invoke(SYS.prlimit64, [pid, resource, 0, old], { call: `prlimit64(${resource})`, pid });
  return { cur: old.readBigUInt64LE(0), max: old.readBigUInt64LE(8) };
}

export interface Capabilities {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** A task's capability sets (64-bit masks). */
export function capget(pid: number): Capabilities {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(CAPABILITY_VERSION_3, 0);
  header.writeInt32LE(pid, 4);
  const data = Buffer.alloc(24);
  invoke(SYS.capget, [header, data], { pid });
  const word = (set: number): bigint => BigInt(data.readUInt32LE(set)) | (BigInt(data.readUInt32LE(12 + set)) << 32n);
  return { effective: word(0), permitted: word(4), inheritable: word(8) };
}

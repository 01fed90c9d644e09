// Waiting for tasks: wait4 and waitid with their status decoders, and a
// bounded wait that polls with WNOHANG so no caller can hang forever on a
// task that never stops.
//
// Note for callers: a task started with node:child_process is also waited
// for by libuv (its SIGCHLD handler calls waitpid on that pid whenever the
// event loop runs), and waitpid reports ptrace-stops of traced children
// even without WUNTRACED — so libuv can swallow a stop meant for us. Trace
// only tasks that are not node's direct children (dump targets never are).
import { CriuError } from '@criu-ts/base';
import { WAIT } from './signal-constants.js';
import { invokeInt } from './syscall.js';
import { SYS } from './sys-numbers.js';

export interface WaitResult {
  pid: number;
  /** the raw wait status; decode with wifexited() and friends */
  status: number;
}

/** wait4(pid, &status, options, NULL); null when WNOHANG found nothing. */
export function waitpid(pid: number, options: number): WaitResult | null {
  const status = Buffer.alloc(4);
  const got = invokeInt(SYS.wait4, [pid, status, options, 0], { call: 'wait4', pid: pid > 0 ? pid : undefined });
  if (got === 0) return null;
  return { pid: got, status: status.readInt32LE(0) };
}

export const wifexited = (status: number): boolean => (status & 0x7f) === 0;
export const wexitstatus = (status: number): number => (status >> 8) & 0xff;
export const wifsignaled = (status: number): boolean => ((status & 0x7f) + 1) >> 1 > 0 && (status & 0x7f) !== 0x7f;
export const wtermsig = (status: number): number => status & 0x7f;
export const wifstopped = (status: number): boolean => (status & 0xff) === 0x7f;
export const wstopsig = (status: number): number => (status >> 8) & 0xff;
/** The PTRACE_EVENT_* of a ptrace-stop (0 for a plain signal-delivery stop). */
export const ptraceEventOf = (status: number): number => (status >> 16) & 0xff;

export interface WaitidResult {
  pid: number;
  /** si_code: a CLD_* value */
  code: number;
  /** si_status: exit code, or the signal that killed/stopped the task */
  status: number;
}

/** waitid(idtype, id, &siginfo, options); null when WNOHANG found nothing. */
export function waitid(idtype: number, id: number, options: number): WaitidResult | null {
  const info = Buffer.alloc(128);
  invokeInt(SYS.waitid, [idtype, id, info, options, 0], { call: 'waitid', pid: id > 0 ? id : undefined });
  const pid = info.readInt32LE(16);
  if (pid === 0) return null;
  return { pid, code: info.readInt32LE(8), status: info.readInt32LE(24) };
}

/** Blocks the calling thread for `ms` milliseconds (fractions allowed). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The pause before look number `round` at something that usually changes
 * within microseconds (a ptrace-stop after an injected call, an exit after
 * SIGKILL): none for the first looks, then sleeps of 20 µs, growing after
 * a while by 0.1 ms a look up to 2 ms — a quick answer is seen at once, a
 * slow one costs little CPU and at most ~2 ms of latency.
 */
export function pollPause(round: number): void {
  if (round < 8) return;
  sleepSync(round < 40 ? 0.02 : Math.min(2, (round - 39) * 0.1));
}

/**
 * waitpid(pid, options | WNOHANG) until it reports, for at most timeoutMs;
 * throws CriuError ETIMEDOUT naming the pid if nothing came. Polls with
 * pollPause between looks.
 */
export function waitpidWithin(pid: number, options: number, timeoutMs: number): WaitResult {
  const deadline = performance.now() + timeoutMs;
  for (let round = 0; ; round++) {
    const result = waitpid(pid, options | WAIT.WNOHANG);
    if (result !== null) return result;
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new CriuError(`wait4 pid ${pid}: no state change within ${timeoutMs} ms`, { code: 'ETIMEDOUT' });
    }
    pollPause(round);
  }
}

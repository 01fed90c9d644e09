// The restore helper (native/criu-restore-helper.c): the task every
// restored task is cloned from. The tool makes itself a child subreaper and
// starts the helper, which forks and lets its parent exit, so the stopped
// child is re-parented to the tool without being a child node's libuv
// waits for (libuv would swallow its ptrace stops). The tool seizes it with
// fork/clone tracing inherited by every task cloned from it, and
// PTRACE_O_EXITKILL so that nothing half-restored outlives a crashed tool.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CriuError, SyscallError, type Logger } from '@criu-ts/base';
import {
  PR, PTRACE_O, SIG, WAIT, kill, prctl, ptraceInterrupt, ptraceSeize, pollPause, waitpid, waitpidWithin, wifstopped,
} from '@criu-ts/kernel';

/** errno ECHILD: Node's error map (libuv's codes) has no name for it, so compare numbers. */
const ECHILD = 10;

/** Where set-up builds the helper: native/build/ of this checkout. */
export const DEFAULT_HELPER = resolve(dirname(fileURLToPath(import.meta.url)), '../../../native/build/criu-restore-helper');

/**
 * Every task and thread inherits these from the helper. SUSPEND_SECCOMP:
 * restored seccomp filters must not filter the calls we still inject after
 * installing them (it needs CAP_SYS_ADMIN, as clone3 with set_tid does).
 */
export const TRACE_OPTIONS = PTRACE_O.TRACEFORK | PTRACE_O.TRACEVFORK | PTRACE_O.TRACECLONE | PTRACE_O.EXITKILL | PTRACE_O.SUSPEND_SECCOMP;

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Waits (bounded) until pid is our child, i.e. its first parent has exited. */
function waitAdopted(pid: number, timeoutMs: number): void {
  for (let round = 0, end = performance.now() + timeoutMs; parentOf(pid) !== process.pid; pollPause(round++)) {
    if (performance.now() > end) throw new CriuError(`restore helper ${pid} was not re-parented to criu within ${timeoutMs} ms`);
  }
}

function launch(path: string, timeoutMs: number): number {
  if (!existsSync(path)) {
    throw new CriuError(`restore helper ${path} is missing`, { code: 'ENOENT', hint: 'build it with `make -C native` (npm run setup does)' });
  }
  const run = spawnSync(path, [], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], timeout: timeoutMs, encoding: 'utf8' });
  const report = String(run.output[3] ?? '').trim();
  const pid = Number(report);
  if (run.status !== 0 || !Number.isInteger(pid) || pid <= 0) {
    throw new CriuError(`restore helper ${path} did not start (status ${run.status}, report ${JSON.stringify(report)})`);
  }
  return pid;
}

/** Kills and reaps a helper (or any task of ours); tolerates one already gone. */
export function killAndReap(pid: number, timeoutMs = 5000): void {
  try {
    kill(pid, SIG.KILL);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === 'ESRCH')) throw error;
  }
  try {
    for (let round = 0, end = performance.now() + timeoutMs; performance.now() < end; pollPause(round++)) {
      const got = waitpid(pid, WAIT.__WALL | WAIT.WNOHANG);
      if (got !== null && !wifstopped(got.status)) return;
    }
  } catch (error) {
    if (error instanceof SyscallError && error.errno === ECHILD) return;
    throw error;
  }
}

/** Starts the helper, adopted and seized, stopped; its pid. */
export function startHelper(path: string, log: Logger, timeoutMs = 10_000): number {
  prctl(PR.SET_CHILD_SUBREAPER, 1);
  const pid = launch(path, timeoutMs);
  try {
    waitAdopted(pid, timeoutMs);
    ptraceSeize(pid, TRACE_OPTIONS);
    ptraceInterrupt(pid);
    const { status } = waitpidWithin(pid, WAIT.__WALL, timeoutMs);
    if (!wifstopped(status)) throw new CriuError(`restore helper ${pid} did not stop (wait status 0x${status.toString(16)})`);
  } catch (error) {
    killAndReap(pid);
    throw error;
  }
  log.debug(`restore helper ${pid} seized`);
  return pid;
}

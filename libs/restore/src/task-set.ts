// The tasks a restore has made so far, and what to do with them if it
// fails: every one is killed and reaped (as tracer, then as the subreaper
// that inherits the orphans), so nothing half-restored is left behind.
import { SyscallError, type Logger } from '@criu-ts/base';
import { SIG, WAIT, kill, pollPause, waitpid, wifstopped } from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';

/** errno ECHILD: Node's error map (libuv's codes) has no name for it, so compare numbers. */
const ECHILD = 10;

export interface TaskSet {
  /** pids (processes) made, in creation order */
  readonly processes: number[];
  /** open injectors by pid */
  readonly injectors: Map<number, Injector>;
}

export function newTaskSet(): TaskSet {
  return { processes: [], injectors: new Map() };
}

/** Releases an injector if open; a failure is logged (the task is about to be killed or let go anyway). */
export function releaseInjector(set: TaskSet, pid: number, log: Logger): void {
  const injector = set.injectors.get(pid);
  if (injector === undefined) return;
  set.injectors.delete(pid);
  try {
    injector.release();
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    log.warn(`pid ${pid}: releasing the injector failed: ${error.message}`);
  }
}

function killQuietly(pid: number): void {
  try {
    kill(pid, SIG.KILL);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === 'ESRCH')) throw error;
  }
}

/** Reaps pid until it is gone (ECHILD), for at most timeoutMs; true if gone. */
function reap(pid: number, timeoutMs: number): boolean {
  const end = performance.now() + timeoutMs;
  for (let round = 0; ; round++) {
    let got;
    try {
      got = waitpid(pid, WAIT.__WALL | WAIT.WNOHANG);
    } catch (error) {
      if (error instanceof SyscallError && error.errno === ECHILD) return true;
      throw error;
    }
    if (got !== null && wifstopped(got.status)) continue;
    if (performance.now() > end) return false;
    if (got === null) pollPause(round);
  }
}

/** Kills every task made so far and reaps them; logs what could not be reaped. */
export function killAll(set: TaskSet, log: Logger, timeoutMs = 5000): void {
  set.injectors.clear();
  for (const pid of set.processes) killQuietly(pid);
  for (const pid of set.processes) {
    if (!reap(pid, timeoutMs)) log.warn(`pid ${pid}: killed but not reaped within ${timeoutMs} ms`);
  }
  log.info(`killed the ${set.processes.length} task(s) restored so far`);
}

// The throwaway task probes seize: `sleep` started as an orphan that this
// process adopts (it is a child subreaper for the moment of the start), so
// it is not node's direct child — libuv never waits for it and cannot
// swallow its ptrace stops — yet we reap it ourselves when done. It is
// seized and stopped with PTRACE_INTERRUPT before any probe sees it, and
// killed and reaped by release(), leaving nothing behind.
import { spawnSync } from 'node:child_process';
import { CriuError, SyscallError } from '@criu-ts/base';
import {
  PR, SIG, WAIT, kill, prctl, ptraceInterrupt, ptraceSeize, waitpidWithin, wifexited, wifsignaled, wifstopped,
} from '@criu-ts/kernel';
import type { Victim } from './feature.js';

const WAIT_MS = 5000;

function startOrphan(): number {
  const flag = Buffer.alloc(4);
  prctl(PR.GET_CHILD_SUBREAPER, flag);
  prctl(PR.SET_CHILD_SUBREAPER, 1);
  try {
    const sh = spawnSync('sh', ['-c', 'sleep 60 </dev/null >/dev/null 2>&1 & echo $!'], { encoding: 'utf8', timeout: WAIT_MS });
    const pid = Number(sh.stdout?.trim());
    if (!(pid > 0)) throw new CriuError(`could not start a probe task (sleep): ${sh.stderr ?? sh.error?.message ?? ''}`);
    return pid;
  } finally {
    prctl(PR.SET_CHILD_SUBREAPER, flag.readInt32LE(0));
  }
}

/** Kills and reaps pid (our adopted child, maybe traced by us); bounded. */
export function killAndReap(pid: number): void {
  try {
    kill(pid, SIG.KILL);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === 'ESRCH')) throw error;
    return;
  }
  for (;;) {
    const { status } = waitpidWithin(pid, WAIT.__WALL, WAIT_MS);
    if (wifexited(status) || wifsignaled(status)) return;
  }
}

/** Starts, seizes and stops a victim; it is killed if seizing fails. */
export function startVictim(): Victim {
  const pid = startOrphan();
  try {
    ptraceSeize(pid);
    ptraceInterrupt(pid);
    const { status } = waitpidWithin(pid, WAIT.__WALL, WAIT_MS);
    if (!wifstopped(status)) throw new CriuError(`probe task ${pid} did not stop (wait status 0x${status.toString(16)})`);
    return { pid };
  } catch (error) {
    killAndReap(pid);
    throw error;
  }
}

export interface VictimPool {
  victim(): Victim;
  release(): void;
}

/** One victim, started on first use and shared (a failed start is not retried); release() ends it. */
export function victimPool(start: () => Victim = startVictim): VictimPool {
  let current: Victim | undefined;
  let failure: unknown;
  const victim = (): Victim => {
    if (failure !== undefined) throw failure;
    try {
      return (current ??= start());
    } catch (error) {
      failure = error;
      throw error;
    }
  };
  return {
    victim,
    release: () => {
      if (current !== undefined) killAndReap(current.pid);
      current = undefined;
    },
  };
}

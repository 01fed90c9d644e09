// After a restore without -d: criu stays the root task's parent, waits for
// it (reaping any other child it inherits meanwhile as subreaper) and
// reports how it ended, so the tool can exit with the root's status.
import { SyscallError, type Logger } from '@criu-ts/base';
import { WAIT, waitpid, wexitstatus, wifexited, wifsignaled, wtermsig } from '@criu-ts/kernel';

export interface RootExit {
  /** exit status, or 128 + signal for a root killed by a signal (as a shell reports it) */
  code: number;
  signal?: number;
}

/** Blocks until `root` ends; returns how. */
export function waitForRoot(root: number, log: Logger): RootExit {
  for (;;) {
    let got;
    try {
      got = waitpid(-1, WAIT.__WALL);
    } catch (error) {
      if (error instanceof SyscallError && error.code === 'EINTR') continue;
      throw error;
    }
    if (got === null || got.pid !== root) continue;
    if (wifexited(got.status)) {
      log.info(`root task ${root} exited with status ${wexitstatus(got.status)}`);
      return { code: wexitstatus(got.status) };
    }
    if (wifsignaled(got.status)) {
      const signal = wtermsig(got.status);
      log.info(`root task ${root} was killed by signal ${signal}`);
      return { code: 128 + signal, signal };
    }
  }
}

// A session's controlling terminal and foreground group (credentials(7),
// ioctl_tty(2) TIOCSCTTY, TIOCSPGRP): the terminal whose tty-info names the
// session (sid) becomes the controlling terminal of the session leader,
// from inside the leader (injected ioctl(fd, TIOCSCTTY, 0) — the task is a
// session leader with no terminal yet), then its foreground group is set
// (TIOCSPGRP). The fd used is the leader's own fd on the terminal when the
// files kind reports one (installed()), else a slave opened in the tool and
// handed in for the two calls (pidfd_getfd). An external terminal (-j) that
// already belongs to another session (criu's shell) is left to it, as
// upstream leaves it. Then each /dev/tty description of the session is
// opened inside the leader and pulled into the tool for the files kind
// (opening /dev/tty in the tool would give criu's own terminal).
import { closeSync } from 'node:fs';
import { SyscallError, type Logger } from '@criu-ts/base';
import { AT, O, SYS, pidfdGetfd, pidfdOpen } from '@criu-ts/kernel';
import { TtyType, type TtyInfoEntry } from '@criu-ts/images';
import type { RestoreContext, RestoreTask } from '../../restore-context.js';
import { isExternal, openExternal } from './tty-external.js';
import { TTY_IOCTL } from './tty-ioctls.js';
import { isHungUp, ttyImages, type TtyFile } from './tty-images.js';
import { inPair, ptyPair } from './tty-pairs.js';
import { openTtyPath } from './tty-pty-open.js';

const EPERM = 1;

/** The terminal (tty file entries of one tty-info) whose session is `sid`; undefined if none. */
export function sessionTerminal(ctx: RestoreContext, sid: number): TtyFile | undefined {
  const files = [...ttyImages(ctx).files.values()].filter((f) => f.info.sid === sid && f.info.type !== TtyType.CTTY && !isHungUp(f.info));
  // both ends of a pair name the slave's session: take the slave's entry when there is one
  return files.find((f) => f.info.id % 2 === 0) ?? files[0];
}

/** Our fd on the session's terminal, opened for the TIOCSCTTY call. */
function openForCtty(ctx: RestoreContext, file: TtyFile): number {
  if (isExternal(ctx, file)) return openExternal(ctx, file);
  if (file.info.type === TtyType.PTY && inPair(ttyImages(ctx), file.info.id)) return openTtyPath(ptyPair(ctx, file.info.pty!.index).slavePath, O.RDONLY);
  return openTtyPath(file.path, O.RDONLY);
}

/** Runs `use(taskFd)` in the task on a copy of our fd (pidfd_getfd injected), closed after. */
function withFdInTask<T>(ctx: RestoreContext, pid: number, ours: number, use: (taskFd: number) => T): T {
  const injector = ctx.injector(pid);
  const pidfd = Number(injector.call('pidfd_open', SYS.pidfd_open, [process.pid, 0]));
  let taskFd: number;
  try {
    taskFd = Number(injector.call('pidfd_getfd', SYS.pidfd_getfd, [pidfd, ours, 0]));
  } finally {
    injector.call('close', SYS.close, [pidfd]);
  }
  try {
    return use(taskFd);
  } finally {
    injector.call('close', SYS.close, [taskFd]);
  }
}

function setForeground(ctx: RestoreContext, pid: number, taskFd: number, info: TtyInfoEntry, log: Logger): void {
  if (info.pgrp === 0 || info.pgrp === pid) return; // TIOCSCTTY made the leader's group the foreground
  if (!ctx.tasks.some((task) => task.pgid === info.pgrp && !task.zombie)) {
    log.warn(`pid ${pid}: foreground group ${info.pgrp} of its terminal has no restored task; left to the session leader's`);
    return;
  }
  const pgrp = Buffer.alloc(4);
  pgrp.writeInt32LE(info.pgrp);
  ctx.injector(pid).call('ioctl(TIOCSPGRP)', SYS.ioctl, [taskFd, TTY_IOCTL.TIOCSPGRP, ctx.scratch(pid).write(pgrp)]);
}

/** TIOCSCTTY and TIOCSPGRP inside the leader on its fd taskFd; false if the terminal is another session's (external only). */
function acquire(ctx: RestoreContext, pid: number, taskFd: number, file: TtyFile, log: Logger): boolean {
  const result = ctx.injector(pid).syscall(SYS.ioctl, taskFd, TTY_IOCTL.TIOCSCTTY, 0);
  if (result === BigInt(-EPERM) && isExternal(ctx, file)) {
    log.info(`pid ${pid}: criu-restore's terminal is another session's controlling terminal; the session stays without one (as upstream)`);
    return false;
  }
  if (result < 0n) throw new SyscallError({ syscall: 'ioctl(TIOCSCTTY)', errno: Number(-result), pid, path: file.path });
  setForeground(ctx, pid, taskFd, file.info, log);
  log.info(`pid ${pid}: controlling terminal ${file.path} (tty-info ${file.info.id}), foreground group ${file.info.pgrp || pid}`);
  return true;
}

/** /dev/tty descriptions of the session, opened inside the leader, pulled into the tool for open(). */
function openDevTty(ctx: RestoreContext, pid: number): void {
  const stash = devTtyStash(ctx);
  const files = [...ttyImages(ctx).files.values()].filter((f) => f.info.type === TtyType.CTTY && f.info.sid === pid && !stash.has(f.entry.id));
  if (files.length === 0) return;
  const injector = ctx.injector(pid);
  const path = ctx.scratch(pid).write(Buffer.from('/dev/tty\0'));
  const pidfd = pidfdOpen(pid);
  try {
    for (const file of files) {
      const taskFd = Number(injector.call('openat(/dev/tty)', SYS.openat, [AT.FDCWD, path, (file.entry.flags & ~O.CLOEXEC) | O.NOCTTY, 0]));
      try {
        stash.set(file.entry.id, pidfdGetfd(pidfd, taskFd));
      } finally {
        injector.call('close', SYS.close, [taskFd]);
      }
    }
  } finally {
    closeSync(pidfd);
  }
}

/** /dev/tty descriptions opened in their session (tty file id → our fd). */
export function devTtyStash(ctx: RestoreContext): Map<number, number> {
  return ctx.shared('files.tty.dev-tty', () => new Map<number, number>());
}

/**
 * Gives session leader `task` its controlling terminal, once; `taskFd` is
 * the task's own fd on it if it has one. No-op for other tasks.
 */
export function restoreSessionTerminal(ctx: RestoreContext, task: RestoreTask, taskFd?: number): void {
  if (task.pid !== task.sid || task.zombie) return;
  const done = ctx.shared('files.tty.sessions', () => new Set<number>());
  if (done.has(task.pid)) return;
  const file = sessionTerminal(ctx, task.pid);
  if (file === undefined) return;
  const log = ctx.log.child('tty');
  done.add(task.pid);
  let acquired: boolean;
  if (taskFd !== undefined) acquired = acquire(ctx, task.pid, taskFd, file, log);
  else {
    const ours = openForCtty(ctx, file);
    try {
      acquired = withFdInTask(ctx, task.pid, ours, (fd) => acquire(ctx, task.pid, fd, file, log));
    } finally {
      closeSync(ours);
    }
  }
  if (acquired) openDevTty(ctx, task.pid);
}

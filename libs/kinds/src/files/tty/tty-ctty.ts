// A session's controlling terminal and foreground group (credentials(7),
// ioctl_tty(2) TIOCSCTTY, TIOCSPGRP): the terminal whose tty-info names the
// session (sid) becomes the controlling terminal of the session leader,
// from inside the leader (injected ioctl(fd, TIOCSCTTY, 0) — the task is a
// session leader with no terminal yet), then its foreground group is set
// (TIOCSPGRP). The controlling terminal is best set right after the
// leader's setsid, before its members are forked, since they inherit it
// (TaskKind.sessionCreated); the foreground group only once every group
// exists. The fd used is the leader's own fd on the terminal when the
// files kind reports one (installed()), else a slave opened in the tool and
// handed in for the calls (pidfd_getfd). An external terminal (-j) that
// already belongs to another session (criu's shell) is left to it, as
// upstream leaves it. Then each /dev/tty description of the session is
// opened inside the leader and pulled into the tool for the files kind
// (opening /dev/tty in the tool would give criu's own terminal).
import { closeSync } from 'node:fs';
import { SyscallError, type Logger } from '@criu-ts/base';
import { AT, O, SYS, pidfdGetfd, pidfdOpen } from '@criu-ts/kernel';
import { TtyType, type TtyInfoEntry } from '@criu-ts/images';
import { imagePidOf, type RestoreContext, type RestoreTask } from '../../restore-context.js';
import { isExternal, onOrphanPty, openExternal } from './tty-external.js';
import { TTY_IOCTL } from './tty-ioctls.js';
import { toolPidfd } from '@criu-ts/inject';
import { scratchEnd } from '../fd-install.js';
import { isHungUp, ttyImages, type TtyFile } from './tty-images.js';
import { inPair, ptyPair } from './tty-pairs.js';
import { openTtyPath } from './tty-pty-open.js';

const EPERM = 1;

/** The terminal (tty file entries of one tty-info) whose session is `sid`; undefined if none. */
export function sessionTerminal(ctx: RestoreContext, sid: number): TtyFile | undefined {
  const files = [...ttyImages(ctx).files.values()].filter((f) => f.info.sid === imagePidOf(ctx, sid) && f.info.type !== TtyType.CTTY && !isHungUp(f.info));
  // both ends of a pair name the slave's session: take the slave's entry when there is one
  return files.find((f) => f.info.id % 2 === 0) ?? files[0];
}

/** The path of the session's terminal now: a pair's slave (its index may have changed), else the dumped one. */
function terminalPath(ctx: RestoreContext, file: TtyFile): string {
  if (file.info.type === TtyType.PTY && inPair(ttyImages(ctx), file.info.id)) return ptyPair(ctx, file.info.pty!.index).slavePath;
  return file.path;
}

/**
 * Our fd on the session's terminal, opened for the TIOCSCTTY call;
 * undefined for an external terminal without -j or orphan_pts_master (it
 * can only come from --inherit-fd, and then the task's own fd serves, in
 * installed()).
 */
function openForCtty(ctx: RestoreContext, file: TtyFile): number | undefined {
  if (!isExternal(ctx, file)) return openTtyPath(terminalPath(ctx, file), O.RDONLY);
  return ctx.options.shellJob || onOrphanPty(ctx, file) ? openExternal(ctx, file) : undefined;
}

/** Runs `use(taskFd)` in the task on a copy of our fd (pidfd_getfd injected), closed after. */
function withFdInTask<T>(ctx: RestoreContext, pid: number, ours: number, use: (taskFd: number) => T): T {
  const injector = ctx.injector(pid);
  const pidfd = Number(toolPidfd(injector, () => scratchEnd(ctx, pid)));
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
  if (info.pgrp === 0 || info.pgrp === imagePidOf(ctx, pid)) return; // TIOCSCTTY made the leader's group the foreground
  // info.pgrp is the images' number, which the injected TIOCSPGRP takes as it is
  if (!ctx.tasks.some((task) => imagePidOf(ctx, task.pgid) === info.pgrp && !task.zombie)) {
    log.warn(`pid ${pid}: foreground group ${info.pgrp} of its terminal has no restored task; left to the session leader's`);
    return;
  }
  const pgrp = Buffer.alloc(4);
  pgrp.writeInt32LE(info.pgrp);
  ctx.injector(pid).call('ioctl(TIOCSPGRP)', SYS.ioctl, [taskFd, TTY_IOCTL.TIOCSPGRP, ctx.scratch(pid).write(pgrp)]);
  log.info(`pid ${pid}: foreground group ${info.pgrp} on its terminal`);
}

/** TIOCSCTTY inside the leader on its fd taskFd; false if the terminal is another session's (external only). */
function acquire(ctx: RestoreContext, pid: number, taskFd: number, file: TtyFile, log: Logger): boolean {
  const result = ctx.injector(pid).syscall(SYS.ioctl, taskFd, TTY_IOCTL.TIOCSCTTY, 0);
  if (result === BigInt(-EPERM) && isExternal(ctx, file)) {
    log.info(`pid ${pid}: criu-restore's terminal is another session's controlling terminal; the session stays without one (as upstream)`);
    return false;
  }
  if (result < 0n) throw new SyscallError({ syscall: 'ioctl(TIOCSCTTY)', errno: Number(-result), pid, path: file.path });
  const external = onOrphanPty(ctx, file) ? 'the new pty of orphan_pts_master' : 'criu-restore\'s terminal';
  const path = isExternal(ctx, file) ? external : terminalPath(ctx, file);
  log.info(`pid ${pid}: controlling terminal ${path} (tty-info ${file.info.id})`);
  return true;
}

/** /dev/tty descriptions of the session, opened inside the leader, pulled into the tool for open(). */
function openDevTty(ctx: RestoreContext, pid: number): void {
  const stash = devTtyStash(ctx);
  const files = [...ttyImages(ctx).files.values()].filter((f) => f.info.type === TtyType.CTTY && f.info.sid === imagePidOf(ctx, pid) && !stash.has(f.entry.id));
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

interface SessionState {
  ctty: 'pending' | 'done' | 'none';
  foreground: boolean;
}

export interface SessionTerminalOptions {
  /** the task's own fd on the terminal, if it has one installed */
  taskFd?: number;
  /** set the foreground group too (once every group exists) */
  foreground: boolean;
}

/** What is done so far for the session led by pid. */
function sessionState(ctx: RestoreContext, pid: number): SessionState {
  const sessions = ctx.shared('files.tty.sessions', () => new Map<number, SessionState>());
  let state = sessions.get(pid);
  if (state === undefined) {
    state = { ctty: 'pending', foreground: false };
    sessions.set(pid, state);
  }
  return state;
}

/**
 * Gives session leader `task` its controlling terminal (once) and, if
 * asked, the terminal's foreground group (once). No-op for other tasks
 * and for sessions without a terminal in the images.
 */
export function restoreSessionTerminal(ctx: RestoreContext, task: RestoreTask, options: SessionTerminalOptions): void {
  if (task.pid !== task.sid || task.zombie) return;
  const file = sessionTerminal(ctx, task.pid);
  if (file === undefined) return;
  const state = sessionState(ctx, task.pid);
  const wantForeground = options.foreground && !state.foreground;
  if (state.ctty !== 'pending' && !(wantForeground && state.ctty === 'done')) return;
  const log = ctx.log.child('tty');
  const work = (taskFd: number): void => {
    if (state.ctty === 'pending') state.ctty = acquire(ctx, task.pid, taskFd, file, log) ? 'done' : 'none';
    if (wantForeground && state.ctty === 'done') {
      setForeground(ctx, task.pid, taskFd, file.info, log);
      state.foreground = true;
    }
  };
  const fresh = state.ctty === 'pending';
  if (options.taskFd !== undefined) work(options.taskFd);
  else {
    const ours = openForCtty(ctx, file);
    if (ours === undefined) return;
    try {
      withFdInTask(ctx, task.pid, ours, work);
    } finally {
      closeSync(ours);
    }
  }
  if (fresh && state.ctty === 'done') openDevTty(ctx, task.pid);
}

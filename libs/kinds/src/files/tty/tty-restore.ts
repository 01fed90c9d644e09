// The restore half of the tty fd kind: the open file description of a TTY
// files.img entry, made in the tool — a pty master or slave of a pair in
// the tree (tty-pairs.ts), a slave hung up when dumped, the external
// terminal of a shell job (tty-external.ts), /dev/tty (opened inside its
// session, tty-ctty.ts), or a console or virtual console opened by path
// with its termios set (as upstream's simple ttys) — and, once installed
// in a session leader, the controlling terminal through the task's own fd.
import { CriuError } from '@criu-ts/base';
import { TtyType, type FileEntry } from '@criu-ts/images';
import type { FdRestoreEnv } from '../fd-kind.js';
import { imagePidOf, type RestoreContext } from '../../restore-context.js';
import { devTtyStash, restoreSessionTerminal, sessionTerminal } from './tty-ctty.js';
import { isExternal, openExternal } from './tty-external.js';
import { isHungUp, isMaster, ttyFile, type TtyFile } from './tty-images.js';
import { openHungSlave, openPairSlave, takeMaster } from './tty-pairs.js';
import { setOwner, setTtyParams } from './tty-params.js';
import { openTtyPath } from './tty-pty-open.js';

/**
 * /dev/tty: opened inside its session's leader once that has its
 * controlling terminal (done now if not yet: every task of the tree exists
 * with its session), or with -j criu's own when the session was the shell's.
 */
function openDevTty(ctx: RestoreContext, file: TtyFile): number {
  const leader = ctx.tasks.find((task) => imagePidOf(ctx, task.pid) === file.info.sid && task.sid === task.pid && !task.zombie);
  if (leader !== undefined) {
    restoreSessionTerminal(ctx, leader, { foreground: true });
    const stash = devTtyStash(ctx);
    const fd = stash.get(file.entry.id);
    if (fd === undefined) throw new CriuError(`tty file ${file.entry.id}: /dev/tty of session ${leader.pid}, which got no controlling terminal`, { code: 'ENXIO' });
    stash.delete(file.entry.id);
    return fd;
  }
  if (!ctx.options.shellJob) {
    throw new CriuError(`tty file ${file.entry.id}: /dev/tty of session ${file.info.sid}, whose leader was not dumped`, {
      code: 'EUNSUPPORTED',
      hint: '-j/--shell-job gives the session criu\'s terminal',
    });
  }
  try {
    return openTtyPath('/dev/tty', file.entry.flags);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENXIO')) throw error;
    throw new CriuError(`tty file ${file.entry.id}: /dev/tty of the shell's session, but criu-restore has no controlling terminal`, { code: 'ENXIO', cause: error });
  }
}

/** A console or virtual console: its path, its state (upstream's open_simple_tty). */
function openSimple(file: TtyFile): number {
  const fd = openTtyPath(file.path, file.entry.flags);
  if (!isHungUp(file.info)) setTtyParams(fd, file.info);
  setOwner(fd, file.entry.fown);
  return fd;
}

/** FdKind.open for TTY entries. */
export function openTtyEntry(env: FdRestoreEnv, entry: FileEntry): number {
  const file = ttyFile(env.ctx, entry.id);
  const { info } = file;
  if (info.type === TtyType.CTTY) return openDevTty(env.ctx, file);
  if (isExternal(env.ctx, file)) return openExternal(env.ctx, file);
  if (info.type !== TtyType.PTY) return openSimple(file);
  if (isHungUp(info)) return openHungSlave(env.ctx, file);
  return isMaster(info) ? takeMaster(env.ctx, file) : openPairSlave(env.ctx, file);
}

/** FdKind.installed for TTY entries: a session leader's own fd on its terminal gives it its controlling terminal. */
export function ttyInstalled(env: FdRestoreEnv, entry: FileEntry, pid: number, fd: number): 'done' {
  const task = env.ctx.tasks.find((t) => t.pid === pid);
  if (task === undefined || task.pid !== task.sid) return 'done';
  const file = ttyFile(env.ctx, entry.id);
  if (sessionTerminal(env.ctx, pid)?.info.id !== file.info.id) return 'done';
  restoreSessionTerminal(env.ctx, task, { taskFd: fd, foreground: true });
  return 'done';
}

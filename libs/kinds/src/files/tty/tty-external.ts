// The external terminal of a shell job (criu(8) -j/--shell-job): a pty slave
// whose master was not dumped (or, with -j, a virtual console, as upstream
// counts it) is the terminal of the shell the tree ran from. On restore it
// becomes the terminal criu-restore runs on: every such fd gets a dup of
// the tool's standard input (one description, as upstream's inherited
// stdin), which must be a terminal; the dumped termios, locked termios and
// window size are set on it once, as upstream does (a full-screen program
// finds its modes again). Its file flags and owner are left as they are:
// the description is the user's terminal. Without -j such a terminal is
// refused. The foreground group is not changed from the tool (a tool in
// the background would get SIGTTOU); with -j the root joins criu's
// session and group, which the restore engine plans. Over RPC with
// orphan_pts_master a pty one gets a new pty instead, its master handed to
// the client (tty-orphan-pty.ts).
import { CriuError, SyscallError } from '@criu-ts/base';
import { F, fcntl, ioctl } from '@criu-ts/kernel';
import { TtyType } from '@criu-ts/images';
import type { RestoreContext } from '../../restore-context.js';
import { TTY_IOCTL } from './tty-ioctls.js';
import { inPair } from './tty-pairs.js';
import { isHungUp, isMaster, ttyImages, type TtyFile } from './tty-images.js';
import { openOrphanSlave } from './tty-orphan-pty.js';
import { setTtyParams } from './tty-params.js';

const STDIN = 0;
const SHELL_JOB_HINT = 'restore with -j/--shell-job: the tree then gets the terminal criu-restore runs on';

/** Is this terminal the shell's (its master, if a pty, is outside the images)? */
export function isExternal(ctx: RestoreContext, file: Pick<TtyFile, 'info'>): boolean {
  const { info } = file;
  if (info.type === TtyType.VT) return ctx.options.shellJob;
  return info.type === TtyType.PTY && !isMaster(info) && !isHungUp(info) && !inPair(ttyImages(ctx), info.id);
}

function checkStdinIsTerminal(): void {
  try {
    ioctl(STDIN, TTY_IOCTL.TCGETS, Buffer.alloc(60));
  } catch (error) {
    if (!(error instanceof SyscallError) || !['ENOTTY', 'EBADF'].includes(error.code)) throw error;
    throw new CriuError('--shell-job: the standard input of criu-restore is not a terminal, and the tree\'s external terminal becomes that terminal', {
      code: 'ENOTTY',
      hint: 'run criu-restore -j from the terminal the job should run on',
    });
  }
}

/** Does the external terminal `file` get a new pty, its master sent to the RPC client (orphan_pts_master)? */
export function onOrphanPty(ctx: RestoreContext, file: Pick<TtyFile, 'info'>): boolean {
  return ctx.options.orphanPtsMaster !== undefined && file.info.type === TtyType.PTY;
}

/** Our fd on the terminal standing in for the external terminal `file`: criu-restore's (-j), or a new pty's (orphan_pts_master). */
export function openExternal(ctx: RestoreContext, file: TtyFile): number {
  if (onOrphanPty(ctx, file)) return openOrphanSlave(ctx, file, ctx.options.orphanPtsMaster!);
  if (!ctx.options.shellJob) {
    throw new CriuError(`tty file ${file.entry.id}: ${file.path} is the terminal of the shell the tree ran from (its master was not dumped)`, {
      code: 'EUNSUPPORTED',
      hint: SHELL_JOB_HINT,
    });
  }
  const state = ctx.shared('files.tty.external', () => ({ paramsSet: false }));
  checkStdinIsTerminal();
  const fd = fcntl(STDIN, F.DUPFD_CLOEXEC, 0);
  if (!state.paramsSet) {
    setTtyParams(fd, file.info);
    state.paramsSet = true;
    ctx.log.child('tty').info(`${file.path} (tty file ${file.entry.id}) is restored onto criu-restore's terminal (--shell-job)`);
  }
  return fd;
}

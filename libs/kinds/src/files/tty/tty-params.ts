// Setting a terminal's state back from its tty_info_entry, through our (the
// tool's) fd, with the tty ioctls (ioctl_tty(2)): locked termios first
// (TIOCSLCKTRMIOS: they bound what TCSETS may change), then termios
// (TCSETS), then the window size (TIOCSWINSZ), as upstream orders them;
// exclusive mode (TIOCEXCL), a master's packet mode (TIOCPKT) and pty lock
// (TIOCSPTLCK); the file's owner for SIGIO (F_SETOWN_EX, F_SETSIG) as
// fown_entry says. Hung-up terminals have no state to set.
import { F, O, fcntl, ioctl } from '@criu-ts/kernel';
import type { FownEntry, TtyInfoEntry } from '@criu-ts/images';
import { TTY_IOCTL, termiosToBytes } from './tty-ioctls.js';
import { refillTty } from './tty-queued-data.js';

function intArg(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  return buf;
}

/** termios, locked termios and window size of `info` onto the terminal behind fd. */
export function setTtyParams(fd: number, info: TtyInfoEntry): void {
  if (info.termios_locked !== undefined) ioctl(fd, TTY_IOCTL.TIOCSLCKTRMIOS, termiosToBytes(info.termios_locked));
  if (info.termios !== undefined) ioctl(fd, TTY_IOCTL.TCSETS, termiosToBytes(info.termios));
  if (info.winsize !== undefined) {
    const ws = Buffer.alloc(8);
    [info.winsize.ws_row, info.winsize.ws_col, info.winsize.ws_xpixel, info.winsize.ws_ypixel].forEach((v, i) => ws.writeUInt16LE(v & 0xffff, 2 * i));
    ioctl(fd, TTY_IOCTL.TIOCSWINSZ, ws);
  }
}

/** Exclusive mode (TIOCEXCL: further opens fail with EBUSY but for CAP_SYS_ADMIN). */
export function setExclusive(fd: number, info: TtyInfoEntry): void {
  if (info.exclusive) ioctl(fd, TTY_IOCTL.TIOCEXCL);
}

/** Packet mode on a pty master. */
export function setPacketMode(fd: number, on: boolean): void {
  if (on) ioctl(fd, TTY_IOCTL.TIOCPKT, intArg(1));
}

/** unlockpt(3) (false) or lock the slave side against opens (true). */
export function setPtyLock(fd: number, locked: boolean): void {
  ioctl(fd, TTY_IOCTL.TIOCSPTLCK, intArg(locked ? 1 : 0));
}

/** Writes `data` into fd without blocking (the description's flags are put back); returns the bytes that went in. */
export function queueBytes(fd: number, data: Buffer): number {
  const flags = fcntl(fd, F.GETFL);
  if ((flags & O.NONBLOCK) === 0) fcntl(fd, F.SETFL, flags | O.NONBLOCK);
  try {
    return refillTty(fd, data);
  } finally {
    if ((flags & O.NONBLOCK) === 0) fcntl(fd, F.SETFL, flags);
  }
}

/** The SIGIO owner and signal of the description, as upstream restores fown (type and pid as F_SETOWN_EX takes them). */
export function setOwner(fd: number, fown: FownEntry | undefined): void {
  if (fown === undefined) return;
  if (fown.signum !== 0) fcntl(fd, F.SETSIG, fown.signum);
  if (fown.pid === 0) return;
  const owner = Buffer.alloc(8);
  owner.writeInt32LE(fown.pid_type, 0);
  owner.writeInt32LE(fown.pid, 4);
  fcntl(fd, F.SETOWN_EX, owner);
}

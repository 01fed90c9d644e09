// The state of a terminal, read with the tty ioctls (ioctl_tty(2)) on our
// copy of the task's fd: termios (TCGETS), locked termios (TIOCGLCKTRMIOS),
// window size (TIOCGWINSZ), exclusive mode (TIOCGEXCL), and for ptys
// packet mode (TIOCGPKT), the pty lock (TIOCGPTLCK) and a master's index
// (TIOCGPTN). A hung-up terminal answers EIO: only its identity is kept.
// The session and foreground group of a terminal other than a pty master
// are only told to a task whose controlling terminal it is, so TIOCGSID and
// TIOCGPGRP run inside the dumped task (injected); a master tells its
// slave's from anywhere.
import { SyscallError } from '@criu-ts/base';
import { SYS, ioctl } from '@criu-ts/kernel';
import type { Scratch } from '@criu-ts/inject';
import type { TermiosEntry, WinsizeEntry } from '@criu-ts/images';
import type { DumpContext, DumpTask } from '../../dump-context.js';

export const TTY_IOCTL = {
  TCGETS: 0x5401,
  TCSETS: 0x5402,
  TIOCEXCL: 0x540c,
  TIOCSCTTY: 0x540e,
  TIOCGPGRP: 0x540f,
  TIOCSPGRP: 0x5410,
  TIOCGWINSZ: 0x5413,
  TIOCSWINSZ: 0x5414,
  TIOCPKT: 0x5420,
  TIOCGSID: 0x5429,
  TIOCGLCKTRMIOS: 0x5456,
  TIOCSLCKTRMIOS: 0x5457,
  TIOCGPTN: 0x80045430,
  TIOCSPTLCK: 0x40045431,
  TIOCGPKT: 0x80045438,
  TIOCGPTLCK: 0x80045439,
  TIOCGEXCL: 0x80045440,
} as const;

const ENOTTY = 25;
const EIO = 5;

/** The kernel's struct termios: 4 flag words, c_line, c_cc[19] (36 bytes); glibc's is 60 with c_cc[32]. */
const TERMIOS_BUF = 60;
const CC_OFFSET = 17;
/** c_cc entries in the image (the kernel's NCCS) */
export const TERMIOS_NCC = 19;
/** the bytes of glibc's c_cc[32], which CRIU packs four to an image entry */
const CC_PACKED_WORDS = 8;

export interface TtySession {
  sid: number;
  pgrp: number;
}

export interface TtyState extends TtySession {
  hungUp: boolean;
  exclusive: boolean;
  packetMode: boolean;
  locked: boolean;
  termios?: TermiosEntry;
  termiosLocked?: TermiosEntry;
  winsize?: WinsizeEntry;
}

/** An int-returning tty ioctl: ENOTTY reads as 0 (not this kind of tty), EIO as undefined (hung up). */
function ioctlInt(fd: number, request: number): number | undefined {
  const out = Buffer.alloc(4);
  try {
    ioctl(fd, request, out);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'ENOTTY') return 0;
    if (error instanceof SyscallError && error.code === 'EIO') return undefined;
    throw error;
  }
  return out.readInt32LE(0);
}

/**
 * A termios_entry from the bytes TCGETS wrote into a zeroed glibc struct
 * termios, as CRIU stores it: c_cc holds the 32 bytes of glibc's c_cc
 * packed little-endian into its first 8 words, then zeros; the speeds are
 * in c_cflag (CBAUD), c_ispeed/c_ospeed stay 0.
 */
export function termiosFromBytes(buf: Buffer): TermiosEntry {
  const c_cc = Array.from({ length: TERMIOS_NCC }, (_, i) => (i < CC_PACKED_WORDS ? buf.readUInt32LE(CC_OFFSET + 4 * i) : 0));
  return {
    c_iflag: buf.readUInt32LE(0),
    c_oflag: buf.readUInt32LE(4),
    c_cflag: buf.readUInt32LE(8),
    c_lflag: buf.readUInt32LE(12),
    c_line: buf.readUInt8(16),
    c_ispeed: 0,
    c_ospeed: 0,
    c_cc,
  };
}

/**
 * The bytes of a glibc struct termios (as TCSETS and TIOCSLCKTRMIOS take
 * them; the kernel reads its first 36) for an image termios_entry: the
 * inverse of termiosFromBytes. c_cc must hold at least TERMIOS_NCC words,
 * as upstream checks; its first 8 carry glibc's 32 c_cc bytes.
 */
export function termiosToBytes(entry: TermiosEntry): Buffer {
  const buf = Buffer.alloc(TERMIOS_BUF);
  [entry.c_iflag, entry.c_oflag, entry.c_cflag, entry.c_lflag].forEach((word, i) => buf.writeUInt32LE(word >>> 0, 4 * i));
  buf.writeUInt8(entry.c_line & 0xff, 16);
  (entry.c_cc ?? []).slice(0, CC_PACKED_WORDS).forEach((word, i) => buf.writeUInt32LE(word >>> 0, CC_OFFSET + 4 * i));
  return buf;
}

/** The control characters c_cc[0..18] of an image termios_entry. */
export function controlChars(entry: TermiosEntry): number[] {
  const bytes = Buffer.alloc(CC_PACKED_WORDS * 4);
  (entry.c_cc ?? []).slice(0, CC_PACKED_WORDS).forEach((word, i) => bytes.writeUInt32LE(word >>> 0, 4 * i));
  return [...bytes.subarray(0, TERMIOS_NCC)];
}

function readTermios(fd: number, request: number): TermiosEntry {
  const buf = Buffer.alloc(TERMIOS_BUF);
  ioctl(fd, request, buf);
  return termiosFromBytes(buf);
}

function readWinsize(fd: number): WinsizeEntry {
  const buf = Buffer.alloc(8);
  ioctl(fd, TTY_IOCTL.TIOCGWINSZ, buf);
  return { ws_row: buf.readUInt16LE(0), ws_col: buf.readUInt16LE(2), ws_xpixel: buf.readUInt16LE(4), ws_ypixel: buf.readUInt16LE(6) };
}

/** The index of a pty master (the N of its slave /dev/pts/N). */
export function ptyIndex(fd: number): number {
  const out = Buffer.alloc(4);
  ioctl(fd, TTY_IOCTL.TIOCGPTN, out);
  return out.readInt32LE(0);
}

/** Session and foreground group as seen through our copy (right for pty masters); undefined if hung up. */
export function localSession(fd: number): TtySession | undefined {
  const sid = ioctlInt(fd, TTY_IOCTL.TIOCGSID);
  const pgrp = ioctlInt(fd, TTY_IOCTL.TIOCGPGRP);
  return sid === undefined || pgrp === undefined ? undefined : { sid, pgrp };
}

/** Session and foreground group as the task sees them through its fd (injected ioctls); undefined if hung up. */
export function taskSession(ctx: DumpContext, task: DumpTask, fd: number): TtySession | undefined {
  const injector = ctx.injector(task.threads[0].tid);
  const scratches = ctx.shared('files.tty.scratch', () => new Map<number, Scratch>());
  let scratch = scratches.get(task.pid);
  if (scratch === undefined) {
    scratch = injector.scratch(8);
    scratches.set(task.pid, scratch);
  }
  const values: number[] = [];
  for (const request of [TTY_IOCTL.TIOCGSID, TTY_IOCTL.TIOCGPGRP]) {
    scratch.write(Buffer.alloc(4));
    const result = injector.syscall(SYS.ioctl, fd, request, scratch.addr);
    if (result === BigInt(-EIO)) return undefined;
    if (result < 0n && result !== BigInt(-ENOTTY)) {
      throw new SyscallError({ syscall: `ioctl(0x${request.toString(16)})`, errno: Number(-result), pid: task.pid, path: `fd ${fd}` });
    }
    values.push(result === 0n ? scratch.read(4).readInt32LE(0) : 0);
  }
  return { sid: values[0], pgrp: values[1] };
}

const HUNG_UP: Omit<TtyState, keyof TtySession> = { hungUp: true, exclusive: false, packetMode: false, locked: false };

/** Everything but the session of the terminal behind our copy `fd`; `pty` adds the pty-only flags. */
export function readTtyState(fd: number, pty: boolean, session: TtySession | undefined): TtyState {
  const hungUp = { ...HUNG_UP, sid: session?.sid ?? 0, pgrp: session?.pgrp ?? 0 };
  if (session === undefined) return hungUp;
  const exclusive = ioctlInt(fd, TTY_IOCTL.TIOCGEXCL);
  const packetMode = pty ? ioctlInt(fd, TTY_IOCTL.TIOCGPKT) : 0;
  const locked = pty ? ioctlInt(fd, TTY_IOCTL.TIOCGPTLCK) : 0;
  if (exclusive === undefined || packetMode === undefined || locked === undefined) return hungUp;
  return {
    ...session,
    hungUp: false,
    exclusive: exclusive !== 0,
    packetMode: packetMode !== 0,
    locked: locked !== 0,
    termios: readTermios(fd, TTY_IOCTL.TCGETS),
    termiosLocked: readTermios(fd, TTY_IOCTL.TIOCGLCKTRMIOS),
    winsize: readWinsize(fd),
  };
}

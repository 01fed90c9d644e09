// Restore-side helpers shared by the fd kinds: checking a path that comes
// from an image before acting on it, opening it in the tool with a
// description's saved flags, and the description's F_SETOWN/F_SETSIG state
// (fown_entry), set on our fd (the tasks share that description).
import { closeSync, fstatSync } from 'node:fs';
import { CriuError, SyscallError } from '@criu-ts/base';
import { AT, F, O, SYS, fcntl, trySyscall } from '@criu-ts/kernel';
import type { FownEntry } from '@criu-ts/images';

/** __O_TMPFILE, O_TMPFILE without its O_DIRECTORY bit (which a directory's description keeps) */
const O_TMPFILE_BIT = O.TMPFILE & ~O.DIRECTORY;
/** Flags that would create or truncate instead of reopening: never passed on from an image. */
const CREATE_FLAGS = O.CREAT | O.EXCL | O.TRUNC | O_TMPFILE_BIT;

/** An image-supplied path: absolute, no NUL, no "." or ".." component. Returns it. */
export function checkRestorePath(path: string, what: string): string {
  if (path.includes('\0')) throw new CriuError(`${what}: path ${JSON.stringify(path)} contains a NUL byte`, { code: 'EINVAL' });
  if (!path.startsWith('/')) throw new CriuError(`${what}: path ${JSON.stringify(path)} is not absolute`, { code: 'EINVAL' });
  if (path.split('/').some((part) => part === '.' || part === '..')) {
    throw new CriuError(`${what}: path ${JSON.stringify(path)} has a "." or ".." component`, { code: 'EINVAL' });
  }
  return path;
}

/**
 * open(2) flags of a saved description, safe to reopen with (no O_CREAT,
 * O_EXCL, O_TRUNC, O_TMPFILE). A file made with O_TMPFILE keeps both its
 * bits in f_flags, O_DIRECTORY among them, though it is a regular file:
 * both go.
 */
export function reopenFlags(flags: number): number {
  const tmpfile = (flags & O_TMPFILE_BIT) !== 0 ? O.DIRECTORY : 0;
  return (flags & ~CREATE_FLAGS & ~tmpfile) >>> 0;
}

/** Opens path in the tool (close-on-exec in the tool only: FD_CLOEXEC is per fd). */
export function openPath(path: string, flags: number): number {
  const { value, errno } = trySyscall(SYS.openat, AT.FDCWD, Buffer.from(`${path}\0`), reopenFlags(flags) | O.CLOEXEC, 0);
  if (errno !== 0) throw new SyscallError({ syscall: `open(flags 0o${flags.toString(8)})`, errno, path });
  return Number(value);
}

const S_IFMT = 0o170000;
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0o140000: 'socket', 0o120000: 'symlink', 0o100000: 'regular file', 0o060000: 'block device', 0o040000: 'directory', 0o020000: 'character device', 0o010000: 'FIFO',
};
const typeName = (mode: number): string => TYPE_NAMES[mode & S_IFMT] ?? `file of type 0o${(mode & S_IFMT).toString(8)}`;

/**
 * Opens the file of an image-supplied path (a regular file, directory or
 * device, or the name it is linked back at) without ever blocking or
 * opening the wrong kind of file: the object is first reached with O_PATH
 * (which opens nothing), its type checked against the saved mode (when the
 * image has one), a FIFO refused unless the open cannot block (O_NONBLOCK or
 * O_RDWR), and only then reopened with the saved flags through
 * /proc/self/fd — the very inode looked at.
 */
export function openExpecting(path: string, flags: number, savedMode: number | undefined): number {
  if ((flags & O.PATH) !== 0) return openPath(path, flags);
  // an O_TMPFILE file's saved flags carry O_DIRECTORY: reopenFlags drops it, so must the O_PATH look
  const held = openPath(path, O.PATH | (reopenFlags(flags) & (O.NOFOLLOW | O.DIRECTORY)));
  try {
    const mode = Number(fstatSync(held).mode);
    if (savedMode !== undefined && savedMode !== 0 && (mode & S_IFMT) !== (savedMode & S_IFMT)) {
      throw new CriuError(`${path} is a ${typeName(mode)} now, a ${typeName(savedMode)} when dumped`, { code: 'ESTALE' });
    }
    if ((mode & S_IFMT) === 0o010000 && (flags & O.NONBLOCK) === 0 && (flags & O.ACCMODE) !== O.RDWR) {
      throw new CriuError(`${path} is a FIFO: opening it with flags 0o${flags.toString(8)} would wait for a peer`, { code: 'EINVAL' });
    }
    return openPath(`/proc/self/fd/${held}`, flags);
  } finally {
    closeSync(held);
  }
}

/** Runs fn on a new fd of ours and returns the fd; closes it if fn throws. */
export function closingOnError(fd: number, fn: (fd: number) => void): number {
  try {
    fn(fd);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** F_SETOWN_EX with {type, pid} */
function setOwner(fd: number, type: number, pid: number): void {
  const owner = Buffer.alloc(8);
  owner.writeInt32LE(type, 0);
  owner.writeInt32LE(pid, 4);
  fcntl(fd, F.SETOWN_EX, owner);
}

/**
 * The saved owner and signal of a description (fcntl F_SETSIG, F_SETOWN_EX).
 * The owner's uid/euid become the tool's: the kernel records the caller's.
 */
export function restoreFown(fd: number, fown: FownEntry | undefined): void {
  if (fown === undefined) return;
  if (fown.signum !== 0) fcntl(fd, F.SETSIG, fown.signum);
  if (fown.pid !== 0) setOwner(fd, fown.pid_type, fown.pid);
}

/** Status flags F_SETFL can change (O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT, O_NOATIME). */
export function setStatusFlags(fd: number, flags: number): void {
  const settable = O.APPEND | O.NONBLOCK | O.ASYNC | O.DIRECT | O.NOATIME;
  const current = fcntl(fd, F.GETFL);
  const wanted = (current & ~settable) | (flags & settable);
  if (wanted !== current) fcntl(fd, F.SETFL, wanted);
}

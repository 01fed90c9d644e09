// -l/--file-locks: the flock(2), POSIX (fcntl F_SETLK) and OFD locks an open
// file description holds, from the "lock:" lines of its fdinfo, as
// file_lock_entry {flag, type, pid, fd, start, len} in filelocks.img; len 0
// means "to the end of the file". Leases (fcntl(2) F_SETLEASE, kind LEASE,
// type F_RDLCK/F_WRLCK, start and len 0) are saved as CRIU does; a lease
// being broken and delegations are refused. Only safe when no task outside
// the tree holds locks on the same files (criu(8)). Restore takes each lock
// again inside the task that held it, on its fd number, in one injected
// batch (flock, F_SETLK, F_OFD_SETLK, F_SETLEASE; never waits). A lease
// must be set by the task itself: F_SETLEASE makes the caller the file's
// owner (F_SETOWN) and records the caller's fd number for lease-break
// SIGIO, so setting it from the tool would send the break to us.
import { existsSync } from 'node:fs';
import { CriuError, UnsupportedError, errnoName } from '@criu-ts/base';
import { F, SEEK, SYS, signed64 } from '@criu-ts/kernel';
import { imagePath, readEntries, type FileLockEntry } from '@criu-ts/images';
import type { BatchCall } from '@criu-ts/inject';
import { imagePidOf, type RestoreContext } from '../restore-context.js';
import type { FileLock } from '@criu-ts/proc';
import type { OpenFd } from './open-fd.js';

/** CRIU's lock kinds (file-lock.h) */
const FLAG: Readonly<Record<string, number>> = { POSIX: 1, FLOCK: 2, OFDLCK: 4, LEASE: 8 };
/** F_RDLCK, F_WRLCK, F_UNLCK */
const ACCESS: Readonly<Record<string, number>> = { READ: 0, WRITE: 1, UNLCK: 2 };
/** LOCK_MAND: old Samba "mandatory" flock locks */
const LOCK_MAND = 32;

export function fileLockEntry(fd: OpenFd, lock: FileLock): FileLockEntry {
  const flag = FLAG[lock.type];
  const access = ACCESS[lock.access];
  if (flag === undefined || access === undefined) {
    throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `${lock.type} ${lock.access} lock` });
  }
  if (flag === FLAG.LEASE) {
    if (lock.mode !== 'ACTIVE') throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `lease being broken (${lock.mode} ${lock.access})` });
    return { flag, type: access, pid: fd.pid, fd: fd.fd, start: 0n, len: 0n };
  }
  const type = lock.mode === 'MSNFS' ? access | LOCK_MAND : access;
  const len = lock.end === undefined ? 0n : lock.end + 1n - lock.start;
  return { flag, type, pid: fd.pid, fd: fd.fd, start: lock.start, len };
}

/** The locks of fd's description, as filelocks.img entries. */
export function fileLockEntries(fd: OpenFd): FileLockEntry[] {
  return fd.info.locks.map((lock) => fileLockEntry(fd, lock));
}

// ---- restore (-l): each lock taken again inside its task, on its fd ----

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const FLOCK_SIZE = 32;

/** filelocks.img entries by pid, read once. */
function savedLocks(ctx: RestoreContext): ReadonlyMap<number, FileLockEntry[]> {
  return ctx.shared('files.locks.restore', () => {
    const byPid = new Map<number, FileLockEntry[]>();
    if (!existsSync(imagePath(ctx.options.imagesDir, 'filelocks'))) return byPid;
    for (const lock of readEntries(ctx.options.imagesDir, 'filelocks')) byPid.set(lock.pid, [...(byPid.get(lock.pid) ?? []), lock]);
    return byPid;
  });
}

/** struct flock for F_SETLK / F_OFD_SETLK (l_pid 0). */
function flockStruct(lock: FileLockEntry): Buffer {
  const buf = Buffer.alloc(FLOCK_SIZE);
  buf.writeInt16LE(lock.type, 0);
  buf.writeInt16LE(SEEK.SET, 2);
  buf.writeBigInt64LE(BigInt(lock.start), 8);
  buf.writeBigInt64LE(BigInt(lock.len), 16);
  return buf;
}

function lockCall(ctx: RestoreContext, pid: number, lock: FileLockEntry, slot: number): BatchCall {
  if (lock.flag === FLAG.FLOCK) {
    if ((lock.type & LOCK_MAND) !== 0) throw new UnsupportedError({ pid, fd: lock.fd, kind: 'mandatory (LOCK_MAND) flock lock' });
    return { nr: SYS.flock, args: [lock.fd, (lock.type === ACCESS.WRITE ? LOCK_EX : LOCK_SH) | LOCK_NB] };
  }
  if (lock.flag === FLAG.LEASE) return { nr: SYS.fcntl, args: [lock.fd, F.SETLEASE, lock.type] };
  if (lock.flag !== FLAG.POSIX && lock.flag !== FLAG.OFDLCK) throw new UnsupportedError({ pid, fd: lock.fd, kind: `file lock kind ${lock.flag}` });
  const addr = ctx.scratch(pid).write(flockStruct(lock), slot * FLOCK_SIZE);
  return { nr: SYS.fcntl, args: [lock.fd, lock.flag === FLAG.POSIX ? F.SETLK : F.OFD_SETLK, addr] };
}

/** Take pid's saved locks again (with -l; without it they are left out, with a warning). */
export function restoreLocks(ctx: RestoreContext, pid: number): void {
  const locks = savedLocks(ctx).get(imagePidOf(ctx, pid)) ?? [];
  if (locks.length === 0) return;
  if (!ctx.options.fileLocks) {
    ctx.log.warn(`pid ${pid}: ${locks.length} file lock(s) in the images are not taken again: restore with -l/--file-locks`);
    return;
  }
  if (locks.length * FLOCK_SIZE > ctx.scratch(pid).size) throw new CriuError(`pid ${pid}: ${locks.length} file locks do not fit the scratch`);
  const calls = locks.map((lock, i) => lockCall(ctx, pid, lock, i));
  ctx.injector(pid).batch(calls).forEach((result, i) => {
    const r = signed64(result);
    if (r < 0n) throw new CriuError(`pid ${pid} fd ${locks[i]!.fd}: its file lock cannot be taken again: ${errnoName(Number(-r))}`, { code: errnoName(Number(-r)) });
  });
  ctx.log.info(`pid ${pid}: ${locks.length} file lock(s) taken again`);
}

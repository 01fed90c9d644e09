// -l/--file-locks: the flock(2), POSIX (fcntl F_SETLK) and OFD locks an open
// file description holds, from the "lock:" lines of its fdinfo, as
// file_lock_entry {flag, type, pid, fd, start, len} in filelocks.img; len 0
// means "to the end of the file". Leases and delegations are refused. Only
// safe when no task outside the tree holds locks on the same files (criu(8)).
import { UnsupportedError } from '@criu-ts/base';
import type { FileLockEntry } from '@criu-ts/images';
import type { FileLock } from '@criu-ts/proc';
import type { OpenFd } from './open-fd.js';

/** CRIU's lock kinds (file-lock.h) */
const FLAG: Readonly<Record<string, number>> = { POSIX: 1, FLOCK: 2, OFDLCK: 4 };
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
  const type = lock.mode === 'MSNFS' ? access | LOCK_MAND : access;
  const len = lock.end === undefined ? 0n : lock.end + 1n - lock.start;
  return { flag, type, pid: fd.pid, fd: fd.fd, start: lock.start, len };
}

/** The locks of fd's description, as filelocks.img entries. */
export function fileLockEntries(fd: OpenFd): FileLockEntry[] {
  return fd.info.locks.map((lock) => fileLockEntry(fd, lock));
}

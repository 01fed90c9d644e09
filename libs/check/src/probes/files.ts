// Probes for what /proc shows of open files and the calls the fd kinds use:
// mnt_id and lock lines in fdinfo, timerfd state, openat2, the unix-socket
// file ioctl. See proc_pid_fdinfo(5), timerfd_create(2), openat2(2).
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errnoName } from '@criu-ts/base';
import { SYS, syscall, trySyscall } from '@criu-ts/kernel';
import { missing, type Feature, type ProbeResult } from '../feature.js';

const LOCK_EX = 2;
const TFD_CLOEXEC = 0o2000000;
const CLOCK_MONOTONIC = 1;

function withFd<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

const fdinfo = (fd: number): string => readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');

function fdinfoHas(fd: number, pattern: RegExp, what: string): ProbeResult {
  return pattern.test(fdinfo(fd)) ? 'ok' : missing(`/proc/self/fdinfo has no ${what}`);
}

export const mntId: Feature = {
  name: 'mnt_id',
  category: 2,
  neededFor: 'telling which mount an open file is on (mnt_id in fdinfo)',
  probe: () => withFd(openSync('/proc/self/status', 'r'), (fd) => fdinfoHas(fd, /^mnt_id:\s+\d+$/m, 'mnt_id line')),
};

export const fdinfoLock: Feature = {
  name: 'fdinfo_lock',
  category: 2,
  neededFor: 'dumping file locks (--file-locks: lock lines in fdinfo)',
  probe: () => {
    const dir = mkdtempSync(join(tmpdir(), 'criu-check-'));
    try {
      return withFd(openSync(join(dir, 'lock'), 'w'), (fd) => {
        syscall(SYS.flock, fd, LOCK_EX);
        return fdinfoHas(fd, /^lock:\s+\d+:\s*FLOCK/m, 'lock line for a flock()ed file');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export const timerfd: Feature = {
  name: 'timerfd',
  category: 2,
  neededFor: 'dumping timerfds (timer state in fdinfo)',
  probe: () => {
    const fd = Number(syscall(SYS.timerfd_create, CLOCK_MONOTONIC, TFD_CLOEXEC));
    return withFd(fd, () => fdinfoHas(fd, /^it_value:/m, 'it_value line for a timerfd'));
  },
};

export const openat2: Feature = {
  name: 'openat2',
  category: 2,
  neededFor: 'opening restored paths without following symlinks out of the root (openat2 RESOLVE_*)',
  probe: () => {
    const how = Buffer.alloc(24); // struct open_how: flags, mode, resolve
    const { value, errno } = trySyscall(SYS.openat2, -100, Buffer.from('/\0'), how, how.length);
    if (errno !== 0) return missing(`openat2: ${errnoName(errno)}`);
    closeSync(Number(value));
    return 'ok';
  },
};

// What the dump learns about one open fd of a frozen task, from outside:
// the /proc/PID/fd link, /proc/PID/fdinfo, and an fstat and fcntl(F_GETSIG,
// F_GETOWN_EX, F_GETOWNER_UIDS) of a copy pulled into the tool with
// pidfd_getfd(2) — the copy shares the task's open file description.
// A file in flight (SCM_RIGHTS queued on a unix socket) is met as an fd of
// the tool itself, which a peek of the queue installed (ownFd). The caller
// closes `local`.
import { closeSync, fstatSync, type BigIntStats } from 'node:fs';
import { F, FD_CLOEXEC, O, fcntl, pidfdGetfd } from '@criu-ts/kernel';
import type { FownEntry } from '@criu-ts/images';
import { readFdLink, readFdinfo, type FdEntry, type FdTarget, type Fdinfo } from '@criu-ts/proc';

/** Where a file in flight is: the socket of a task whose receive queue holds it. */
export interface InFlight {
  /** the task and its fd of the socket; for a file queued on a socket that is itself in flight, the outermost one's */
  pid: number;
  fd: number;
  /** queued on a socket that is itself in flight (then no task holds the socket it is queued on) */
  nested: boolean;
}

export interface OpenFd {
  /** the task (for a file in flight: the tool) and its fd number */
  pid: number;
  fd: number;
  /** set for a file in flight: then pid and fd are the tool's own (local === fd) */
  inFlight?: InFlight;
  /** the /proc/PID/fd/N link text */
  link: string;
  target: FdTarget;
  info: Fdinfo;
  stat: BigIntStats;
  /** our copy of the fd (same open file description) */
  local: number;
  /** open(2) flags of the description, without the O_CLOEXEC the kernel shows for the fd */
  flags: number;
  /** fdinfo_entry.flags: FD_CLOEXEC or 0 */
  fdFlags: number;
  fown: FownEntry;
}

/** fcntl F_GETOWNER_UIDS: the uid and euid that F_SETOWN recorded */
const F_GETOWNER_UIDS = 17;

function fdinfoHint(target: FdTarget): 'epoll' | 'inotify' | undefined {
  if (target.kind !== 'anon_inode') return undefined;
  return target.anon === 'epoll' || target.anon === 'inotify' ? target.anon : undefined;
}

/** F_SETSIG/F_SETOWN state of the description, as CRIU saves it (zeros when nobody owns it). */
export function readFown(local: number, flags: number): FownEntry {
  const fown: FownEntry = { uid: 0, euid: 0, signum: 0, pid_type: 0, pid: 0 };
  if ((flags & O.PATH) !== 0) return fown;
  fown.signum = fcntl(local, F.GETSIG);
  const owner = Buffer.alloc(8);
  fcntl(local, F.GETOWN_EX, owner);
  const pid = owner.readInt32LE(4);
  if (pid === 0) return fown;
  const uids = Buffer.alloc(8);
  fcntl(local, F_GETOWNER_UIDS, uids);
  return { ...fown, pid_type: owner.readInt32LE(0), pid, uid: uids.readUInt32LE(0), euid: uids.readUInt32LE(4) };
}

/** The facts of fd `entry.fd` of pid, `local` being our copy of it. */
function describeFd(pid: number, entry: FdEntry, local: number): OpenFd {
  const info = readFdinfo(pid, entry.fd, fdinfoHint(entry.target));
  const flags = info.flags & ~O.CLOEXEC;
  return {
    pid,
    fd: entry.fd,
    link: entry.link,
    target: entry.target,
    info,
    stat: fstatSync(local, { bigint: true }),
    local,
    flags,
    fdFlags: (info.flags & O.CLOEXEC) !== 0 ? FD_CLOEXEC : 0,
    fown: readFown(local, flags),
  };
}

/** Pull fd `entry.fd` of pid (through its pidfd) into the tool and gather its facts. */
export function openFd(pid: number, pidfd: number, entry: FdEntry): OpenFd {
  const local = pidfdGetfd(pidfd, entry.fd);
  try {
    return describeFd(pid, entry, local);
  } catch (error) {
    closeSync(local);
    throw error;
  }
}

/** The facts of `local`, an fd of the tool that carries a file in flight (the caller closes it, also on error). */
export function ownFd(local: number, inFlight: InFlight): OpenFd {
  return { ...describeFd(process.pid, readFdLink(process.pid, local), local), inFlight };
}

/** st_mode file type tests on a bigint stat */
const S_IFMT = 0o170000n;
export const fileType = (stat: BigIntStats): bigint => stat.mode & S_IFMT;
export const S_IF = { SOCK: 0o140000n, LNK: 0o120000n, REG: 0o100000n, BLK: 0o060000n, DIR: 0o040000n, CHR: 0o020000n, FIFO: 0o010000n } as const;

/** glibc's major()/minor() of a userspace dev_t */
export function devMajor(dev: bigint): number {
  return Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
}
export function devMinor(dev: bigint): number {
  return Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
}

/** The kernel's encoding of a device number (MINORBITS 20), as CRIU images hold st_dev. */
export function kernelDev(dev: bigint): number {
  return ((devMajor(dev) << 20) | devMinor(dev)) >>> 0;
}

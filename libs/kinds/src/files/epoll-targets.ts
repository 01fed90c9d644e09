// Which fd of the task an epoll watch is on. fdinfo "tfd:" gives the fd
// number the watch was added with, but that fd may have been closed (the
// watch lives on while its file is open anywhere) or reused for another
// file since. kcmp(2) KCMP_EPOLL_TFD compares a task's fd with the file of
// watch {efd, tfd, toff} (toff: the how-manyth watch on that fd number), so
// a moved watch is found among the task's fds on the same inode, as CRIU
// does; it is restored on that fd. A watched file open at no fd of the task
// cannot be watched again: refused. An epoll in flight (in a unix socket's
// queue) has its watches checked against the task holding that socket.
import { statSync } from 'node:fs';
import { UnsupportedError, errnoOf } from '@criu-ts/base';
import { KCMP, SYS, trySyscall } from '@criu-ts/kernel';
import { listFds } from '@criu-ts/proc';
import type { EpollTarget } from '@criu-ts/proc';
import type { OpenFd } from './open-fd.js';

function inodeOfFd(pid: number, fd: number): bigint | undefined {
  try {
    return statSync(`/proc/${pid}/fd/${fd}`, { bigint: true }).ino;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Is fd `candidate` of pid the file of watch (efd, tfd, toff) of epoll fd efd of `epollPid`? kcmp(KCMP_EPOLL_TFD). */
export function isWatchedFile(pid: number, candidate: number, watch: { efd: number; tfd: number; toff: number }, epollPid = pid): boolean {
  const slot = Buffer.alloc(12);
  slot.writeUInt32LE(watch.efd, 0);
  slot.writeUInt32LE(watch.tfd, 4);
  slot.writeUInt32LE(watch.toff, 8);
  return trySyscall(SYS.kcmp, pid, epollPid, KCMP.EPOLL_TFD, candidate, slot).value === 0n;
}

/**
 * The task whose fds the watches are on: the epoll's, or for an epoll in
 * flight the task holding the socket it is queued on (which restore adds
 * them in, as upstream does); refused nested in an in-flight socket's queue.
 */
function watchOwner(epoll: OpenFd, watches: number): number {
  if (epoll.inFlight === undefined) return epoll.pid;
  if (epoll.inFlight.nested && watches > 0) {
    throw new UnsupportedError({ pid: epoll.inFlight.pid, fd: epoll.inFlight.fd, kind: 'an epoll with watches in flight in the queue of a socket that is itself in flight' });
  }
  return epoll.inFlight.pid;
}

/** For each watch of epoll fd `epoll`, the fd of the task its file is open at now (fdinfo order). */
export function watchedFds(epoll: OpenFd, targets: readonly EpollTarget[]): number[] {
  const owner = watchOwner(epoll, targets.length);
  let fds: number[] | undefined;
  const seen = new Map<number, number>();
  return targets.map((t) => {
    const toff = seen.get(t.tfd) ?? 0;
    seen.set(t.tfd, toff + 1);
    const watch = { efd: epoll.fd, tfd: t.tfd, toff };
    if (isWatchedFile(owner, t.tfd, watch, epoll.pid)) return t.tfd;
    fds ??= listFds(owner).map((entry) => entry.fd);
    const found = fds.find((fd) => inodeOfFd(owner, fd) === BigInt(t.ino) && isWatchedFile(owner, fd, watch, epoll.pid));
    if (found !== undefined) return found;
    if (epoll.inFlight !== undefined) {
      throw new UnsupportedError({ pid: owner, fd: epoll.inFlight.fd, kind: `an epoll in flight in its queue watching a file that is open at no fd of the task (added as fd ${t.tfd})` });
    }
    throw new UnsupportedError({ pid: epoll.pid, fd: epoll.fd, kind: `epoll watching a file that is open at no fd of the task (added as fd ${t.tfd}, since closed)` });
  });
}

// Which fd of the task an epoll watch is on. fdinfo "tfd:" gives the fd
// number the watch was added with, but that fd may have been closed (the
// watch lives on while its file is open anywhere) or reused for another
// file since. kcmp(2) KCMP_EPOLL_TFD compares a task's fd with the file of
// watch {efd, tfd, toff} (toff: the how-manyth watch on that fd number), so
// a moved watch is found among the task's fds on the same inode, as CRIU
// does; it is restored on that fd. A watched file open at no fd of the task
// cannot be watched again: refused.
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

/** Is fd `candidate` of pid the file of watch (efd, tfd, toff)? kcmp(KCMP_EPOLL_TFD). */
export function isWatchedFile(pid: number, candidate: number, watch: { efd: number; tfd: number; toff: number }): boolean {
  const slot = Buffer.alloc(12);
  slot.writeUInt32LE(watch.efd, 0);
  slot.writeUInt32LE(watch.tfd, 4);
  slot.writeUInt32LE(watch.toff, 8);
  return trySyscall(SYS.kcmp, pid, pid, KCMP.EPOLL_TFD, candidate, slot).value === 0n;
}

/** For each watch of epoll fd `epoll`, the task's fd its file is open at now (fdinfo order). */
export function watchedFds(epoll: OpenFd, targets: readonly EpollTarget[]): number[] {
  let fds: number[] | undefined;
  const seen = new Map<number, number>();
  return targets.map((t) => {
    const toff = seen.get(t.tfd) ?? 0;
    seen.set(t.tfd, toff + 1);
    const watch = { efd: epoll.fd, tfd: t.tfd, toff };
    if (isWatchedFile(epoll.pid, t.tfd, watch)) return t.tfd;
    fds ??= listFds(epoll.pid).map((entry) => entry.fd);
    const found = fds.find((fd) => inodeOfFd(epoll.pid, fd) === BigInt(t.ino) && isWatchedFile(epoll.pid, fd, watch));
    if (found === undefined) {
      throw new UnsupportedError({ pid: epoll.pid, fd: epoll.fd, kind: `epoll watching a file that is open at no fd of the task (added as fd ${t.tfd}, since closed)` });
    }
    return found;
  });
}

// epoll(7) instances: eventpoll_file_entry {id, flags, fown, tfd[]} in
// files.img, type EVENTPOLL; each watched fd from fdinfo "tfd:" lines as
// eventpoll_tfd_entry {id = the epoll's id, tfd, events, data, dev, inode,
// pos}. A watched file whose fd number was closed or reused since it was
// added cannot be put back by number: refused. See epoll_ctl(2).
import { statSync } from 'node:fs';
import { UnsupportedError, errnoOf } from '@criu-ts/base';
import { FdTypes, type EventpollTfdEntry } from '@criu-ts/images';
import type { EpollTarget } from '@criu-ts/proc';
import type { FdKind } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';
import type { OpenFd } from './open-fd.js';

function inodeOfFd(pid: number, fd: number): bigint | undefined {
  try {
    return statSync(`/proc/${pid}/fd/${fd}`, { bigint: true }).ino;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function targetEntry(fd: OpenFd, id: number, t: EpollTarget): EventpollTfdEntry {
  if (inodeOfFd(fd.pid, t.tfd) !== BigInt(t.ino)) {
    throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `epoll watching a file whose fd ${t.tfd} was closed or reused` });
  }
  return { id, tfd: t.tfd, events: t.events, data: t.data, dev: t.sdev, inode: BigInt(t.ino), pos: t.pos };
}

export const epollKind: FdKind = {
  name: 'epoll',
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'epoll',
  dump(_env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'epoll') throw anonMismatch(fd, 'epoll');
    const tfd = info.targets.map((t) => targetEntry(fd, id, t));
    return { type: FdTypes.EVENTPOLL, id, epfd: { id, flags: fd.flags, fown: fd.fown, tfd } };
  },
};

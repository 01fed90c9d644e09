// watchedFds on this very process: an epoll watch added on a dup that was
// then closed is found on the fd its pipe is still open at (kcmp
// KCMP_EPOLL_TFD), also when that fd number now holds the pipe's other end
// (same inode, another file).
import { closeSync } from 'node:fs';
import t from 'tap';
import { O, SYS, pipe2, syscall } from '@criu-ts/kernel';
import { readFdinfo } from '@criu-ts/proc';
import { isWatchedFile, watchedFds } from './epoll-targets.js';
import type { OpenFd } from './open-fd.js';

const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;

function addWatch(epfd: number, fd: number, data: bigint): void {
  const ev = Buffer.alloc(12);
  ev.writeUInt32LE(EPOLLIN, 0);
  ev.writeBigUInt64LE(data, 4);
  syscall(SYS.epoll_ctl, epfd, EPOLL_CTL_ADD, fd, ev);
}

function targetsOf(epfd: number) {
  const info = readFdinfo(process.pid, epfd, 'epoll');
  if (info.kind !== 'epoll') throw new Error(`fd ${epfd} is not an epoll: ${info.kind}`);
  return info.targets;
}

t.test('a watch on a closed or reused fd is found on the fd its file is still open at', (t) => {
  const [readEnd, writeEnd] = pipe2(O.CLOEXEC);
  const epfd = Number(syscall(SYS.epoll_create1, O.CLOEXEC));
  const dup = Number(syscall(SYS.fcntl, readEnd, 1030 /* F_DUPFD_CLOEXEC */, 500));
  t.teardown(() => [readEnd, writeEnd, epfd, dup].forEach((fd) => closeSync(fd)));
  addWatch(epfd, readEnd, 1n);
  addWatch(epfd, dup, 2n);
  closeSync(dup);
  const epoll = { pid: process.pid, fd: epfd } as OpenFd;
  const targets = targetsOf(epfd);
  t.same(targets.map((w) => w.tfd).sort((a, b) => a - b), [readEnd, dup].sort((a, b) => a - b), 'fdinfo still lists the closed fd');
  t.ok(isWatchedFile(process.pid, readEnd, { efd: epfd, tfd: readEnd, toff: 0 }), 'kcmp: the read end is its own watch');
  t.notOk(isWatchedFile(process.pid, writeEnd, { efd: epfd, tfd: readEnd, toff: 0 }), 'kcmp: the write end is not');
  t.same(watchedFds(epoll, targets), targets.map(() => readEnd), 'both watches are on the read end now');
  syscall(SYS.dup3, writeEnd, dup, O.CLOEXEC);
  t.same(watchedFds(epoll, targetsOf(epfd)), targets.map(() => readEnd), 'not on the write end now at the old number');
  t.end();
});

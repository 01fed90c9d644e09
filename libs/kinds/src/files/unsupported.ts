// Fds this dump cannot save yet, each refused with an UnsupportedError that
// names the pid, the fd and what it is, so the engine releases the tree
// untouched: sockets the socket kinds (sockets/) do not take, and
// anon-inode files other than eventfd/epoll/signalfd/timerfd/inotify/
// fanotify/pidfd (io_uring, userfaultfd, perf, bpf, ...), other devices.
import { UnsupportedError } from '@criu-ts/base';
import type { FdKind } from './fd-kind.js';
import { S_IF, devMajor, devMinor, fileType, type OpenFd } from './open-fd.js';

function describe(fd: OpenFd): string {
  const { target, stat } = fd;
  if (target.kind === 'socket' || fileType(stat) === S_IF.SOCK) return 'socket';
  if (target.kind === 'namespace') return `${target.ns} namespace file`;
  if (target.kind === 'anon_inode') return `anon inode file ${target.name}`;
  if (fileType(stat) === S_IF.CHR) {
    return `character device ${fd.link} (${devMajor(stat.rdev)}:${devMinor(stat.rdev)})`;
  }
  if (fileType(stat) === S_IF.BLK) return `block device ${fd.link}`;
  return `file "${fd.link}"`;
}

/** Last in the registry: matches anything the kinds before it did not take. */
export const unsupportedKind: FdKind = {
  name: 'unsupported',
  matches: () => true,
  dump(_env, fd) {
    throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: describe(fd) });
  },
};

// Every fd kind, in the order they are asked; the first match dumps the
// fd. The unsupported kind, which matches everything, stays last.
import type { FdKind } from './fd-kind.js';
import { epollKind } from './epoll.js';
import { eventfdKind } from './eventfd.js';
import { fanotifyKind } from './fanotify.js';
import { fifoKind } from './fifo.js';
import { inotifyKind } from './inotify.js';
import { memfdKind } from './memfd.js';
import { nsFileKind } from './ns-file.js';
import { pidfdKind } from './pidfd.js';
import { pipeKind } from './pipe.js';
import { regFileKind } from './reg-file.js';
import { signalfdKind } from './signalfd.js';
import { timerfdKind } from './timerfd.js';
import { ttyKind } from './tty/tty-kind.js';
import { unsupportedKind } from './unsupported.js';
import { inetSocketKind, netlinkSocketKind, otherSocketKind, packetSocketKind, unixSocketKind } from './sockets/index.js';
import type { OpenFd } from './open-fd.js';

export const fdKinds: readonly FdKind[] = [
  memfdKind,
  regFileKind,
  pipeKind,
  fifoKind,
  eventfdKind,
  epollKind,
  signalfdKind,
  timerfdKind,
  inotifyKind,
  fanotifyKind,
  pidfdKind,
  unixSocketKind,
  inetSocketKind,
  netlinkSocketKind,
  packetSocketKind,
  otherSocketKind,
  ttyKind,
  nsFileKind,
  unsupportedKind,
];

export function fdKindOf(fd: OpenFd): FdKind {
  return fdKinds.find((k) => k.matches(fd)) ?? unsupportedKind;
}

/** The kind that restores files.img entries of `type` (fd_types), if any. */
export function fdKindForType(type: number): FdKind | undefined {
  return fdKinds.find((k) => k.type === type && k.open !== undefined);
}

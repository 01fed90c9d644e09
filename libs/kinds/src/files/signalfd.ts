// signalfd(2): signalfd_entry {id, flags, fown, sigmask} in files.img, type
// SIGNALFD, the mask from fdinfo "sigmask". Signals queued to the task are
// the signals kind's business, not this file's. Restore: signalfd4 with
// the mask and the saved O_NONBLOCK.
import { O, SYS, syscall } from '@criu-ts/kernel';
import { FdTypes } from '@criu-ts/images';
import type { FdKind } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';
import { closingOnError, restoreFown } from './open-path.js';

export const signalfdKind: FdKind = {
  name: 'signalfd',
  type: FdTypes.SIGNALFD,
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'signalfd',
  dump(_env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'signalfd') throw anonMismatch(fd, 'signalfd');
    return { type: FdTypes.SIGNALFD, id, sgfd: { id, flags: fd.flags, fown: fd.fown, sigmask: info.sigmask } };
  },
  open(_env, entry) {
    const sgfd = entry.sgfd!;
    const mask = Buffer.alloc(8);
    mask.writeBigUInt64LE(sgfd.sigmask);
    const fd = Number(syscall(SYS.signalfd4, -1, mask, 8, O.CLOEXEC | (sgfd.flags & O.NONBLOCK)));
    return closingOnError(fd, () => restoreFown(fd, sgfd.fown));
  },
};

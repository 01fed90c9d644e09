// signalfd(2): signalfd_entry {id, flags, fown, sigmask} in files.img, type
// SIGNALFD, the mask from fdinfo "sigmask". Signals queued to the task are
// the signals kind's business, not this file's.
import { FdTypes } from '@criu-ts/images';
import type { FdKind } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';

export const signalfdKind: FdKind = {
  name: 'signalfd',
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'signalfd',
  dump(_env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'signalfd') throw anonMismatch(fd, 'signalfd');
    return { type: FdTypes.SIGNALFD, id, sgfd: { id, flags: fd.flags, fown: fd.fown, sigmask: info.sigmask } };
  },
};

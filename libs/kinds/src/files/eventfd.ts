// eventfd(2): eventfd_file_entry {id, flags, fown, counter} in files.img,
// type EVENTFD, the counter from fdinfo "eventfd-count". EFD_SEMAPHORE
// mode is not saved (CRIU's image has no field for it).
import { FdTypes } from '@criu-ts/images';
import type { FdKind } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';

export const eventfdKind: FdKind = {
  name: 'eventfd',
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'eventfd',
  dump(_env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'eventfd') throw anonMismatch(fd, 'eventfd');
    return { type: FdTypes.EVENTFD, id, efd: { id, flags: fd.flags, fown: fd.fown, counter: info.count } };
  },
};

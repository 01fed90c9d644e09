// eventfd(2): eventfd_file_entry {id, flags, fown, counter} in files.img,
// type EVENTFD, the counter from fdinfo "eventfd-count". EFD_SEMAPHORE
// mode is not saved (CRIU's image has no field for it). Restore: eventfd2
// with the saved O_NONBLOCK, the 64-bit counter written back.
import { writeSync } from 'node:fs';
import { O, SYS, syscall } from '@criu-ts/kernel';
import { FdTypes } from '@criu-ts/images';
import type { FdKind } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';
import { closingOnError, restoreFown } from './open-path.js';

export const eventfdKind: FdKind = {
  name: 'eventfd',
  type: FdTypes.EVENTFD,
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'eventfd',
  dump(_env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'eventfd') throw anonMismatch(fd, 'eventfd');
    return { type: FdTypes.EVENTFD, id, efd: { id, flags: fd.flags, fown: fd.fown, counter: info.count } };
  },
  open(_env, entry) {
    const efd = entry.efd!;
    return closingOnError(Number(syscall(SYS.eventfd2, 0, O.CLOEXEC | (efd.flags & O.NONBLOCK))), (fd) => {
      if (efd.counter > 0n) {
        const value = Buffer.alloc(8);
        value.writeBigUInt64LE(efd.counter);
        writeSync(fd, value);
      }
      restoreFown(fd, efd.fown);
    });
  },
};

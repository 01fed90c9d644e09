// timerfd_create(2): timerfd_entry {id, flags, fown, clockid, ticks,
// settime_flags, it_value, it_interval} in files.img, type TIMERFD, all
// from fdinfo (the remaining time of an armed timer, expirations not yet
// read). See timerfd_create(2), proc_pid_fdinfo(5).
import { FdTypes } from '@criu-ts/images';
import type { FdKind } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';

export const timerfdKind: FdKind = {
  name: 'timerfd',
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'timerfd',
  dump(_env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'timerfd') throw anonMismatch(fd, 'timerfd');
    const tfd = {
      id,
      flags: fd.flags,
      fown: fd.fown,
      clockid: info.clockid,
      ticks: info.ticks,
      settime_flags: info.settime_flags,
      vsec: info.it_value.tv_sec,
      vnsec: BigInt(info.it_value.tv_nsec),
      isec: info.it_interval.tv_sec,
      insec: BigInt(info.it_interval.tv_nsec),
    };
    return { type: FdTypes.TIMERFD, id, tfd };
  },
};

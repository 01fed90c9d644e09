// timerfd_create(2): timerfd_entry {id, flags, fown, clockid, ticks,
// settime_flags, it_value, it_interval} in files.img, type TIMERFD, all
// from fdinfo (the remaining time of an armed timer, expirations not yet
// read). Restore: timerfd_create, timerfd_settime with the remaining time
// (made absolute again, on the timer's clock, for TFD_TIMER_ABSTIME), and
// the unread expirations put back with TFD_IOC_SET_TICKS. The time between
// dump and restore does not count. See timerfd_create(2), proc_pid_fdinfo(5).
import { O, SYS, ioctl, syscall } from '@criu-ts/kernel';
import { FdTypes, type TimerfdEntry } from '@criu-ts/images';
import type { FdKind } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';
import { closingOnError, restoreFown } from './open-path.js';

const TFD_TIMER_ABSTIME = 1;
/** _IOW('T', 0, u64): set the expiration count (CONFIG_CHECKPOINT_RESTORE) */
const TFD_IOC_SET_TICKS = 0x40085400;
const NSEC = 1_000_000_000n;

/** struct itimerspec {it_interval, it_value} for the saved timer. */
function itimerspec(tfd: TimerfdEntry): Buffer {
  let sec = tfd.vsec;
  let nsec = tfd.vnsec;
  const armed = sec !== 0n || nsec !== 0n;
  if (armed && (tfd.settime_flags & TFD_TIMER_ABSTIME) !== 0) {
    const now = Buffer.alloc(16);
    syscall(SYS.clock_gettime, tfd.clockid, now);
    const total = now.readBigInt64LE(0) * NSEC + now.readBigInt64LE(8) + sec * NSEC + nsec;
    sec = total / NSEC;
    nsec = total % NSEC;
  }
  const spec = Buffer.alloc(32);
  spec.writeBigInt64LE(tfd.isec, 0);
  spec.writeBigInt64LE(tfd.insec, 8);
  spec.writeBigInt64LE(sec, 16);
  spec.writeBigInt64LE(nsec, 24);
  return spec;
}

export const timerfdKind: FdKind = {
  name: 'timerfd',
  type: FdTypes.TIMERFD,
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
  open(_env, entry) {
    const tfd = entry.tfd!;
    return closingOnError(Number(syscall(SYS.timerfd_create, tfd.clockid, O.CLOEXEC | (tfd.flags & O.NONBLOCK))), (fd) => {
      syscall(SYS.timerfd_settime, fd, tfd.settime_flags, itimerspec(tfd), 0);
      if (tfd.ticks > 0n) {
        const ticks = Buffer.alloc(8);
        ticks.writeBigUInt64LE(tfd.ticks);
        ioctl(fd, TFD_IOC_SET_TICKS, ticks);
      }
      restoreFown(fd, tfd.fown);
    });
  },
};

// pidfds: a stable handle on a task, a way to copy any of its fds into the
// tool without running code in it (pidfd_getfd), and race-free signals.
import { invokeInt } from './syscall.js';
import { SYS } from './sys-numbers.js';

/** A pidfd for `pid` (flags: PIDFD.NONBLOCK, PIDFD.THREAD). Close it with fs.closeSync. */
export function pidfdOpen(pid: number, flags = 0): number {
  return invokeInt(SYS.pidfd_open, [pid, flags], { pid });
}

/** A copy, in this process, of the task's file descriptor `fd` (close-on-exec). */
export function pidfdGetfd(pidfd: number, fd: number, flags = 0): number {
  return invokeInt(SYS.pidfd_getfd, [pidfd, fd, flags], { path: `pidfd ${pidfd} fd ${fd}` });
}

export function pidfdSendSignal(pidfd: number, sig: number): void {
  invokeInt(SYS.pidfd_send_signal, [pidfd, sig, 0, 0], { path: `pidfd ${pidfd}` });
}

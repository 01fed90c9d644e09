// A pidfd of the tool inside a task, for pidfd_getfd(2) of our fds there.
// A task of criu's pid namespace opens it itself (pidfd_open of our pid);
// a task in a pid namespace of its own cannot name us (our pid is none of
// its namespace's: pidfd_open says ESRCH), so the tool hands it one over a
// socket pair the task makes: socketpair(2) in the task, our copy of one
// end by pidfd_getfd, sendmsg of our pidfd as SCM_RIGHTS on it, recvmsg
// in the task on the other end, both ends closed again. Needs 128 bytes
// of the task's memory at `at` for the socket pair and the message header.
// takeOurFd: a copy of one of our fds in the task, either way.
import { closeSync, readFileSync, readlinkSync } from 'node:fs';
import { CriuError, SyscallError } from '@criu-ts/base';
import { SYS, pidfdGetfd, pidfdOpen, readTaskMemory, sendmsgFds, writeTaskMemory } from '@criu-ts/kernel';
import { callsChecked, type Injector } from './injector.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_CMSG_CLOEXEC = 0x40000000;
/** bytes of task memory toolPidfd uses at `at` */
export const TOOL_PIDFD_SCRATCH = 128;

/** Whether task pid sees the tool's pid (it lives in the tool's pid namespace). */
export function seesTool(pid: number): boolean {
  return readlinkSync(`/proc/${pid}/ns/pid`) === readlinkSync('/proc/self/ns/pid');
}

/** A pidfd of the tool in the task (its fd number there), O_CLOEXEC; the caller closes it. */
export function toolPidfd(injector: Injector, at: () => bigint): bigint {
  if (seesTool(injector.pid)) return injector.call('pidfd_open(criu)', SYS.pidfd_open, [process.pid, 0]);
  const ours = pidfdOpen(process.pid);
  try {
    return handOverFd(injector, at, ours, 'criu pidfd');
  } finally {
    closeSync(ours);
  }
}

/**
 * A copy of our fd `ours` in the task (its fd number there, O_CLOEXEC),
 * passed as SCM_RIGHTS over a socket pair the task makes: socketpair(2) in
 * the task, our copy of one end by pidfd_getfd (we may: we trace it), our
 * sendmsg on it, the task's recvmsg on the other end, both ends closed
 * again. Nothing asks the task to reach into us, so it works whatever the
 * task's pid namespace and capabilities (a container's task may not
 * pidfd_getfd from criu: EPERM).
 */
export function handOverFd(injector: Injector, at: () => bigint, ours: number, what: string): bigint {
  const base = at();
  injector.call('socketpair', SYS.socketpair, [AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, base]);
  const pair = Buffer.alloc(8);
  readTaskMemory(injector.pid, base, pair);
  const [near, far] = [pair.readInt32LE(0), pair.readInt32LE(4)];
  try {
    sendToTaskSocket(injector.pid, near, ours);
    // msghdr at +8, iovec at +64, control (CMSG_SPACE(4) = 24) at +80, one data byte at +104
    const msg = Buffer.alloc(TOOL_PIDFD_SCRATCH - 8);
    msg.writeBigUInt64LE(base + 64n, 16);
    msg.writeBigUInt64LE(1n, 24);
    msg.writeBigUInt64LE(base + 80n, 32);
    msg.writeBigUInt64LE(24n, 40);
    msg.writeBigUInt64LE(base + 104n, 56);
    msg.writeBigUInt64LE(1n, 64);
    writeTaskMemory(injector.pid, base + 8n, msg);
    injector.call(`recvmsg(${what})`, SYS.recvmsg, [far, base + 8n, MSG_CMSG_CLOEXEC]);
    const control = Buffer.alloc(24);
    readTaskMemory(injector.pid, base + 80n, control);
    if (control.readBigUInt64LE(0) !== 20n) throw new CriuError(`task ${injector.pid}: no ${what} arrived on the socket pair`);
    return BigInt(control.readInt32LE(16));
  } finally {
    injector.call('close', SYS.close, [near]);
    injector.call('close', SYS.close, [far]);
  }
}

function sendToTaskSocket(pid: number, taskFd: number, ours: number): void {
  const task = pidfdOpen(pid);
  try {
    const end = pidfdGetfd(task, taskFd);
    try {
      sendmsgFds(end, Buffer.from([0]), [ours]);
    } finally {
      closeSync(end);
    }
  } finally {
    closeSync(task);
  }
}

/**
 * A thread's tid as its own pid namespace sees it (NSpid's last number):
 * what a pid argument of a call injected into it must be.
 */
export function nsTidOf(tid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${tid}/status`, 'utf8');
  } catch (error) {
    // a thread gone: its number as we know it (an error naming it is on its way)
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return tid;
    throw error;
  }
  const m = /^NSpid:([\t \d]*)$/m.exec(status);
  const last = m?.[1]?.trim().split(/\s+/).pop();
  return last === undefined || last === '' ? tid : Number(last);
}

/**
 * A copy of our fd `fd` in the task behind `injector` (its number there):
 * pidfd_open of us, pidfd_getfd, close of that pidfd — one trip. A task
 * that cannot do that — in a pid namespace of its own (our pid is none of
 * its namespace's) or without the capabilities to reach into us (EPERM: a
 * container's) — is handed the fd over a socket pair (handOverFd), through
 * 128 bytes of its memory at `at()` (default: a scratch mapping).
 */
export function takeOurFd(injector: Injector, fd: number | bigint, at?: () => bigint): bigint {
  const handOver = (): bigint => handOverFd(injector, at ?? (() => injector.scratch(TOOL_PIDFD_SCRATCH).addr), Number(fd), `fd ${fd}`);
  if (!seesTool(injector.pid)) return handOver();
  try {
    return callsChecked(injector, [
      { name: 'pidfd_open', nr: SYS.pidfd_open, args: [process.pid, 0] },
      { name: `pidfd_getfd(${fd})`, nr: SYS.pidfd_getfd, args: [{ result: 0 }, fd, 0] },
      { name: 'close(pidfd)', nr: SYS.close, args: [{ result: 0 }] },
    ])[1]!;
  } catch (error) {
    if (!(error instanceof SyscallError) || error.code !== 'EPERM') throw error;
    return handOver();
  }
}

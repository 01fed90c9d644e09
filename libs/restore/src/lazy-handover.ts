// restore --lazy-pages (criu(8) "lazy-pages"): private anonymous memory is
// left empty and registered with a userfaultfd made in each task, and the
// uffd goes to the lazy-pages daemon, which fills the pages as the task
// touches them. The daemon listens on lazy-pages.socket in the work dir;
// the hand-over is upstream's (criu/uffd.c): on one SOCK_STREAM
// connection, per task a native int pid, then the uffd in SCM_RIGHTS with
// one dummy byte (a zombie: its pid negated, no fd), and once the tree
// runs the u32 LAZY_PAGES_RESTORE_FINISHED, after which the daemon copies
// the rest in the background. So upstream's daemon serves our restore and
// ours serves upstream's. The uffd is created by an injected userfaultfd(2)
// (a uffd acts on its creator's mm), set up and registered through our copy
// (pidfd_getfd), and closed in the task once handed over. See
// userfaultfd(2), ioctl_userfaultfd(2).
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { CriuError, SyscallError, type Logger } from '@criu-ts/base';
import {
  AF, O, SOCK, SYS, UFFD_FEATURE, UFFDIO_REGISTER_MODE_MISSING, connectUnix, pidfdGetfd, pidfdOpen, sendmsgFds, sendto, signed64, socket, syscall, uffdApi, uffdRegister,
} from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';

export const LAZY_PAGES_SOCKET = 'lazy-pages.socket';
export const LAZY_PAGES_RESTORE_FINISHED = 0x52535446;

/** The events upstream asks for (NEED_UFFD_API_FEATURES), as far as this kernel has them. */
const WANTED = UFFD_FEATURE.EVENT_FORK | UFFD_FEATURE.EVENT_REMAP | UFFD_FEATURE.EVENT_UNMAP | UFFD_FEATURE.EVENT_REMOVE;

export interface LazyChannel {
  socket: number;
  features: bigint;
  log: Logger;
  /** tasks handed over so far */
  tasks: number;
}

/** The features this kernel's userfaultfd offers (a uffd of our own, asked with UFFDIO_API and closed). */
export function kernelUffdFeatures(): bigint {
  const fd = Number(syscall(SYS.userfaultfd, O.CLOEXEC | O.NONBLOCK));
  try {
    return uffdApi(fd, 0n);
  } finally {
    closeSync(fd);
  }
}

/** Connects to the lazy-pages daemon in `workDir` (it must be listening: `criu lazy-pages` is started first). */
export function connectLazyDaemon(workDir: string, log: Logger): LazyChannel {
  const features = kernelUffdFeatures() & WANTED;
  if (features !== WANTED) log.warn(`userfaultfd lacks some of the events lazy restore asks for (has 0x${features.toString(16)}): forks, mremaps or unmaps of lazy memory may go unseen`);
  const path = join(workDir, LAZY_PAGES_SOCKET);
  const fd = socket(AF.UNIX, SOCK.STREAM | SOCK.CLOEXEC);
  try {
    connectUnix(fd, path);
  } catch (error) {
    closeSync(fd);
    if (error instanceof SyscallError) throw new CriuError(`--lazy-pages: cannot reach the lazy-pages daemon at ${path} (start \`criu lazy-pages\` first): ${error.message}`, { code: error.code, cause: error });
    throw error;
  }
  log.info(`lazy-pages: connected to ${path}`);
  return { socket: fd, features, log, tasks: 0 };
}

/** The few bytes of a hand-over message, whole (a stream socket takes 4 bytes in one send or fails). */
function writeFully(fd: number, data: Buffer, where: string): void {
  const sent = sendto(fd, data, 0, null);
  if (sent !== data.length) throw new CriuError(`${where}: sent ${sent} of ${data.length} bytes`, { code: 'EIO' });
}

function int32(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value, 0);
  return buf;
}

/**
 * Gives the task a userfaultfd with `ranges` registered for missing pages
 * and hands it to the daemon; the task keeps no fd of it.
 */
export function handOverUffd(channel: LazyChannel, injector: Injector, ranges: readonly { start: bigint; end: bigint }[]): void {
  const pid = injector.pid;
  const made = signed64(injector.syscall(SYS.userfaultfd, O.CLOEXEC | O.NONBLOCK));
  if (made < 0n) throw new SyscallError({ syscall: 'userfaultfd', errno: Number(-made), pid });
  const taskFd = Number(made);
  let local: number | undefined;
  try {
    const pidfd = pidfdOpen(pid);
    try {
      local = pidfdGetfd(pidfd, taskFd);
    } finally {
      closeSync(pidfd);
    }
    uffdApi(local, channel.features);
    for (const range of ranges) uffdRegister(local, range, UFFDIO_REGISTER_MODE_MISSING);
    writeFully(channel.socket, int32(pid), `lazy-pages socket (pid ${pid})`);
    sendmsgFds(channel.socket, Buffer.from([0]), [local]);
    channel.tasks++;
    channel.log.info(`lazy-pages: pid ${pid}: ${ranges.length} area(s) registered, uffd handed over`);
  } finally {
    if (local !== undefined) closeSync(local);
    injector.syscall(SYS.close, taskFd);
  }
}

/** A zombie has no memory: the daemon is told its pid, negated. */
export function handOverZombie(channel: LazyChannel, pid: number): void {
  writeFully(channel.socket, int32(-pid), `lazy-pages socket (zombie ${pid})`);
}

/** The tree runs: the daemon may copy the rest in the background. */
export function finishLazy(channel: LazyChannel): void {
  const fin = Buffer.alloc(4);
  fin.writeUInt32LE(LAZY_PAGES_RESTORE_FINISHED, 0);
  writeFully(channel.socket, fin, 'lazy-pages socket');
  closeSync(channel.socket);
}

/** A failed restore: the daemon sees the connection end without the finish word. */
export function abandonLazy(channel: LazyChannel): void {
  closeSync(channel.socket);
}

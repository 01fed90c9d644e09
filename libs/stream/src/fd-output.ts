// Synchronous, complete writes to an fd that may be a pipe, a socket or a
// file, blocking or not (a parent may hand us a non-blocking stdout): short
// writes are continued, EAGAIN waits in poll(2) for room. File data moves
// with sendfile(2), in the kernel, when the source allows it; pipe data
// (pages a dumped task vmspliced) with splice(2).
import { readSync, writeSync } from 'node:fs';
import { CriuError, SyscallError, errnoOf } from '@criu-ts/base';
import { SPLICE_F, SYS, trySyscall } from '@criu-ts/kernel';

const POLLOUT = 0x4;
const EAGAIN = 11;
/** sendfile(2) moves at most 0x7ffff000 bytes per call */
const SENDFILE_MAX = 0x7ffff000;
/** the copy buffer when sendfile cannot be used */
const COPY_BUFFER = 1 << 20;

/** Wait until fd can take more bytes (poll with no timeout: a vanished reader wakes it with POLLERR). */
function waitWritable(fd: number): void {
  const pollfd = Buffer.alloc(8);
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLOUT, 4);
  for (;;) {
    const { errno } = trySyscall(SYS.poll, pollfd, 1, -1);
    if (errno === 0) return;
    if (errno !== 4 /* EINTR */) throw new SyscallError({ syscall: 'poll', errno, path: `fd ${fd}` });
  }
}

function writeError(error: unknown, fd: number, where: string): Error {
  if (errnoOf(error) === 'EPIPE') return new CriuError(`${where}: the reader of fd ${fd} went away (EPIPE)`, { code: 'EPIPE', cause: error });
  return error instanceof Error ? error : new Error(String(error));
}

/** Write all of data to fd. `where` names the stream in errors. */
export function writeFully(fd: number, data: Uint8Array, where: string): void {
  let done = 0;
  while (done < data.length) {
    try {
      done += writeSync(fd, data, done, data.length - done);
    } catch (error) {
      if (errnoOf(error) !== 'EAGAIN') throw writeError(error, fd, where);
      waitWritable(fd);
    }
  }
}

/** One sendfile(2) call: bytes moved, 0 at the source's end, or the errno when it cannot be used. */
function sendfileOnce(outFd: number, inFd: number, offset: number, length: number): { moved: number; errno: number } {
  const position = Buffer.alloc(8);
  position.writeBigInt64LE(BigInt(offset), 0);
  const { value, errno } = trySyscall(SYS.sendfile, outFd, inFd, position, Math.min(length, SENDFILE_MAX));
  return { moved: errno === 0 ? Number(value) : 0, errno };
}

function copyThroughBuffer(outFd: number, inFd: number, offset: number, length: number, where: string): number {
  const buffer = Buffer.allocUnsafe(Math.min(COPY_BUFFER, length));
  let done = 0;
  while (done < length) {
    const n = readSync(inFd, buffer, 0, Math.min(buffer.length, length - done), offset + done);
    if (n === 0) break;
    writeFully(outFd, buffer.subarray(0, n), where);
    done += n;
  }
  return done;
}

/**
 * Copy `length` bytes at `offset` of inFd (a file) to outFd: sendfile when
 * possible, else through a bounded buffer. Returns the bytes copied, fewer
 * only if the source ended early.
 */
export function copyFromFd(outFd: number, inFd: number, offset: number, length: number, where: string): number {
  let done = 0;
  while (done < length) {
    const { moved, errno } = sendfileOnce(outFd, inFd, offset + done, length - done);
    if (errno === EAGAIN) {
      waitWritable(outFd);
      continue;
    }
    if (errno === 22 /* EINVAL */ || errno === 38 /* ENOSYS */) return done + copyThroughBuffer(outFd, inFd, offset + done, length - done, where);
    if (errno === 32 /* EPIPE */) throw new CriuError(`${where}: the reader of fd ${outFd} went away (EPIPE)`, { code: 'EPIPE' });
    if (errno !== 0) throw new SyscallError({ syscall: 'sendfile', errno, path: `fd ${inFd} → fd ${outFd}` });
    if (moved === 0) break;
    done += moved;
  }
  return done;
}

/** Move `length` bytes out of pipeFd through a bounded buffer (when splice cannot write to outFd, e.g. O_APPEND). */
function pipeThroughBuffer(outFd: number, pipeFd: number, length: number, where: string): number {
  const buffer = Buffer.allocUnsafe(Math.min(COPY_BUFFER, length));
  let done = 0;
  while (done < length) {
    const n = readSync(pipeFd, buffer, 0, Math.min(buffer.length, length - done), null);
    if (n === 0) break;
    writeFully(outFd, buffer.subarray(0, n), where);
    done += n;
  }
  return done;
}

/**
 * Move exactly `length` bytes from the pipe pipeFd to outFd with splice(2)
 * (the kernel moves the pages), waiting for room on a non-blocking outFd.
 * Returns the bytes moved, fewer only if the pipe ran dry.
 */
export function spliceFromPipe(outFd: number, pipeFd: number, length: number, where: string): number {
  let done = 0;
  while (done < length) {
    const { value, errno } = trySyscall(SYS.splice, pipeFd, 0, outFd, 0, length - done, SPLICE_F.MOVE);
    if (errno === EAGAIN) {
      waitWritable(outFd);
      continue;
    }
    if (errno === 22 /* EINVAL */) return done + pipeThroughBuffer(outFd, pipeFd, length - done, where);
    if (errno === 32 /* EPIPE */) throw new CriuError(`${where}: the reader of fd ${outFd} went away (EPIPE)`, { code: 'EPIPE' });
    if (errno !== 0) throw new SyscallError({ syscall: 'splice', errno, path: `fd ${pipeFd} → fd ${outFd}` });
    if (value === 0n) break;
    done += Number(value);
  }
  return done;
}

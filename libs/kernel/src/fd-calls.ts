// File-descriptor calls Node does not offer: memfd, pipes with flags, dup3,
// fcntl, ioctl, syncfs, and tee/splice to copy pipe data without consuming it.
import { invoke, invokeInt } from './syscall.js';
import { SYS } from './sys-numbers.js';

function cString(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

/** An anonymous memory-backed file (flags: MFD.*); returns its fd. */
export function memfdCreate(name: string, flags: number): number {
  return invokeInt(SYS.memfd_create, [cString(name), flags], { path: name });
}

/** A pipe: [read end, write end] (flags: O.CLOEXEC, O.NONBLOCK, O.DIRECT). */
export function pipe2(flags = 0): [number, number] {
  const fds = Buffer.alloc(8);
  invoke(SYS.pipe2, [fds, flags]);
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

export function dup3(oldFd: number, newFd: number, flags = 0): number {
  return invokeInt(SYS.dup3, [oldFd, newFd, flags], { path: `fd ${oldFd}` });
}

export function fcntl(fd: number, cmd: number, arg: bigint | number | Buffer = 0): number {
  return invokeInt(SYS.fcntl, [fd, cmd, arg], { call: `fcntl(${cmd})`, path: `fd ${fd}` });
}

export function ioctl(fd: number, request: number, arg: bigint | number | Buffer = 0): bigint {
  return invoke(SYS.ioctl, [fd, request, arg], { call: `ioctl(0x${request.toString(16)})`, path: `fd ${fd}` });
}

/** syncfs(2): makes every dirty file of the filesystem holding fd durable (one journal commit). */
export function syncfs(fd: number, what = `fd ${fd}`): void {
  invoke(SYS.syncfs, [fd], { path: what });
}

/** Duplicates up to len bytes from one pipe into another without consuming them. */
export function tee(fdIn: number, fdOut: number, len: number, flags = 0): number {
  return invokeInt(SYS.tee, [fdIn, fdOut, len, flags], { path: `fd ${fdIn}` });
}

function offsetArg(offset: bigint | null): Buffer | number {
  if (offset === null) return 0;
  const buf = Buffer.alloc(8);
  buf.writeBigInt64LE(offset, 0);
  return buf;
}

/** Moves up to len bytes between an fd and a pipe; offsets null = the fd's own position. */
export function splice(fdIn: number, offIn: bigint | null, fdOut: number, offOut: bigint | null, len: number, flags = 0): number {
  return invokeInt(SYS.splice, [fdIn, offsetArg(offIn), fdOut, offsetArg(offOut), len, flags], { path: `fd ${fdIn}` });
}

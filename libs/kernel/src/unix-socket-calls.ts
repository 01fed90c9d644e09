// UNIX-socket calls for the RPC service (unix(7)): socketpair, bind to a
// path, listen, accept4, sendmsg with SCM_RIGHTS, and the peer's
// credentials (SO_PEERCRED). Node's net module has no SOCK_SEQPACKET,
// which CRIU's RPC uses.
import { SyscallError } from '@criu-ts/base';
import { bufferAddresses } from './ffi.js';
import { invoke, invokeInt, trySyscall } from './syscall.js';
import { SYS } from './sys-numbers.js';
import { AF, SCM, SO, SOL, getsockoptBytes } from './socket-calls.js';

/** socketpair(2) of AF_UNIX sockets of `type` (SOCK.SEQPACKET | SOCK.CLOEXEC, ...). */
export function socketpair(type: number): [number, number] {
  const fds = Buffer.alloc(8);
  invoke(SYS.socketpair, [AF.UNIX, type, 0, fds], { call: 'socketpair' });
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

/** struct sockaddr_un for a filesystem path (at most 107 bytes). */
export function unixSockaddr(path: string): Buffer {
  const name = Buffer.from(path);
  if (name.length > 107) throw new SyscallError({ syscall: 'bind', errno: 36, path }); // ENAMETOOLONG
  const addr = Buffer.alloc(2 + name.length + 1);
  addr.writeUInt16LE(AF.UNIX, 0);
  name.copy(addr, 2);
  return addr;
}

export function bindUnix(fd: number, path: string): void {
  const addr = unixSockaddr(path);
  invoke(SYS.bind, [fd, addr, addr.length], { call: 'bind', path });
}

export function connectUnix(fd: number, path: string): void {
  const addr = unixSockaddr(path);
  invoke(SYS.connect, [fd, addr, addr.length], { call: 'connect', path });
}

export function listen(fd: number, backlog: number): void {
  invoke(SYS.listen, [fd, backlog], { call: 'listen', path: `socket fd ${fd}` });
}

/** accept4(2); null when nothing is pending on a non-blocking socket (EAGAIN). */
export function accept4(fd: number, flags: number): number | null {
  const { value, errno } = trySyscall(SYS.accept4, fd, 0, 0, flags);
  if (errno === 11) return null;
  if (errno !== 0) throw new SyscallError({ syscall: 'accept4', errno, path: `socket fd ${fd}` });
  return Number(value);
}

/** sendmsg(2) of one buffer, with `fds` as SCM_RIGHTS when given; returns bytes sent. */
export function sendmsgFds(fd: number, data: Buffer, fds: readonly number[], flags = 0): number {
  const control = Buffer.alloc(fds.length === 0 ? 0 : (16 + 4 * fds.length + 7) & ~7);
  if (fds.length > 0) {
    control.writeBigUInt64LE(BigInt(16 + 4 * fds.length), 0);
    control.writeInt32LE(SOL.SOCKET, 8);
    control.writeInt32LE(SCM.RIGHTS, 12);
    fds.forEach((one, i) => control.writeInt32LE(one, 16 + 4 * i));
  }
  const iov = Buffer.alloc(16);
  const msghdr = Buffer.alloc(56);
  const [dataAddr, controlAddr] = bufferAddresses([data, control]);
  iov.writeBigUInt64LE(dataAddr, 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  const [iovAddr] = bufferAddresses([iov]);
  msghdr.writeBigUInt64LE(iovAddr, 16);
  msghdr.writeBigUInt64LE(1n, 24);
  msghdr.writeBigUInt64LE(controlAddr, 32);
  msghdr.writeBigUInt64LE(BigInt(control.length), 40);
  return invokeInt(SYS.sendmsg, [fd, msghdr, flags], { call: 'sendmsg', path: `socket fd ${fd}` });
}

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** SO_PEERCRED: who is at the other end of a connected UNIX socket. */
export function peerCred(fd: number): PeerCred {
  const cred = getsockoptBytes(fd, SOL.SOCKET, SO.PEERCRED, 12);
  return { pid: cred.readInt32LE(0), uid: cred.readUInt32LE(4), gid: cred.readUInt32LE(8) };
}

const POLLIN = 1;

/** poll(2) one fd for input: true when readable (or hung up) within timeoutMs. */
export function pollIn(fd: number, timeoutMs: number): boolean {
  const pollfd = Buffer.alloc(8);
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLIN, 4);
  const { value, errno } = trySyscall(SYS.poll, pollfd, 1, timeoutMs);
  if (errno === 4) return false; // EINTR: a signal; the caller polls again
  if (errno !== 0) throw new SyscallError({ syscall: 'poll', errno, path: `fd ${fd}` });
  return value > 0n;
}

export const POLL = { IN: 0x1, ERR: 0x8, HUP: 0x10, NVAL: 0x20 } as const;

/**
 * poll(2) many fds for input: the revents of each (0: nothing), in order.
 * An interrupted poll (EINTR) answers all zeros.
 */
export function pollInputs(fds: readonly number[], timeoutMs: number): number[] {
  const pollfds = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    pollfds.writeInt32LE(fd, i * 8);
    pollfds.writeInt16LE(POLLIN, i * 8 + 4);
  });
  const { errno } = trySyscall(SYS.poll, pollfds, fds.length, timeoutMs);
  if (errno === 4) return fds.map(() => 0);
  if (errno !== 0) throw new SyscallError({ syscall: 'poll', errno, path: `${fds.length} fd(s)` });
  return fds.map((_, i) => pollfds.readUInt16LE(i * 8 + 6));
}

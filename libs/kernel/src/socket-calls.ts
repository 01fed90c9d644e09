// Socket calls Node does not offer on raw fds: socket(2), getsockopt(2) and
// setsockopt(2), getsockname/getpeername, sendto(2) and recvmsg(2) with
// control data (for MSG_PEEK at a queue without consuming it), plus the
// constants they take (socket(7), unix(7), ip(7), ipv6(7), tcp(7), udp(7)).
import { SyscallError } from '@criu-ts/base';
import { bufferAddresses } from './ffi.js';
import { invoke, invokeInt, trySyscall } from './syscall.js';
import { SYS } from './sys-numbers.js';

export const AF = { UNSPEC: 0, UNIX: 1, INET: 2, INET6: 10, NETLINK: 16, PACKET: 17 } as const;
export const SOCK = { STREAM: 1, DGRAM: 2, RAW: 3, RDM: 4, SEQPACKET: 5, PACKET: 10, NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;
export const SOL = { IP: 0, SOCKET: 1, TCP: 6, UDP: 17, IPV6: 41, ICMPV6: 58, RAW: 255, NETLINK: 270 } as const;
export const IPPROTO = { IP: 0, ICMP: 1, TCP: 6, UDP: 17, IPV6: 41, ICMPV6: 58, UDPLITE: 136, RAW: 255 } as const;

/** SOL_SOCKET option names (asm-generic/socket.h, as on x86_64) */
export const SO = {
  REUSEADDR: 2, TYPE: 3, DONTROUTE: 5, BROADCAST: 6, SNDBUF: 7, RCVBUF: 8, KEEPALIVE: 9, OOBINLINE: 10,
  NO_CHECK: 11, PRIORITY: 12, LINGER: 13, REUSEPORT: 15, PASSCRED: 16, PEERCRED: 17, RCVLOWAT: 18,
  RCVTIMEO: 20, SNDTIMEO: 21, BINDTODEVICE: 25, GET_FILTER: 26, PEERNAME: 28, ACCEPTCONN: 30,
  PASSSEC: 34, MARK: 36, PROTOCOL: 38, DOMAIN: 39, PEEK_OFF: 42, BUF_LOCK: 72,
} as const;

export const IP_OPT = { TOS: 1, TTL: 2, HDRINCL: 3, PKTINFO: 8, FREEBIND: 15, NODEFRAG: 22 } as const;
/** ICMP_FILTER (SOL_RAW, IPv4 ICMP raw sockets) and ICMPV6_FILTER (SOL_ICMPV6) */
export const ICMP_FILTER = 1;
export const IPV6_OPT = { V6ONLY: 26, HDRINCL: 36, RECVPKTINFO: 49, FREEBIND: 78 } as const;
export const TCP_OPT = {
  NODELAY: 1, MAXSEG: 2, CORK: 3, KEEPIDLE: 4, KEEPINTVL: 5, KEEPCNT: 6, INFO: 11, USER_TIMEOUT: 18,
  REPAIR: 19, REPAIR_QUEUE: 20, QUEUE_SEQ: 21, REPAIR_OPTIONS: 22, TIMESTAMP: 24, REPAIR_WINDOW: 29,
} as const;
/** TCP_REPAIR_QUEUE values (linux/tcp.h) */
export const TCP_QUEUE = { NO: 0, RECV: 1, SEND: 2 } as const;
/** TCP_REPAIR_OPTIONS codes (TCPOPT_*) and tcp_info's tcpi_options bits (TCPI_OPT_*) */
export const TCPOPT = { MAXSEG: 2, WINDOW: 3, SACK_PERM: 4, TIMESTAMP: 8 } as const;
export const TCPI_OPT = { TIMESTAMPS: 1, SACK: 2, WSCALE: 4, ECN: 8 } as const;
/** Socket queue ioctls (linux/sockios.h): bytes readable, bytes in the send queue, bytes not sent yet */
export const SIOC = { INQ: 0x541b, OUTQ: 0x5411, OUTQNSD: 0x894b } as const;
export const UDP_OPT = { CORK: 1 } as const;

/** The kernel's TCP states, which unix and UDP sockets borrow too (include/net/tcp_states.h) */
export const TCP_STATE = {
  ESTABLISHED: 1, SYN_SENT: 2, SYN_RECV: 3, FIN_WAIT1: 4, FIN_WAIT2: 5, TIME_WAIT: 6, CLOSE: 7,
  CLOSE_WAIT: 8, LAST_ACK: 9, LISTEN: 10, CLOSING: 11,
} as const;

/** MSG_CMSG_CLOEXEC: fds received with SCM_RIGHTS get FD_CLOEXEC */
export const MSG = { OOB: 0x1, PEEK: 0x2, CTRUNC: 0x8, TRUNC: 0x20, DONTWAIT: 0x40, CMSG_CLOEXEC: 0x40000000 } as const;
export const SCM = { RIGHTS: 1, CREDENTIALS: 2, SECURITY: 3, PIDFD: 4 } as const;

function site(fd: number, call: string): { call: string; path: string } {
  return { call, path: `socket fd ${fd}` };
}

/** socket(2): a new socket in this process (close it with fs.closeSync). */
export function socket(domain: number, type: number, protocol = 0): number {
  return invokeInt(SYS.socket, [domain, type, protocol]);
}

/**
 * getsockopt(2) into `value` (null: no buffer, length 0); returns the optlen
 * the kernel reported — usually bytes, but a count for SO_GET_FILTER.
 */
export function getsockoptRaw(fd: number, level: number, name: number, value: Buffer | null): number {
  const length = Buffer.alloc(4);
  length.writeUInt32LE(value?.length ?? 0, 0);
  invoke(SYS.getsockopt, [fd, level, name, value ?? 0, length], site(fd, `getsockopt(${level}, ${name})`));
  return length.readUInt32LE(0);
}

/** getsockopt(2) into a buffer of `size` bytes; returns the bytes the kernel filled in. */
export function getsockoptBytes(fd: number, level: number, name: number, size: number): Buffer {
  const value = Buffer.alloc(size);
  return value.subarray(0, Math.min(size, getsockoptRaw(fd, level, name, value)));
}

/** getsockopt(2) of an int option. */
export function getsockoptInt(fd: number, level: number, name: number): number {
  const value = getsockoptBytes(fd, level, name, 4);
  if (value.length !== 4) {
    throw new SyscallError({ syscall: `getsockopt(${level}, ${name}) returned ${value.length} bytes`, errno: 22, path: `socket fd ${fd}` });
  }
  return value.readInt32LE(0);
}

/** setsockopt(2) of an int option. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value, 0);
  invoke(SYS.setsockopt, [fd, level, name, buf, 4], site(fd, `setsockopt(${level}, ${name})`));
}

/** A struct timeval option (SO_SNDTIMEO, SO_RCVTIMEO) as [seconds, microseconds]. */
export function getsockoptTimeval(fd: number, name: number): [bigint, bigint] {
  const value = getsockoptBytes(fd, SOL.SOCKET, name, 16);
  return [value.readBigInt64LE(0), value.readBigInt64LE(8)];
}

const SOCKADDR_MAX = 128;

function sockaddrCall(nr: number, fd: number, call: string): Buffer {
  const addr = Buffer.alloc(SOCKADDR_MAX);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(SOCKADDR_MAX, 0);
  invoke(nr, [fd, addr, length], site(fd, call));
  return addr.subarray(0, Math.min(SOCKADDR_MAX, length.readUInt32LE(0)));
}

/** getsockname(2): the raw sockaddr the socket is bound to. */
export function getsockname(fd: number): Buffer {
  return sockaddrCall(SYS.getsockname, fd, 'getsockname');
}

/** getpeername(2): the raw sockaddr of the peer, or null when not connected (ENOTCONN). */
export function getpeername(fd: number): Buffer | null {
  const addr = Buffer.alloc(SOCKADDR_MAX);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(SOCKADDR_MAX, 0);
  const { errno } = trySyscall(SYS.getpeername, fd, addr, length);
  if (errno === 107) return null; // ENOTCONN
  if (errno !== 0) throw new SyscallError({ syscall: 'getpeername', errno, path: `socket fd ${fd}` });
  return addr.subarray(0, Math.min(SOCKADDR_MAX, length.readUInt32LE(0)));
}

/** sendto(2) of one buffer to a raw sockaddr (null: the connected peer); returns bytes sent. */
export function sendto(fd: number, data: Buffer, flags: number, addr: Buffer | null): number {
  return invokeInt(SYS.sendto, [fd, data, data.length, flags, addr ?? 0, addr?.length ?? 0], site(fd, 'sendto'));
}

export interface ReceivedMessage {
  /** bytes received into the data buffer */
  length: number;
  /** msg_flags (MSG.TRUNC, MSG.CTRUNC, ...) */
  flags: number;
  /** the control data the kernel wrote (cmsg headers and payloads) */
  control: Buffer;
}

/**
 * recvmsg(2) into `data`, with room for `controlSize` bytes of control data.
 * Returns null instead of throwing when nothing is queued (EAGAIN with
 * MSG_DONTWAIT). Fds passed with SCM_RIGHTS land in THIS process: the
 * caller must close them (see controlMessages).
 */
export function recvmsg(fd: number, data: Buffer, flags: number, controlSize = 0): ReceivedMessage | null {
  const control = Buffer.alloc(controlSize);
  const iov = Buffer.alloc(16);
  const msghdr = Buffer.alloc(56);
  const [dataAddr, controlAddr] = bufferAddresses([data, control]);
  iov.writeBigUInt64LE(dataAddr, 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  const [iovAddr] = bufferAddresses([iov]);
  msghdr.writeBigUInt64LE(iovAddr, 16); // msg_iov (msg_name stays NULL)
  msghdr.writeBigUInt64LE(1n, 24); // msg_iovlen
  msghdr.writeBigUInt64LE(controlAddr, 32); // msg_control
  msghdr.writeBigUInt64LE(BigInt(controlSize), 40); // msg_controllen
  const { value, errno } = trySyscall(SYS.recvmsg, fd, msghdr, flags);
  if (errno === 11) return null; // EAGAIN
  if (errno !== 0) throw new SyscallError({ syscall: 'recvmsg', errno, path: `socket fd ${fd}` });
  const controlLength = Number(msghdr.readBigUInt64LE(40));
  return { length: Number(value), flags: msghdr.readInt32LE(48), control: control.subarray(0, controlLength) };
}

export interface ControlMessage {
  level: number;
  type: number;
  data: Buffer;
}

/** Splits control data into cmsgs (struct cmsghdr: u64 len, i32 level, i32 type, then data, 8-aligned). */
export function controlMessages(control: Buffer): ControlMessage[] {
  const messages: ControlMessage[] = [];
  let offset = 0;
  while (offset + 16 <= control.length) {
    const length = Number(control.readBigUInt64LE(offset));
    if (length < 16 || offset + length > control.length) break;
    messages.push({ level: control.readInt32LE(offset + 8), type: control.readInt32LE(offset + 12), data: control.subarray(offset + 16, offset + length) });
    offset += (length + 7) & ~7;
  }
  return messages;
}

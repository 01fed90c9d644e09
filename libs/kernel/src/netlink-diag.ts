// sock_diag(7) over NETLINK_SOCK_DIAG: ask the kernel about every unix or
// inet socket of this network namespace, by family, in one dump request.
// Requests are built and replies parsed here over raw bytes (netlink(7)
// message headers, struct unix_diag_msg / inet_diag_msg, netlink attributes).
import { closeSync } from 'node:fs';
import { SyscallError } from '@criu-ts/base';
import { AF, MSG, SOCK, recvmsg, sendto, socket } from './socket-calls.js';

export const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLMSG = { ERROR: 2, DONE: 3 } as const;
const NLM_F = { REQUEST: 0x1, MULTI: 0x2, DUMP: 0x300 } as const;
const NLMSG_HDRLEN = 16;
const NLA_TYPE_MASK = 0x3fff;

/** udiag_show bits: which attributes a unix_diag reply carries */
export const UDIAG_SHOW = { NAME: 0x1, VFS: 0x2, PEER: 0x4, ICONS: 0x8, RQLEN: 0x10, MEMINFO: 0x20, UID: 0x40 } as const;
const UNIX_DIAG = { NAME: 0, VFS: 1, PEER: 2, ICONS: 3, RQLEN: 4, SHUTDOWN: 6, UID: 7 } as const;
const INET_DIAG = { SHUTDOWN: 8, SKV6ONLY: 11 } as const;

const align4 = (n: number): number => (n + 3) & ~3;

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  payload: Buffer;
}

/** Splits a buffer of netlink messages (struct nlmsghdr + payload, 4-aligned). */
export function parseNetlinkMessages(buf: Buffer): NetlinkMessage[] {
  const messages: NetlinkMessage[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= buf.length) {
    const length = buf.readUInt32LE(offset);
    if (length < NLMSG_HDRLEN || offset + length > buf.length) {
      throw new SyscallError({ syscall: `sock_diag: bad netlink message length ${length} at ${offset}`, errno: 74 });
    }
    messages.push({
      type: buf.readUInt16LE(offset + 4),
      flags: buf.readUInt16LE(offset + 6),
      seq: buf.readUInt32LE(offset + 8),
      payload: buf.subarray(offset + NLMSG_HDRLEN, offset + length),
    });
    offset += align4(length);
  }
  return messages;
}

/** Netlink attributes (struct nlattr: u16 len, u16 type, data, 4-aligned) by type. */
export function parseAttributes(buf: Buffer): Map<number, Buffer> {
  const attrs = new Map<number, Buffer>();
  let offset = 0;
  while (offset + 4 <= buf.length) {
    const length = buf.readUInt16LE(offset);
    if (length < 4 || offset + length > buf.length) break;
    attrs.set(buf.readUInt16LE(offset + 2) & NLA_TYPE_MASK, buf.subarray(offset + 4, offset + length));
    offset += align4(length);
  }
  return attrs;
}

function requestHeader(bodyLength: number, seq: number): Buffer {
  const buf = Buffer.alloc(NLMSG_HDRLEN + bodyLength);
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
  buf.writeUInt16LE(NLM_F.REQUEST | NLM_F.DUMP, 6);
  buf.writeUInt32LE(seq, 8);
  return buf;
}

/** A dump request for every unix socket (struct unix_diag_req), all states. */
export function encodeUnixDiagRequest(show: number, seq = 1): Buffer {
  const buf = requestHeader(24, seq);
  buf.writeUInt8(AF.UNIX, 16);
  buf.writeUInt32LE(0xffffffff, 20); // udiag_states: all
  buf.writeUInt32LE(show >>> 0, 28);
  buf.writeUInt32LE(0xffffffff, 32); // no cookie
  buf.writeUInt32LE(0xffffffff, 36);
  return buf;
}

/** A dump request for the inet sockets of one family and protocol (struct inet_diag_req_v2). */
export function encodeInetDiagRequest(family: number, protocol: number, states: number, seq = 1): Buffer {
  const buf = requestHeader(56, seq);
  buf.writeUInt8(family, 16);
  buf.writeUInt8(protocol, 17);
  buf.writeUInt32LE(states >>> 0, 20);
  buf.writeUInt32LE(0xffffffff, 64); // id.idiag_cookie: none
  buf.writeUInt32LE(0xffffffff, 68);
  return buf;
}

/**
 * A dump request of the families whose request is family, protocol, then
 * zeros (netlink_diag_req, packet_diag_req: every socket, nothing extra).
 */
export function encodeFamilyDiagRequest(family: number, protocol: number, seq = 1): Buffer {
  const buf = requestHeader(20, seq);
  buf.writeUInt8(family, 16);
  buf.writeUInt8(protocol, 17);
  return buf;
}

/** One unix socket as unix_diag reports it. */
export interface UnixDiagSocket {
  ino: number;
  type: number;
  state: number;
  /** bound address: a path, or an abstract name starting with a NUL byte; absent when unbound */
  name?: Buffer;
  /** the inode and device of the bound path's socket file */
  vfs?: { ino: number; dev: number };
  /** inode of the peer socket, absent (or 0) when none */
  peer?: number;
  /** a listener's not yet accepted connections: their inodes */
  icons: number[];
  /** receive queue: bytes (queued connections for a listener) */
  rqueue?: number;
  /** send queue bytes; for a listener, its backlog */
  wqueue?: number;
  /** shutdown mask: 1 receive, 2 send */
  shutdown?: number;
  uid?: number;
}

function u32List(buf: Buffer): number[] {
  const list: number[] = [];
  for (let i = 0; i + 4 <= buf.length; i += 4) list.push(buf.readUInt32LE(i));
  return list;
}

/** Parses a unix_diag reply payload (struct unix_diag_msg + attributes). */
export function parseUnixDiag(payload: Buffer): UnixDiagSocket {
  const attrs = parseAttributes(payload.subarray(16));
  const vfs = attrs.get(UNIX_DIAG.VFS);
  const rqlen = attrs.get(UNIX_DIAG.RQLEN);
  return {
    type: payload.readUInt8(1),
    state: payload.readUInt8(2),
    ino: payload.readUInt32LE(4),
    name: attrs.get(UNIX_DIAG.NAME),
    vfs: vfs === undefined ? undefined : { ino: vfs.readUInt32LE(0), dev: vfs.readUInt32LE(4) },
    peer: attrs.get(UNIX_DIAG.PEER)?.readUInt32LE(0),
    icons: u32List(attrs.get(UNIX_DIAG.ICONS) ?? Buffer.alloc(0)),
    rqueue: rqlen?.readUInt32LE(0),
    wqueue: rqlen?.readUInt32LE(4),
    shutdown: attrs.get(UNIX_DIAG.SHUTDOWN)?.readUInt8(0),
    uid: attrs.get(UNIX_DIAG.UID)?.readUInt32LE(0),
  };
}

/** One TCP/UDP socket as inet_diag reports it. */
export interface InetDiagSocket {
  family: number;
  state: number;
  srcPort: number;
  dstPort: number;
  /** addresses as 16 bytes in network order (IPv4 uses the first 4) */
  src: Buffer;
  dst: Buffer;
  ifindex: number;
  rqueue: number;
  /** send queue; for a TCP listener, its backlog */
  wqueue: number;
  uid: number;
  ino: number;
  shutdown?: number;
  v6only?: boolean;
}

/** Parses an inet_diag reply payload (struct inet_diag_msg + attributes). */
export function parseInetDiag(payload: Buffer): InetDiagSocket {
  const attrs = parseAttributes(payload.subarray(72));
  const v6only = attrs.get(INET_DIAG.SKV6ONLY);
  return {
    family: payload.readUInt8(0),
    state: payload.readUInt8(1),
    srcPort: payload.readUInt16BE(4),
    dstPort: payload.readUInt16BE(6),
    src: Buffer.from(payload.subarray(8, 24)),
    dst: Buffer.from(payload.subarray(24, 40)),
    ifindex: payload.readUInt32LE(40),
    rqueue: payload.readUInt32LE(56),
    wqueue: payload.readUInt32LE(60),
    uid: payload.readUInt32LE(64),
    ino: payload.readUInt32LE(68),
    shutdown: attrs.get(INET_DIAG.SHUTDOWN)?.readUInt8(0),
    v6only: v6only === undefined ? undefined : v6only.readUInt8(0) !== 0,
  };
}

const RECV_BUFFER = 64 * 1024;
const KERNEL_ADDR = Buffer.from([AF.NETLINK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // sockaddr_nl of the kernel

function collectReplies(fd: number, seq: number, what: string): Buffer[] {
  const payloads: Buffer[] = [];
  const data = Buffer.alloc(RECV_BUFFER);
  for (;;) {
    // the kernel queues the next part of a dump as each one is read, so a reply is always waiting
    const got = recvmsg(fd, data, MSG.DONTWAIT);
    if (got === null) throw new SyscallError({ syscall: `${what}: reply ended without NLMSG_DONE`, errno: 11 });
    if ((got.flags & MSG.TRUNC) !== 0) throw new SyscallError({ syscall: `${what}: reply truncated`, errno: 90 });
    for (const message of parseNetlinkMessages(data.subarray(0, got.length))) {
      if (message.seq !== seq) continue;
      if (message.type === NLMSG.DONE) return payloads;
      if (message.type === NLMSG.ERROR) {
        const error = -message.payload.readInt32LE(0);
        if (error === 0) continue;
        throw new SyscallError({ syscall: what, errno: error });
      }
      payloads.push(Buffer.from(message.payload));
    }
  }
}

/** Sends one sock_diag dump request and returns the payloads of its replies. */
export function sockDiagDump(request: Buffer, what = 'sock_diag'): Buffer[] {
  return netlinkDump(NETLINK_SOCK_DIAG, request, what);
}

export const NETLINK_ROUTE = 0;

/**
 * Sends one dump request (nlmsghdr with NLM_F_DUMP, seq at offset 8) on a
 * new netlink socket of `protocol` — in the calling thread's network
 * namespace — and returns the payloads of its replies.
 */
export function netlinkDump(protocol: number, request: Buffer, what: string): Buffer[] {
  const fd = socket(AF.NETLINK, SOCK.RAW | SOCK.CLOEXEC, protocol);
  try {
    sendto(fd, request, 0, KERNEL_ADDR);
    return collectReplies(fd, request.readUInt32LE(8), what);
  } finally {
    closeSync(fd);
  }
}

const UNIX_SHOW_ALL = UDIAG_SHOW.NAME | UDIAG_SHOW.VFS | UDIAG_SHOW.PEER | UDIAG_SHOW.ICONS | UDIAG_SHOW.RQLEN | UDIAG_SHOW.UID;

/** Every unix socket of this process's network namespace. */
export function listUnixSockets(show = UNIX_SHOW_ALL): UnixDiagSocket[] {
  return sockDiagDump(encodeUnixDiagRequest(show), 'sock_diag(AF_UNIX)').map(parseUnixDiag);
}

/** Every socket of one inet family (AF.INET, AF.INET6) and protocol in the given states (bit mask). */
export function listInetSockets(family: number, protocol: number, states = 0xffffffff): InetDiagSocket[] {
  return sockDiagDump(encodeInetDiagRequest(family, protocol, states), `sock_diag(family ${family}, protocol ${protocol})`).map(parseInetDiag);
}

// Probes for sockets: the sock_diag netlink families criu(8) dumps sockets
// through (unix, inet/inet6 tcp+udp, raw, netlink, packet) and TCP repair.
import { closeSync } from 'node:fs';
import { errnoName } from '@criu-ts/base';
import { SYS, syscall, trySyscall } from '@criu-ts/kernel';
import { missing, type Feature, type ProbeResult } from '../feature.js';

const AF = { UNIX: 1, INET: 2, INET6: 10, NETLINK: 16, PACKET: 17 } as const;
const SOCK_STREAM = 1;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST_DUMP = 0x1 | 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SOL_TCP = 6;
const TCP_REPAIR = 19;
const TCP_REPAIR_QUEUE = 20;
const TCP_SEND_QUEUE = 2;

/** The request body of each diag family: family byte, protocol byte, then family-specific fields. */
function diagRequest(family: number, protocol: number): Buffer {
  const inet = family === AF.INET || family === AF.INET6;
  const body = Buffer.alloc(inet ? 56 : family === AF.UNIX ? 24 : 20);
  body.writeUInt8(family, 0);
  body.writeUInt8(protocol, 1);
  if (inet || family === AF.UNIX) body.writeUInt32LE(0xffffffff, 4); // every state; netlink/packet: ino 0 = any
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + body.length, 0);
  header.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
  header.writeUInt16LE(NLM_F_REQUEST_DUMP, 6);
  header.writeUInt32LE(1, 8);
  return Buffer.concat([header, body]);
}

/** 0 when the dump finished cleanly, else the errno the kernel answered. */
function readDump(fd: number): number {
  const buf = Buffer.alloc(32 * 1024);
  for (let batch = 0; batch < 10_000; batch++) {
    const got = trySyscall(SYS.recvfrom, fd, buf, buf.length, 0, 0, 0);
    if (got.errno !== 0) return got.errno;
    for (let at = 0; at + 16 <= Number(got.value); ) {
      const len = buf.readUInt32LE(at);
      const type = buf.readUInt16LE(at + 4);
      // both carry an int: the dump's final status (DONE) or -errno (ERROR)
      if (type === NLMSG_DONE || type === NLMSG_ERROR) return len >= 20 ? Math.max(0, -buf.readInt32LE(at + 16)) : 0;
      at += (len + 3) & ~3;
      if (len < 16) break;
    }
  }
  return 0;
}

/** Asks sock_diag for every socket of (family, protocol); 'ok' if the kernel can answer. */
export function probeDiag(family: number, protocol: number, what: string): ProbeResult {
  const fd = Number(syscall(SYS.socket, AF.NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  try {
    const timeout = Buffer.alloc(16);
    timeout.writeBigInt64LE(5n, 0);
    syscall(SYS.setsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, timeout, timeout.length);
    const nladdr = Buffer.alloc(12);
    nladdr.writeUInt16LE(AF.NETLINK, 0);
    const request = diagRequest(family, protocol);
    syscall(SYS.sendto, fd, request, request.length, 0, nladdr, nladdr.length);
    const errno = readDump(fd);
    return errno === 0 ? 'ok' : missing(`sock_diag cannot dump ${what} sockets: ${errnoName(errno)}`);
  } finally {
    closeSync(fd);
  }
}

function allOk(results: readonly ProbeResult[]): ProbeResult {
  return results.find((r) => r !== 'ok') ?? 'ok';
}

export const sockDiag: Feature = {
  name: 'sock_diag',
  category: 1,
  neededFor: 'dumping unix, TCP and UDP sockets (NETLINK_SOCK_DIAG)',
  probe: () => allOk([
    probeDiag(AF.UNIX, 0, 'unix'),
    probeDiag(AF.INET, 6, 'TCP/IPv4'),
    probeDiag(AF.INET6, 6, 'TCP/IPv6'),
    probeDiag(AF.INET, 17, 'UDP/IPv4'),
    probeDiag(AF.INET6, 17, 'UDP/IPv6'),
  ]),
};

export const sockDiagNetlink: Feature = {
  name: 'sock_diag_netlink',
  category: 2,
  neededFor: 'dumping netlink sockets',
  probe: () => probeDiag(AF.NETLINK, 255, 'netlink'),
};

export const sockDiagPacket: Feature = {
  name: 'sock_diag_packet',
  category: 2,
  neededFor: 'dumping packet sockets',
  probe: () => probeDiag(AF.PACKET, 0, 'packet'),
};

export const netDiagRaw: Feature = {
  name: 'net_diag_raw',
  category: 2,
  neededFor: 'dumping raw IP sockets',
  probe: () => allOk([probeDiag(AF.INET, 255, 'raw IPv4'), probeDiag(AF.INET6, 255, 'raw IPv6')]),
};

export const tcpRepair: Feature = {
  name: 'tcp_repair',
  category: 2,
  neededFor: 'dumping and restoring established TCP connections (--tcp-established)',
  probe: () => {
    const fd = Number(syscall(SYS.socket, AF.INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    try {
      const int = (v: number): Buffer => Buffer.from(Int32Array.of(v).buffer);
      const on = trySyscall(SYS.setsockopt, fd, SOL_TCP, TCP_REPAIR, int(1), 4);
      if (on.errno !== 0) return missing(`TCP_REPAIR on: ${errnoName(on.errno)}`);
      const queue = trySyscall(SYS.setsockopt, fd, SOL_TCP, TCP_REPAIR_QUEUE, int(TCP_SEND_QUEUE), 4);
      syscall(SYS.setsockopt, fd, SOL_TCP, TCP_REPAIR, int(0), 4);
      return queue.errno === 0 ? 'ok' : missing(`TCP_REPAIR_QUEUE: ${errnoName(queue.errno)}`);
    } finally {
      closeSync(fd);
    }
  },
};

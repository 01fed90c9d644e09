// Probes for sockets: the sock_diag netlink families criu(8) dumps sockets
// through (unix, inet/inet6 tcp+udp, raw, netlink, packet) and TCP repair.
import { closeSync } from 'node:fs';
import { SyscallError, errnoName } from '@criu-ts/base';
import {
  AF, SOCK, SOL, SYS, encodeFamilyDiagRequest, encodeInetDiagRequest, encodeUnixDiagRequest, sockDiagDump, syscall, trySyscall,
} from '@criu-ts/kernel';
import { missing, type Feature, type ProbeResult } from '../feature.js';

/** TCP_REPAIR options (linux/tcp.h), which the kernel library's tables do not name */
const TCP_REPAIR = 19;
const TCP_REPAIR_QUEUE = 20;
const TCP_SEND_QUEUE = 2;

function diagRequest(family: number, protocol: number): Buffer {
  if (family === AF.UNIX) return encodeUnixDiagRequest(0);
  if (family === AF.INET || family === AF.INET6) return encodeInetDiagRequest(family, protocol, 0xffffffff);
  return encodeFamilyDiagRequest(family, protocol);
}

/** Asks sock_diag for every socket of (family, protocol); 'ok' if the kernel can answer. */
export function probeDiag(family: number, protocol: number, what: string): ProbeResult {
  try {
    sockDiagDump(diagRequest(family, protocol), `sock_diag(${what})`);
    return 'ok';
  } catch (error) {
    if (!(error instanceof SyscallError)) throw error;
    return missing(`sock_diag cannot dump ${what} sockets: ${errnoName(error.errno)}`);
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
    const fd = Number(syscall(SYS.socket, AF.INET, SOCK.STREAM | SOCK.CLOEXEC, 0));
    try {
      const int = (v: number): Buffer => Buffer.from(Int32Array.of(v).buffer);
      const on = trySyscall(SYS.setsockopt, fd, SOL.TCP, TCP_REPAIR, int(1), 4);
      if (on.errno !== 0) return missing(`TCP_REPAIR on: ${errnoName(on.errno)}`);
      const queue = trySyscall(SYS.setsockopt, fd, SOL.TCP, TCP_REPAIR_QUEUE, int(TCP_SEND_QUEUE), 4);
      syscall(SYS.setsockopt, fd, SOL.TCP, TCP_REPAIR, int(0), 4);
      return queue.errno === 0 ? 'ok' : missing(`TCP_REPAIR_QUEUE: ${errnoName(queue.errno)}`);
    } finally {
      closeSync(fd);
    }
  },
};

/** A getsockopt/setsockopt round trip on a fresh socket of (family, type). */
function sockoptProbe(family: number, level: number, option: number, what: string): ProbeResult {
  const fd = Number(syscall(SYS.socket, family, SOCK.STREAM | SOCK.CLOEXEC, 0));
  try {
    const value = Buffer.from(Int32Array.of(1).buffer);
    const set = trySyscall(SYS.setsockopt, fd, level, option, value, 4);
    if (set.errno !== 0) return missing(`setsockopt(${what}): ${errnoName(set.errno)}`);
    const len = Buffer.from(Int32Array.of(4).buffer);
    const got = trySyscall(SYS.getsockopt, fd, level, option, value, len);
    return got.errno === 0 ? 'ok' : missing(`getsockopt(${what}): ${errnoName(got.errno)}`);
  } finally {
    closeSync(fd);
  }
}

/** SO_BUF_LOCK (Linux 5.14+) */
const SO_BUF_LOCK = 72;
/** IPV6_FREEBIND (Linux 4.15+) */
const IPV6_FREEBIND = 78;
const SOL_IPV6 = 41;

export const sockoptBufLock: Feature = {
  name: 'sockopt_buf_lock',
  category: 2,
  neededFor: 'dumping and restoring locked socket buffer sizes (SO_BUF_LOCK)',
  probe: () => sockoptProbe(AF.INET, SOL.SOCKET, SO_BUF_LOCK, 'SO_BUF_LOCK'),
};

export const ipv6Freebind: Feature = {
  name: 'ipv6_freebind',
  category: 2,
  neededFor: 'dumping and restoring IPv6 sockets bound to non-local addresses (IPV6_FREEBIND)',
  probe: () => sockoptProbe(AF.INET6, SOL_IPV6, IPV6_FREEBIND, 'IPV6_FREEBIND'),
};

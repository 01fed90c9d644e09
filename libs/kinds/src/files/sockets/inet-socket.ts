// AF_INET / AF_INET6 TCP, UDP and raw sockets → files.img file_entry {type
// INETSK, isk: inet_sk_entry}, as upstream CRIU 4.x writes them (criu(8),
// ip(7), ipv6(7), tcp(7), udp(7)). Saved: family, type, protocol, state,
// bound and connected addresses and ports, a listener's backlog, file flags
// and owner, socket options, IPV6_V6ONLY, IP_FREEBIND, the device a
// link-local IPv6 address is scoped to, shutdown. Sockets sock_diag does not
// list (unbound, bound but neither listening nor connected, or a closed
// connection) are read with getsockname and SO_PEERNAME, state CLOSE, and
// a TCP socket's shutdown with poll, as upstream does.
// TCP connections (established, half-closed, SYN_SENT) with
// --tcp-established: locked and saved with TCP repair (tcp-dump.ts); with
// --tcp-close saved to be restored closed; else refused.
// Not saved, as upstream: the receive queue of a UDP socket (dropped, with a
// warning; the data stays in the live socket), a listener's connections not
// accepted yet with --skip-in-flight (else refused). Raw and ICMP ping
// sockets are read from themselves (rawFacts), raw ones with their raw
// options (rawOpts). Refused:
// corked UDP, other protocols. Restore: inet-restore.ts.
import { CriuError, SyscallError, UnsupportedError } from '@criu-ts/base';
import {
  AF, ICMP_FILTER, IPPROTO, IPV6_OPT, IP_OPT, SO, SOCK, SOL, TCP_OPT, TCP_STATE, UDP_OPT,
  SYS, getsockname, getsockoptBytes, getsockoptInt, syscall, type InetDiagSocket,
} from '@criu-ts/kernel';
import { FdTypes, type FileEntry, type InetSkEntry } from '@criu-ts/images';
import type { FdDumpEnv, FdKind } from '../fd-kind.js';
import { S_IF, fileType, type OpenFd } from '../open-fd.js';
import { addressWords, endpointText, needsScopeId, parseInetSockaddr, type InetEndpoint } from './inet-addr.js';
import { inOtherNetNs, netNsId } from './socket-ns.js';
import { boundDevice, readSocketOpts, type SocketIdentity } from './socket-opts.js';
import { socketTable } from './socket-table.js';
import { openInetSocket } from './inet-restore.js';
import { dumpTcpConnection, readTcpOpts } from './tcp-dump.js';
import { REPAIRABLE_STATES } from './tcp-repair.js';

const POLL = { HUP: 0x10, RDHUP: 0x2000 } as const;
/** sk_shutdown's READ (sk-opts.proto) */
const SK_SHUTDOWN_READ = 1;

export const ESTABLISHED_TCP = 'established TCP connection without --tcp-established';

/** The facts the entry needs, from sock_diag or (not listed there) from the socket itself. */
type InetFacts = Pick<InetDiagSocket, 'state' | 'srcPort' | 'dstPort' | 'src' | 'dst' | 'rqueue' | 'wqueue' | 'shutdown'>;

function refuse(fd: OpenFd, kind: string, hint?: string): never {
  throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind, hint });
}

function isInetSocket(fd: OpenFd): boolean {
  if (fd.target.kind !== 'socket' && fileType(fd.stat) !== S_IF.SOCK) return false;
  const family = getsockoptInt(fd.local, SOL.SOCKET, SO.DOMAIN);
  return family === AF.INET || family === AF.INET6;
}

function identify(fd: OpenFd): SocketIdentity {
  const id = {
    family: getsockoptInt(fd.local, SOL.SOCKET, SO.DOMAIN),
    type: getsockoptInt(fd.local, SOL.SOCKET, SO.TYPE),
    protocol: getsockoptInt(fd.local, SOL.SOCKET, SO.PROTOCOL),
  };
  const supported = id.type === SOCK.RAW || isPing(id) || (id.type === SOCK.STREAM && id.protocol === IPPROTO.TCP) || (id.type === SOCK.DGRAM && (id.protocol === IPPROTO.UDP || id.protocol === IPPROTO.UDPLITE));
  if (!supported) refuse(fd, `inet socket of type ${id.type}, protocol ${id.protocol}`);
  return id;
}

/**
 * SO_PEERNAME: the peer's address, which (unlike getpeername) a closed TCP
 * socket still reports; undefined if none. The buffer must be exactly the
 * family's sockaddr (longer: EINVAL).
 */
function peerName(fd: number, family: number): InetEndpoint | undefined {
  try {
    return parseInetSockaddr(getsockoptBytes(fd, SOL.SOCKET, SO.PEERNAME, family === AF.INET6 ? 28 : 16));
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'ENOTCONN') return undefined;
    throw error;
  }
}

/** A closed TCP socket's shutdown, seen as upstream sees it: poll(2) says POLLHUP, and POLLRDHUP if reading was shut. */
function unlistedShutdown(fd: number): number {
  const pollfd = Buffer.alloc(8);
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLL.HUP | POLL.RDHUP, 4);
  syscall(SYS.poll, pollfd, 1, 0);
  const revents = pollfd.readInt16LE(6);
  return (revents & POLL.HUP) !== 0 && (revents & POLL.RDHUP) !== 0 ? SK_SHUTDOWN_READ : 0;
}

/** An ICMP "ping" socket (SOCK_DGRAM with IPPROTO_ICMP / ICMPV6): sock_diag does not list it either. */
function isPing(id: SocketIdentity): boolean {
  return id.type === SOCK.DGRAM && (id.protocol === IPPROTO.ICMP || id.protocol === IPPROTO.ICMPV6);
}

/** Sockets read from themselves rather than from sock_diag: raw and ping sockets. */
const readFromItself = (id: SocketIdentity): boolean => id.type === SOCK.RAW || isPing(id);

/**
 * A raw or ping socket, from itself: its addresses (the port is its protocol, as
 * the kernel reports it; a ping socket's, its ICMP id) and, if it was
 * connected, ESTABLISHED, as sock_diag's raw listing would say.
 */
function rawFacts(fd: OpenFd, id: SocketIdentity): InetFacts {
  const src = parseInetSockaddr(getsockname(fd.local));
  const dst = peerName(fd.local, id.family);
  return {
    state: dst === undefined ? TCP_STATE.CLOSE : TCP_STATE.ESTABLISHED,
    srcPort: src?.port ?? 0,
    dstPort: dst?.port ?? 0,
    src: src?.address ?? Buffer.alloc(16),
    dst: dst?.address ?? Buffer.alloc(16),
    rqueue: 0,
    wqueue: 0,
    shutdown: 0,
  };
}

/** An unlisted socket, as upstream reads it: its own addresses, state CLOSE. */
function unlistedFacts(env: FdDumpEnv, fd: OpenFd, id: SocketIdentity): InetFacts {
  const src = parseInetSockaddr(getsockname(fd.local));
  const dst = peerName(fd.local, id.family);
  // upstream keeps tcpi_backoff (TCP_INFO byte 4) as the backlog of an unlisted TCP socket
  const tcpInfo = id.type === SOCK.STREAM && id.protocol === IPPROTO.TCP ? getsockoptBytes(fd.local, SOL.TCP, TCP_OPT.INFO, 8) : undefined;
  if (tcpInfo !== undefined && tcpInfo.readUInt8(0) !== TCP_STATE.CLOSE) {
    if (inOtherNetNs(env.ctx, fd.local)) refuse(fd, "TCP socket of a network namespace other than the tree's (only the root's network namespace is dumped)");
    throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: TCP socket not listed by sock_diag is in state ${tcpInfo.readUInt8(0)}, not closed`, { code: 'EINVAL' });
  }
  return {
    state: TCP_STATE.CLOSE,
    srcPort: src?.port ?? 0,
    dstPort: dst?.port ?? 0,
    src: src?.address ?? Buffer.alloc(16),
    dst: dst?.address ?? Buffer.alloc(16),
    rqueue: 0,
    wqueue: tcpInfo?.readUInt8(4) ?? 0,
    shutdown: tcpInfo === undefined ? 0 : unlistedShutdown(fd.local),
  };
}

function checkDumpable(env: FdDumpEnv, fd: OpenFd, id: SocketIdentity, facts: InetFacts): void {
  if (readFromItself(id)) return;
  if (id.type === SOCK.DGRAM) {
    if (getsockoptInt(fd.local, SOL.UDP, UDP_OPT.CORK) !== 0 || facts.wqueue !== 0) refuse(fd, 'corked UDP socket');
    if (facts.rqueue !== 0) env.log.warn(`pid ${fd.pid} fd ${fd.fd}: the read queue of the UDP socket (${facts.rqueue} bytes) is not saved (as upstream CRIU)`);
    return;
  }
  if (facts.state === TCP_STATE.LISTEN) {
    if (facts.rqueue === 0) return;
    if (env.ctx.options.skipInFlight !== true) refuse(fd, `TCP listener with ${facts.rqueue} connections not accepted yet`, 'use --skip-in-flight to drop them');
    env.log.info(`pid ${fd.pid} fd ${fd.fd}: skipping ${facts.rqueue} in-flight connection(s) of the listener (--skip-in-flight)`);
    return;
  }
  if (facts.state === TCP_STATE.CLOSE) return;
  if (!REPAIRABLE_STATES.has(facts.state)) refuse(fd, `TCP socket in state ${facts.state}`);
  if (env.ctx.options.tcpEstablished !== true && env.ctx.options.tcpClose !== true) refuse(fd, ESTABLISHED_TCP, 'use --tcp-established to dump it (or --tcp-close to restore it closed)');
}

function ipv6Fields(fd: OpenFd, facts: InetFacts): Pick<InetSkEntry, 'v6only' | 'ifname'> {
  const v6only = getsockoptInt(fd.local, SOL.IPV6, IPV6_OPT.V6ONLY) !== 0;
  if (facts.srcPort === 0 || !needsScopeId(facts.src)) return { v6only };
  const ifname = boundDevice(fd.local);
  if (ifname === undefined) throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: link-local address without a bound device cannot be bound again`, { code: 'EINVAL' });
  return { v6only, ifname };
}

/**
 * ip_opts_raw_entry of a raw socket, as upstream fills it: hdrincl (and,
 * IPv4, nodefrag) when set, the ICMP filter of an ICMP (IPv4: 1 word) or
 * ICMPv6 (8 words) socket.
 */
function rawOpts(fd: OpenFd, id: SocketIdentity): NonNullable<NonNullable<InetSkEntry['ip_opts']>['raw']> {
  const v6 = id.family === AF.INET6;
  const raw: NonNullable<NonNullable<InetSkEntry['ip_opts']>['raw']> = {};
  if (getsockoptInt(fd.local, v6 ? SOL.IPV6 : SOL.IP, v6 ? IPV6_OPT.HDRINCL : IP_OPT.HDRINCL) !== 0) raw.hdrincl = true;
  if (!v6 && getsockoptInt(fd.local, SOL.IP, IP_OPT.NODEFRAG) !== 0) raw.nodefrag = true;
  const filterWords = !v6 && id.protocol === IPPROTO.ICMP ? 1 : v6 && id.protocol === IPPROTO.ICMPV6 ? 8 : 0;
  if (filterWords > 0) {
    const filter = getsockoptBytes(fd.local, v6 ? SOL.ICMPV6 : SOL.RAW, ICMP_FILTER, filterWords * 4);
    raw.icmpv_filter = Array.from({ length: filterWords }, (_, i) => filter.readUInt32LE(i * 4));
  }
  return raw;
}

/**
 * ip_opts_entry as upstream 4.x fills it: freebind, and pktinfo
 * (IP_PKTINFO / IPV6_RECVPKTINFO); for IPv4 also tos and ttl; each only
 * when set (non-zero). An IPv6 socket's freebind is IPV6_FREEBIND where the
 * kernel has it (5.x), else IP_FREEBIND, the same flag.
 */
function ipOpts(fd: OpenFd, id: SocketIdentity): NonNullable<InetSkEntry['ip_opts']> {
  const get = (level: number, name: number): number => getsockoptInt(fd.local, level, name);
  const v6 = id.family === AF.INET6;
  let freebind: number;
  if (!v6) freebind = get(SOL.IP, IP_OPT.FREEBIND);
  else {
    try {
      freebind = get(SOL.IPV6, IPV6_OPT.FREEBIND);
    } catch (error) {
      if (!(error instanceof SyscallError && error.code === 'ENOPROTOOPT')) throw error;
      freebind = get(SOL.IP, IP_OPT.FREEBIND);
    }
  }
  const opts: NonNullable<InetSkEntry['ip_opts']> = {};
  if (id.type === SOCK.RAW) opts.raw = rawOpts(fd, id);
  if (freebind !== 0) opts.freebind = true;
  if ((v6 ? get(SOL.IPV6, IPV6_OPT.RECVPKTINFO) : get(SOL.IP, IP_OPT.PKTINFO)) !== 0) opts.pktinfo = true;
  if (!v6) {
    const tos = get(SOL.IP, IP_OPT.TOS);
    const ttl = get(SOL.IP, IP_OPT.TTL);
    if (tos !== 0) opts.tos = tos;
    if (ttl !== 0) opts.ttl = ttl;
  }
  return opts;
}

function dumpInetSocket(env: FdDumpEnv, fd: OpenFd, fileId: number): FileEntry {
  const id = identify(fd);
  const listed = readFromItself(id) ? undefined : socketTable(env.ctx).inet(id.family, id.protocol).get(Number(fd.stat.ino));
  const facts: InetFacts = readFromItself(id) ? rawFacts(fd, id) : listed ?? unlistedFacts(env, fd, id);
  checkDumpable(env, fd, id, facts);
  const isk: InetSkEntry = {
    id: fileId,
    ino: Number(fd.stat.ino),
    family: id.family,
    type: id.type,
    proto: id.protocol,
    state: facts.state,
    src_port: facts.srcPort,
    dst_port: facts.dstPort,
    flags: fd.flags,
    backlog: facts.wqueue,
    src_addr: addressWords(id.family, facts.src),
    dst_addr: addressWords(id.family, facts.dst),
    fown: fd.fown,
    opts: readSocketOpts(fd.local, id),
    ...(id.family === AF.INET6 ? ipv6Fields(fd, facts) : {}),
    ip_opts: ipOpts(fd, id),
    ns_id: netNsId(env.ctx, fd.pid),
  };
  if ((facts.shutdown ?? 0) !== 0) isk.shutdown = facts.shutdown as InetSkEntry['shutdown'];
  if (id.type === SOCK.STREAM && id.protocol === IPPROTO.TCP) {
    isk.tcp_opts = readTcpOpts(fd.local);
    if (facts.dstPort !== 0) dumpTcpConnection(env, fd, isk, { family: id.family, src: facts.src, srcPort: facts.srcPort, dst: facts.dst, dstPort: facts.dstPort });
  }
  const src = endpointText(id.family, { port: facts.srcPort, address: facts.src });
  env.log.info(`fd ${fd.fd}: inet socket ino ${isk.ino} family ${id.family} proto ${id.protocol} state ${facts.state} ${src}`);
  return { type: FdTypes.INETSK, id: fileId, isk };
}

export const inetSocketKind: FdKind = {
  name: 'inetsk',
  matches: isInetSocket,
  dump: dumpInetSocket,
  type: FdTypes.INETSK,
  open: openInetSocket,
};

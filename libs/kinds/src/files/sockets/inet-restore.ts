// Restore half of inet-socket.ts: an inet_sk_entry made again in the tool
// (ip(7), ipv6(7), tcp(7), udp(7)), as upstream CRIU 4.x does: socket of
// the saved family/type/protocol, IPV6_V6ONLY, SO_REUSEADDR and
// SO_REUSEPORT on while the sockets sharing a port are bound (their saved
// values go back once every socket of the port is made), IP_FREEBIND
// around an IPv6 bind (a tentative address), bind to the saved address and
// port (a link-local IPv6 address scoped to the saved device), listen with
// the saved backlog, connect a UDP socket that was connected, then file
// flags and owner, IP options, socket options, a UDP shutdown. A port in
// use is an error naming address:port. TCP connections: with
// --tcp-established rebuilt with TCP repair (tcp-restore.ts), left in
// repair mode until the tree is let go (tcp-repaired.ts); with --tcp-close
// a fresh socket, shut down. Raw sockets: bound to their address,
// connected if they were, their ICMP filter, nodefrag and hdrincl set.
// Refused: other protocols.
import { closeSync, readFileSync } from 'node:fs';
import { CriuError, SyscallError } from '@criu-ts/base';
import { AF, ICMP_FILTER, IPPROTO, IPV6_OPT, IP_OPT, SO, SOCK, SOL, TCP_STATE, socket } from '@criu-ts/kernel';
import type { FileEntry, InetSkEntry } from '@criu-ts/images';
import type { FdRestoreEnv } from '../fd-kind.js';
import { endpointText } from './inet-addr.js';
import { inetPorts, releasePort } from './inet-ports.js';
import { restoreFileParams, restoreSocketOpts, restoreTcpOpts } from './socket-opts-restore.js';
import { restoreTcpConnection } from './tcp-restore.js';
import { checkConnectionOptions, keepRepaired } from './tcp-repaired.js';
import { addressBytes, bindSocket, connectSocket, inetSockaddr, listenSocket, setsockoptBuffer, setsockoptValue, shutdownSocket } from './socket-restore-calls.js';

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { [IPPROTO.TCP]: 'TCP', [IPPROTO.UDP]: 'UDP', [IPPROTO.UDPLITE]: 'UDP-Lite', [IPPROTO.ICMP]: 'ICMP', [IPPROTO.ICMPV6]: 'ICMPv6' };

const srcWords = (e: InetSkEntry): number[] => e.src_addr ?? [];
const dstWords = (e: InetSkEntry): number[] => e.dst_addr ?? [];

/** "TCP socket 127.0.0.1:8080 (id 7 ino 1234)" */
export function describeInet(e: InetSkEntry): string {
  const src = endpointText(e.family, { port: e.src_port, address: addressBytes(srcWords(e)) });
  const kind = e.type === SOCK.RAW ? `raw (protocol ${e.proto})` : PROTOCOL_NAMES[e.proto] ?? `protocol ${e.proto}`;
  return `${kind} socket ${src} (id ${e.id} ino ${e.ino})`;
}

function refuse(entry: InetSkEntry, why: string, code = 'EUNSUPPORTED'): CriuError {
  return new CriuError(`${describeInet(entry)}: ${why}`, { code });
}

function checkRestorable(entry: InetSkEntry): void {
  if (entry.family !== AF.INET && entry.family !== AF.INET6) throw refuse(entry, `family ${entry.family} is not inet`, 'EINVAL');
  const words = entry.family === AF.INET ? 1 : 4;
  const sizesOk = entry.family === AF.INET ? srcWords(entry).length >= 1 && dstWords(entry).length >= 1 : srcWords(entry).length === 4 && dstWords(entry).length === 4;
  if (!sizesOk) throw refuse(entry, `address of ${srcWords(entry).length}/${dstWords(entry).length} words, expected ${words}`, 'EINVAL');
  const tcp = entry.type === SOCK.STREAM && entry.proto === IPPROTO.TCP;
  const udp = entry.type === SOCK.DGRAM && (entry.proto === IPPROTO.UDP || entry.proto === IPPROTO.UDPLITE);
  const ping = entry.type === SOCK.DGRAM && (entry.proto === IPPROTO.ICMP || entry.proto === IPPROTO.ICMPV6);
  if (!tcp && !udp && !ping && entry.type !== SOCK.RAW) throw refuse(entry, `type ${entry.type} protocol ${entry.proto} is not supported`);
  if (tcp && entry.dst_port === 0 && entry.state !== TCP_STATE.LISTEN && entry.state !== TCP_STATE.CLOSE) throw refuse(entry, `TCP state ${entry.state} is not supported`);
}

const isTcp = (e: InetSkEntry): boolean => e.type === SOCK.STREAM && e.proto === IPPROTO.TCP;
const isConnection = (e: InetSkEntry): boolean => isTcp(e) && e.dst_port !== 0;

/** IP_FREEBIND, or on an IPv6 socket IPV6_FREEBIND (the same flag; a raw IPv6 socket knows only that name). */
function setFreebind(entry: InetSkEntry, fd: number, on: boolean, what: string): void {
  if (entry.family === AF.INET6) setsockoptValue(fd, SOL.IPV6, IPV6_OPT.FREEBIND, on ? 1 : 0, what);
  else setsockoptValue(fd, SOL.IP, IP_OPT.FREEBIND, on ? 1 : 0, what);
}

/** if_nametoindex for a link-local address's scope, from sysfs. */
export function interfaceIndex(entry: InetSkEntry, name: string): number {
  if (!/^[^/\0]{1,15}$/.test(name) || name === '.' || name === '..') throw refuse(entry, `bad interface name ${JSON.stringify(name)}`, 'EINVAL');
  try {
    return Number.parseInt(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'), 10);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw refuse(entry, `interface ${name} (its bound device) does not exist here`, 'ENODEV');
    throw error;
  }
}

function bindInet(entry: InetSkEntry, fd: number, what: string): void {
  const scope = entry.family === AF.INET6 && entry.ifname !== undefined ? interfaceIndex(entry, entry.ifname) : 0;
  const v6 = entry.family === AF.INET6;
  if (v6) setFreebind(entry, fd, true, what);
  try {
    bindSocket(fd, inetSockaddr(entry.family, entry.src_port, srcWords(entry), scope), what);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'EADDRINUSE') {
      const src = endpointText(entry.family, { port: entry.src_port, address: addressBytes(srcWords(entry)) });
      throw new CriuError(`${what}: address ${src} is already in use on this system`, { code: 'EADDRINUSE', cause: error, hint: 'stop whatever holds that port, then restore again' });
    }
    throw error;
  }
  if (v6 && entry.ip_opts?.freebind !== true) setFreebind(entry, fd, false, what);
}

/** IP-level options of ip_opts_entry (freebind; CRIU 4.x's pktinfo, tos, ttl). */
function restoreIpOpts(env: FdRestoreEnv, entry: InetSkEntry, fd: number, what: string): void {
  const ip = entry.ip_opts;
  if (ip === undefined) return;
  if (ip.freebind === true) setFreebind(entry, fd, true, what);
  if (ip.pktinfo === true) {
    if (entry.family === AF.INET) setsockoptValue(fd, SOL.IP, IP_OPT.PKTINFO, 1, what);
    else setsockoptValue(fd, SOL.IPV6, IPV6_OPT.RECVPKTINFO, 1, what);
  }
  if (entry.family !== AF.INET) {
    if (ip.tos !== undefined || ip.ttl !== undefined) env.log.warn(`${what}: tos/ttl of an IPv6 socket not restored`);
    return;
  }
  if (ip.tos !== undefined) setsockoptValue(fd, SOL.IP, IP_OPT.TOS, ip.tos, what);
  if (ip.ttl !== undefined) setsockoptValue(fd, SOL.IP, IP_OPT.TTL, ip.ttl, what);
}

/** A raw socket's options (ip_opts_raw_entry): ICMP filter, nodefrag, hdrincl, as upstream sets them. */
function restoreRawOpts(entry: InetSkEntry, fd: number, what: string): void {
  const raw = entry.ip_opts?.raw;
  if (raw === undefined || entry.type !== SOCK.RAW) return;
  const v6 = entry.family === AF.INET6;
  const filter = raw.icmpv_filter ?? [];
  if (filter.length > 0 && (entry.proto === IPPROTO.ICMP || entry.proto === IPPROTO.ICMPV6)) {
    const words = Buffer.alloc(filter.length * 4);
    filter.forEach((word, i) => words.writeUInt32LE(word >>> 0, i * 4));
    setsockoptBuffer(fd, v6 ? SOL.ICMPV6 : SOL.RAW, ICMP_FILTER, words, what);
  }
  if (raw.nodefrag === true) setsockoptValue(fd, SOL.IP, IP_OPT.NODEFRAG, 1, what);
  if (raw.hdrincl === true) setsockoptValue(fd, v6 ? SOL.IPV6 : SOL.IP, v6 ? IPV6_OPT.HDRINCL : IP_OPT.HDRINCL, 1, what);
}

/** A TCP connection: repaired (--tcp-established) or, with --tcp-close, a fresh socket. */
function setUpConnection(env: FdRestoreEnv, entry: InetSkEntry, fd: number, what: string): void {
  checkConnectionOptions(env.ctx, what);
  if (env.ctx.options.tcpClose === true) {
    // on a socket never connected this answers ENOTCONN but still marks both directions shut (read 0, EPIPE, POLLHUP)
    restoreShutdown({ ...entry, shutdown: 3 }, fd, what);
    env.log.info(`${what}: restored closed (--tcp-close)`);
    return;
  }
  restoreTcpConnection({ entry, fd, what, imagesDir: env.ctx.options.imagesDir, bind: () => bindInet(entry, fd, what) });
  keepRepaired(env.ctx, fd, entry, what);
}

/** shutdown(2) as saved; a socket that is not connected (ENOTCONN) has nothing to shut down. */
function restoreShutdown(entry: InetSkEntry, fd: number, what: string): void {
  if (entry.shutdown === undefined || entry.shutdown === 0) return;
  try {
    shutdownSocket(fd, entry.shutdown, what);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === 'ENOTCONN')) throw error;
  }
}

/** connect(2) a raw or ping socket to its saved peer address (their ports are no ports). */
function connectToPeer(entry: InetSkEntry, fd: number, what: string): void {
  const dst = endpointText(entry.family, { port: 0, address: addressBytes(dstWords(entry)) });
  connectSocket(fd, inetSockaddr(entry.family, 0, dstWords(entry)), `${what} to ${dst}`);
}

function setUp(env: FdRestoreEnv, entry: InetSkEntry, fd: number): void {
  const what = describeInet(entry);
  if (entry.family === AF.INET6 && entry.v6only === true) setsockoptValue(fd, SOL.IPV6, IPV6_OPT.V6ONLY, 1, what);
  setsockoptValue(fd, SOL.SOCKET, SO.REUSEADDR, 1, what);
  setsockoptValue(fd, SOL.SOCKET, SO.REUSEPORT, 1, what);
  if (isConnection(entry)) {
    setUpConnection(env, entry, fd, what);
  } else if (entry.type === SOCK.RAW) {
    // a raw socket's "port" is its protocol: bound to its address (any, if none), connected if it was
    bindInet(entry, fd, what);
    if (entry.state === TCP_STATE.ESTABLISHED) connectToPeer(entry, fd, what);
  } else if (entry.proto === IPPROTO.ICMP || entry.proto === IPPROTO.ICMPV6) {
    // a ping socket's port is its ICMP id (0: not bound yet)
    if (entry.src_port !== 0) bindInet(entry, fd, what);
    if (entry.state === TCP_STATE.ESTABLISHED) connectToPeer(entry, fd, what);
  } else {
    if (entry.src_port !== 0) bindInet(entry, fd, what);
    if (entry.state === TCP_STATE.LISTEN) listenSocket(fd, entry.backlog, what);
    if (entry.dst_port !== 0) {
      const dst = endpointText(entry.family, { port: entry.dst_port, address: addressBytes(dstWords(entry)) });
      connectSocket(fd, inetSockaddr(entry.family, entry.dst_port, dstWords(entry)), `${what} to ${dst}`);
    }
  }
  restoreFileParams(fd, entry.flags, entry.fown, what);
  restoreIpOpts(env, entry, fd, what);
  restoreRawOpts(entry, fd, what);
  restoreSocketOpts(fd, entry.opts, what);
  if (isTcp(entry)) restoreTcpOpts(fd, entry.tcp_opts, what);
  restoreShutdown(entry, fd, what);
}

/** FdKind.open for inet sockets: our fd for the entry, set up (its reuse flags may follow with the last socket of its port). */
export function openInetSocket(env: FdRestoreEnv, file: FileEntry): number {
  const entry = file.isk;
  if (entry === undefined) throw new CriuError(`files.img entry id ${file.id}: type INETSK without an inet_sk_entry`, { code: 'EINVAL' });
  checkRestorable(entry);
  const fd = socket(entry.family, entry.type | SOCK.CLOEXEC, entry.proto);
  try {
    setUp(env, entry, fd);
    releasePort(inetPorts(env.ctx), entry, fd, env.log);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  env.log.info(`inet: ${describeInet(entry)} restored as our fd ${fd}`);
  return fd;
}

// AF_NETLINK sockets → files.img file_entry {type NETLINKSK, nlsk:
// netlink_sk_entry}, as upstream CRIU 4.x writes them (netlink(7)). Saved:
// protocol, the port id it is bound to and its multicast groups (the first
// 32, as nl_groups: upstream refuses more), the peer it is connected to
// (port id and group number, state CONNECTED), file flags and owner,
// socket options. Read from the socket itself: getsockname, getpeername
// and NETLINK_LIST_MEMBERSHIPS say what netlink_diag says. Refused, as
// upstream: a socket with messages waiting to be read (the queue is not
// saved), groups above 32, groups without a port id. Restore: a new socket
// of the protocol, bound to the port id with its groups (a port id taken
// meanwhile — by default it is the pid — is given up for a new one, as
// upstream does, with a warning), connected to its peer, then its flags,
// owner and options.
import { closeSync } from 'node:fs';
import { CriuError, UnsupportedError } from '@criu-ts/base';
import { AF, SO, SOCK, SOL, getpeername, getsockname, getsockoptBytes, getsockoptInt, pollIn, socket } from '@criu-ts/kernel';
import { FdTypes, type FileEntry, type NetlinkSkEntry } from '@criu-ts/images';
import type { FdDumpEnv, FdKind, FdRestoreEnv } from '../fd-kind.js';
import { S_IF, fileType, type OpenFd } from '../open-fd.js';
import { netNsId } from './socket-ns.js';
import { readSocketOpts } from './socket-opts.js';
import { restoreFileParams, restoreSocketOpts } from './socket-opts-restore.js';
import { bindSocket, connectSocket } from './socket-restore-calls.js';

/** NETLINK_LIST_MEMBERSHIPS (linux/netlink.h): the groups joined, a bitmap of u32 words */
const NETLINK_LIST_MEMBERSHIPS = 9;
/** nlk->state of a connected socket (netlink_diag's NETLINK_CONNECTED) */
export const NETLINK_CONNECTED = 1;
const GROUP_WORDS = 32;

function isNetlinkSocket(fd: OpenFd): boolean {
  if (fd.target.kind !== 'socket' && fileType(fd.stat) !== S_IF.SOCK) return false;
  return getsockoptInt(fd.local, SOL.SOCKET, SO.DOMAIN) === AF.NETLINK;
}

/** struct sockaddr_nl: family, pad, nl_pid, nl_groups. */
export function netlinkSockaddr(portid: number, groups: number): Buffer {
  const addr = Buffer.alloc(12);
  addr.writeUInt16LE(AF.NETLINK, 0);
  addr.writeUInt32LE(portid >>> 0, 4);
  addr.writeUInt32LE(groups >>> 0, 8);
  return addr;
}

const portOf = (addr: Buffer | null): number => (addr !== null && addr.length >= 12 ? addr.readUInt32LE(4) : 0);
const groupsOf = (addr: Buffer | null): number => (addr !== null && addr.length >= 12 ? addr.readUInt32LE(8) : 0);

/** The group number a peer's nl_groups bit stands for (0: none). */
export function groupNumber(mask: number): number {
  return mask === 0 ? 0 : 32 - Math.clz32(mask >>> 0);
}

/** Groups above the first 32 the socket joined (NETLINK_LIST_MEMBERSHIPS words after the first). */
function joinedAbove32(fd: number): boolean {
  const words = getsockoptBytes(fd, SOL.NETLINK, NETLINK_LIST_MEMBERSHIPS, GROUP_WORDS * 4);
  for (let i = 4; i + 4 <= words.length; i += 4) if (words.readUInt32LE(i) !== 0) return true;
  return false;
}

function refuse(fd: OpenFd, kind: string, hint?: string): never {
  throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind, hint });
}

function dumpNetlinkSocket(env: FdDumpEnv, fd: OpenFd, fileId: number): FileEntry {
  const ino = Number(fd.stat.ino);
  const protocol = getsockoptInt(fd.local, SOL.SOCKET, SO.PROTOCOL);
  if (pollIn(fd.local, 0)) refuse(fd, `netlink socket ino ${ino} with messages waiting to be read (its queue is not saved)`);
  const local = getsockname(fd.local);
  const peer = getpeername(fd.local);
  const portid = portOf(local);
  const groups = groupsOf(local);
  if (joinedAbove32(fd.local)) refuse(fd, `netlink socket ino ${ino} in multicast groups above 32`);
  if (groups !== 0 && portid === 0) refuse(fd, `netlink socket ino ${ino} bound to groups but not to a port id`);
  const dstPortid = portOf(peer);
  const dstGroup = groupNumber(groupsOf(peer));
  const nlsk: NetlinkSkEntry = {
    id: fileId,
    ino,
    protocol,
    state: dstPortid !== 0 || dstGroup !== 0 ? NETLINK_CONNECTED : 0,
    flags: fd.flags,
    portid,
    groups: groups !== 0 ? [groups] : [],
    dst_portid: dstPortid,
    dst_group: dstGroup,
    fown: fd.fown,
    opts: readSocketOpts(fd.local, { family: AF.NETLINK, type: getsockoptInt(fd.local, SOL.SOCKET, SO.TYPE), protocol }),
    ns_id: netNsId(env.ctx, fd.pid),
  };
  env.log.info(`fd ${fd.fd}: netlink socket ino ${ino} protocol ${protocol} port ${portid} groups 0x${groups.toString(16)} peer ${dstPortid}/${dstGroup}`);
  return { type: FdTypes.NETLINKSK, id: fileId, nlsk };
}

export function describeNetlink(e: NetlinkSkEntry): string {
  return `netlink socket id ${e.id} ino ${e.ino} protocol ${e.protocol}`;
}

/** bind(2) to the saved port id; one taken is given up for a kernel-chosen one, as upstream does. */
function bindPort(env: FdRestoreEnv, sk: number, e: NetlinkSkEntry, what: string): void {
  if ((e.groups ?? []).slice(1).some((word) => word !== 0)) {
    throw new CriuError(`${what}: multicast groups above 32 are not restored`, { code: 'EUNSUPPORTED' });
  }
  const groups = e.groups?.[0] ?? 0;
  try {
    bindSocket(sk, netlinkSockaddr(e.portid, groups), what);
  } catch (error) {
    if (!(error instanceof CriuError) || error.code !== 'EADDRINUSE') throw error;
    bindSocket(sk, netlinkSockaddr(0, groups), what);
    env.log.warn(`${what}: port id ${e.portid} is taken; bound to a new one`);
  }
}

function openNetlinkSocket(env: FdRestoreEnv, entry: FileEntry): number {
  const e = entry.nlsk!;
  const what = describeNetlink(e);
  const sk = socket(AF.NETLINK, SOCK.RAW | SOCK.CLOEXEC, e.protocol);
  try {
    if (e.portid !== 0) bindPort(env, sk, e, what);
    if (e.state === NETLINK_CONNECTED) {
      const group = e.dst_group !== 0 ? 1 << (e.dst_group - 1) : 0;
      connectSocket(sk, netlinkSockaddr(e.dst_portid, group), what);
    }
    restoreFileParams(sk, e.flags, e.fown, what);
    restoreSocketOpts(sk, e.opts, what);
    return sk;
  } catch (error) {
    closeSync(sk);
    throw error;
  }
}

export const netlinkSocketKind: FdKind = {
  name: 'netlinksk',
  matches: isNetlinkSocket,
  dump: dumpNetlinkSocket,
  type: FdTypes.NETLINKSK,
  open: openNetlinkSocket,
};

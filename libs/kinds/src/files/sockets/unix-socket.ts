// AF_UNIX sockets → files.img file_entry {type UNIXSK, usk: unix_sk_entry}
// and their receive queues → sk-queues.img, as upstream CRIU 4.x writes them
// (criu(8), unix(7)). Saved: type (stream, dgram, seqpacket), state
// (listening, connected, closed), bound name (path or abstract) with the
// socket file's permissions / deleted flag / directory of a relative name,
// the peer's inode (both ends of a pair in the tree each get an entry), a
// listener's backlog, shutdown, file flags and owner, socket options, queued
// data with the fds in flight it carries (unix-queue.ts). A pending
// connection a listener has not accepted yet is saved on its client side
// with the listener as peer. A socket in flight is dumped as one held by a
// task; a peer no task holds is decided on once every task is dumped: one
// met in flight is in the tree, any other is refused unless --ext-unix-sk,
// which then writes the peer as an external entry (USK_EXTERN), for named
// datagram peers only — as upstream. Restore: unix-restore.ts.
// Refused: other types/states, a closed pending connection on a listener,
// a dangling half of a connection.
import { CriuError, UnsupportedError } from '@criu-ts/base';
import { AF, SO, SOCK, SOL, TCP_STATE, getsockoptInt, type UnixDiagSocket } from '@criu-ts/kernel';
import { FdTypes, type FileEntry, type UnixSkEntry } from '@criu-ts/images';
import type { DumpContext } from '../../dump-context.js';
import type { FdDumpEnv, FdKind } from '../fd-kind.js';
import { S_IF, fileType, type OpenFd } from '../open-fd.js';
import { netNsId } from './socket-ns.js';
import { readSocketOpts } from './socket-opts.js';
import { socketTable, type SocketTable } from './socket-table.js';
import { dumpUnixQueue } from './unix-queue.js';
import { openUnixSocket } from './unix-restore.js';
import { USK, unixTable } from './unix-restore-table.js';
import { resolveUnixName, unixNameText } from './unix-name.js';

/** unix_sk_entry.uflags: the peer is not ours (restore connects to it by name) */
export const USK_EXTERN = USK.EXTERN;

const TYPES = new Set<number>([SOCK.STREAM, SOCK.DGRAM, SOCK.SEQPACKET]);
const STATES = new Set<number>([TCP_STATE.LISTEN, TCP_STATE.ESTABLISHED, TCP_STATE.CLOSE]);

/** A socket fd of the given family (SO_DOMAIN of our copy). */
export function isSocketOf(fd: OpenFd, family: number): boolean {
  if (fd.target.kind !== 'socket' && fileType(fd.stat) !== S_IF.SOCK) return false;
  return getsockoptInt(fd.local, SOL.SOCKET, SO.DOMAIN) === family;
}

function refuse(fd: OpenFd, kind: string, hint?: string): never {
  if (fd.inFlight !== undefined) throw new UnsupportedError({ pid: fd.inFlight.pid, fd: fd.inFlight.fd, kind: `${kind} in flight in its queue`, hint });
  throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind, hint });
}

/**
 * Once every task is dumped: a peer in no fd table that was not met in
 * flight either is outside the tree — refused, or with --ext-unix-sk
 * written as an external peer.
 */
function resolveOutsidePeers(ctx: DumpContext): void {
  const table = socketTable(ctx);
  for (const { env, fd, peer } of table.unresolved.splice(0)) {
    if (table.inFlight.has(peer.ino)) continue;
    if (!ctx.options.extUnixSk) refuse(fd, `unix socket connected to a socket outside the dumped tree (peer ino ${peer.ino})`, 'use --ext-unix-sk');
    writeExternalPeer(env, fd, peer);
  }
}

function diagOf(table: SocketTable, fd: OpenFd): UnixDiagSocket {
  const sk = table.unix.get(Number(fd.stat.ino));
  if (sk === undefined) throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: unix socket ino ${fd.stat.ino} not found by sock_diag`, { code: 'ENOENT' });
  if (!TYPES.has(sk.type)) refuse(fd, `unix socket of type ${sk.type}`);
  if (!STATES.has(sk.state)) refuse(fd, `unix socket in state ${sk.state}`);
  return sk;
}

/** The external peer's own entry (once per peer): a named datagram socket restore connects to. */
function writeExternalPeer(env: FdDumpEnv, fd: OpenFd, peer: UnixDiagSocket): void {
  const table = socketTable(env.ctx);
  if (peer.type !== SOCK.DGRAM) refuse(fd, `one end of a unix ${peer.type === SOCK.STREAM ? 'stream' : 'seqpacket'} connection whose peer (ino ${peer.ino}) is outside the dumped tree`);
  if (peer.name === undefined || peer.name.length === 0) refuse(fd, `unix socket connected to a name-less socket outside the dumped tree (ino ${peer.ino})`);
  if (table.externalWritten.has(peer.ino)) return;
  table.externalWritten.add(peer.ino);
  const id = env.ctx.nextId();
  const usk: UnixSkEntry = {
    id, ino: peer.ino, type: SOCK.DGRAM, state: TCP_STATE.LISTEN, flags: 0, uflags: USK_EXTERN, backlog: 0, peer: 0,
    fown: { uid: 0, euid: 0, signum: 0, pid_type: 0, pid: 0 },
    opts: { so_sndbuf: 0, so_rcvbuf: 0, so_snd_tmo_sec: 0n, so_snd_tmo_usec: 0n, so_rcv_tmo_sec: 0n, so_rcv_tmo_usec: 0n },
    name: new Uint8Array(peer.name),
  };
  env.ctx.image('files').write({ message: { type: FdTypes.UNIXSK, id, usk } });
  env.log.info(`unix: external peer ino ${peer.ino} (${unixNameText(peer.name)}) saved as id ${id}`);
}

/** The peer inode the entry records, after the checks upstream makes. */
function resolvePeer(env: FdDumpEnv, fd: OpenFd, sk: UnixDiagSocket): number {
  const table = socketTable(env.ctx);
  const peerIno = sk.peer ?? 0;
  if (peerIno !== 0) {
    const peer = table.unix.get(peerIno);
    if (peer === undefined) throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: peer ino ${peerIno} of unix socket ${sk.ino} not found by sock_diag`, { code: 'ENOENT' });
    if (peer.peer !== sk.ino && (peer.name === undefined || peer.name.length === 0)) {
      refuse(fd, `unix socket connected to a name-less socket (ino ${peerIno}) that is connected elsewhere`);
    }
    if (!table.treeInodes.has(peerIno) && !table.inFlight.has(peerIno)) table.unresolved.push({ env, fd, peer });
    return peerIno;
  }
  if (sk.state === TCP_STATE.ESTABLISHED && sk.type !== SOCK.DGRAM) {
    const listener = table.listenerOf(sk.ino);
    if (listener !== undefined) {
      if ((sk.wqueue ?? 0) !== 0) refuse(fd, 'not yet accepted unix connection with data in its send queue');
      return listener.ino;
    }
    if (sk.shutdown !== 3) refuse(fd, `dangling unix connection (ino ${sk.ino}: no peer, not shut down)`);
  }
  if (sk.state === TCP_STATE.LISTEN && sk.icons.includes(0)) refuse(fd, 'unix listener with a pending connection whose client is already closed');
  return 0;
}

function dumpUnixSocket(env: FdDumpEnv, fd: OpenFd, id: number): FileEntry {
  const sk = diagOf(socketTable(env.ctx), fd);
  const name = new Uint8Array(sk.name ?? Buffer.alloc(0));
  const usk: UnixSkEntry = {
    id,
    ino: sk.ino,
    type: sk.type,
    state: sk.state,
    flags: fd.flags,
    uflags: 0,
    backlog: sk.wqueue ?? 0,
    peer: resolvePeer(env, fd, sk),
    fown: fd.fown,
    opts: readSocketOpts(fd.local, { family: AF.UNIX, type: sk.type, protocol: 0 }),
    name,
    ...resolveUnixName(fd.local, name),
    ns_id: netNsId(env.ctx, fd.pid),
  };
  if ((sk.shutdown ?? 0) !== 0) usk.shutdown = sk.shutdown as UnixSkEntry['shutdown'];
  if (fd.inFlight !== undefined) socketTable(env.ctx).inFlight.add(sk.ino);
  if ((sk.rqueue ?? 0) !== 0 && sk.state !== TCP_STATE.LISTEN) {
    const queue = dumpUnixQueue(env, fd, id, sk.rqueue ?? 0);
    env.log.debug(`fd ${fd.fd}: ${queue.messages} queued messages, ${queue.bytes} bytes, ${queue.files} file(s) in flight`);
  }
  env.log.info(`fd ${fd.fd}: unix socket ino ${sk.ino} type ${sk.type} state ${sk.state} name ${unixNameText(name)} peer ${usk.peer}`);
  return { type: FdTypes.UNIXSK, id, usk };
}

export const unixSocketKind: FdKind = {
  name: 'unixsk',
  matches: (fd) => isSocketOf(fd, AF.UNIX),
  dump: dumpUnixSocket,
  afterTasks: resolveOutsidePeers,
  type: FdTypes.UNIXSK,
  open: openUnixSocket,
  // the files in flight in the queues: the files kind opens them before any unix socket
  carriedFiles: (ctx) => [...unixTable(ctx).inFlight].map(([id, carrier]) => ({ id, carrier })),
  // --inherit-fd fd[N]:socket:[INO] hands in a socket the tree was connected to from outside (criu(8))
  inheritNames: (_env, entry) => (entry.usk === undefined ? [] : [`socket:[${entry.usk.ino}]`]),
};

// Restore half of unix-socket.ts: a unix_sk_entry made again in the tool
// (unix(7)), the way upstream CRIU 4.x does it, in the order it needs.
// - Two sockets that are each other's peer (socketpair(2), or an accepted
//   connection and its client): one socketpair; the second end's open()
//   gets the other fd.
// - Others: socket(2), bound to their name (unix-bind.ts), listening with
//   the saved backlog, connected to their peer by name — a datagram peer,
//   a listener (a connection not accepted yet), or an external peer
//   (--ext-unix-sk). A peer is made early if needed, so there is no retry
//   but for the files in flight.
// - Queued messages (sk-queues.img) are written back by the socket's
//   "queuer", the first socket whose peer it is, with the files in flight
//   they carry attached (SCM_RIGHTS of our fds: the files kind opens them
//   first, as entries no task holds; a unix socket in flight is made when a
//   queue needs it, known before its own queue is written, so one may even
//   carry itself); a datagram socket nobody
//   points at, or a dangling stream end, is made as one end of a
//   socketpair whose other end writes the queue and is closed (for a
//   datagram, the pair is dissolved first with connect(AF_UNSPEC)).
// - Then file flags and owner, options, shutdown — after the queues both
//   ways, which the shutdown and the buffer sizes would stop.
// Not restored: criu service/plugin/inherited sockets (other uflags),
// another network or mount namespace.
import { closeSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { AF, F, O, SOCK, TCP_STATE, fcntl, socket } from '@criu-ts/kernel';
import type { FileEntry, UnixSkEntry } from '@criu-ts/images';
import type { FdRestoreEnv } from '../fd-kind.js';
import { restoreFileParams, restoreSocketOpts } from './socket-opts-restore.js';
import { connectSocket, listenSocket, shutdownSocket, socketPair, unspecSockaddr } from './socket-restore-calls.js';
import { bindUnixName, connectUnixPeer } from './unix-bind.js';
import { unixNameText } from './unix-name.js';
import { writeUnixQueue } from './unix-queue.js';
import { USK, unixTable, type UnixRestoreTable } from './unix-restore-table.js';

export { USK };

const TYPES = new Set<number>([SOCK.STREAM, SOCK.DGRAM, SOCK.SEQPACKET]);
const STATES = new Set<number>([TCP_STATE.LISTEN, TCP_STATE.ESTABLISHED, TCP_STATE.CLOSE]);

interface UnixEnv {
  env: FdRestoreEnv;
  table: UnixRestoreTable;
}

export const describeUnix = (e: UnixSkEntry): string => `unix socket id ${e.id} ino ${e.ino} (${unixNameText(e.name)})`;

function refuse(entry: UnixSkEntry, why: string, code = 'EUNSUPPORTED'): CriuError {
  return new CriuError(`${describeUnix(entry)}: ${why}`, { code });
}

function checkRestorable(entry: UnixSkEntry): void {
  if (!TYPES.has(entry.type)) throw refuse(entry, `type ${entry.type} is not supported`);
  if (!STATES.has(entry.state)) throw refuse(entry, `state ${entry.state} is not supported`);
  if ((entry.uflags & USK.EXTERN) !== 0) throw refuse(entry, 'is an external peer, not a socket of the tree', 'EINVAL');
  if ((entry.uflags & ~USK.EXTERN) !== 0) throw refuse(entry, `uflags ${entry.uflags.toString(16)} (criu service, plugin or inherited socket) are not supported`);
}

function peerOf(u: UnixEnv, entry: UnixSkEntry): UnixSkEntry | undefined {
  if (entry.peer === 0) return undefined;
  const peer = u.table.byIno.get(entry.peer);
  if (peer === undefined) throw refuse(entry, `peer ino ${entry.peer} is in no image`, 'ENOENT');
  return peer;
}

/** Each other's peer, two distinct sockets of the tree: made as one socketpair. */
function pairedPeer(u: UnixEnv, entry: UnixSkEntry): UnixSkEntry | undefined {
  const peer = peerOf(u, entry);
  if (peer === undefined || peer.id === entry.id || peer.peer !== entry.ino || (peer.uflags & USK.EXTERN) !== 0) return undefined;
  return peer;
}

function nonBlocking(fd: number): number {
  fcntl(fd, F.SETFL, fcntl(fd, F.GETFL) | O.NONBLOCK);
  return fd;
}

/** Flags, owner, options, shutdown: the last step, once the queues both ways are written. */
function finish(u: UnixEnv, entry: UnixSkEntry, fd: number): void {
  const what = describeUnix(entry);
  restoreFileParams(fd, entry.flags, entry.fown, what);
  restoreSocketOpts(fd, entry.opts, what);
  if (entry.shutdown !== undefined && entry.shutdown !== 0) shutdownSocket(fd, entry.shutdown, what);
  u.table.finished.add(entry.id);
}

/** Our fd for a file in flight: opened by its kind before any unix socket (see openUnixSocket), or a unix socket made now. */
function carriedFd(u: UnixEnv, id: number, target: string): number {
  const opened = u.env.opened(id);
  if (opened !== undefined) return opened;
  const socket = u.table.byId.get(id);
  if (socket === undefined) throw new CriuError(`${target}: file id ${id}, in flight in its queue, is not open`, { code: 'EINVAL' });
  checkRestorable(socket);
  return made(u, socket);
}

/** Writes `target`'s queued messages through `sender`, with the files in flight they carry. */
function writeQueue(u: UnixEnv, sender: number, target: UnixSkEntry): void {
  const what = describeUnix(target);
  writeUnixQueue(sender, u.table.packets.get(target.id) ?? [], what, (id) => carriedFd(u, id, what));
}

/** Files in flight of other kinds are opened by their kinds: until every one is, no queue can be written. */
function waitsForCarried(u: UnixEnv): number | undefined {
  for (const id of u.table.inFlight.keys()) if (!u.table.byId.has(id) && u.env.opened(id) === undefined) return id;
  return undefined;
}

function makePair(u: UnixEnv, entry: UnixSkEntry, peer: UnixSkEntry): void {
  const [ours, theirs] = socketPair(entry.type | SOCK.CLOEXEC, describeUnix(entry)).map((fd) => nonBlocking(u.table.keep(fd))) as [number, number];
  u.table.made.set(entry.id, ours);
  u.table.made.set(peer.id, theirs);
  bindUnixName(u.table, entry, ours, describeUnix(entry));
  bindUnixName(u.table, peer, theirs, describeUnix(peer));
  writeQueue(u, theirs, entry);
  writeQueue(u, ours, peer);
  for (const e of [entry, peer]) {
    u.table.queued.add(e.id);
    u.table.connected.add(e.id);
  }
  finish(u, entry, ours);
  finish(u, peer, theirs);
  u.env.log.info(`unix: ${describeUnix(entry)} and ${describeUnix(peer)} made as a socketpair`);
}

/** Nobody writes this socket's queue: it becomes one end of a pair whose other end does, then goes. */
function needsFakeQueuer(u: UnixEnv, entry: UnixSkEntry): boolean {
  if (u.table.queuer.has(entry.id)) return false;
  return entry.type === SOCK.DGRAM || (entry.state === TCP_STATE.ESTABLISHED && entry.peer === 0);
}

function makeWithFakeQueuer(u: UnixEnv, entry: UnixSkEntry): number {
  const what = describeUnix(entry);
  if (entry.type !== SOCK.DGRAM && entry.shutdown !== 3) throw refuse(entry, 'connected stream socket without a peer that is not shut down both ways', 'EINVAL');
  const [fd, queuer] = socketPair(entry.type | SOCK.CLOEXEC, what);
  u.table.keep(fd);
  try {
    nonBlocking(fd);
    // a datagram pair would refuse every other sender: dissolve it (this also empties the queue, so it comes first)
    if (entry.type === SOCK.DGRAM) connectSocket(fd, unspecSockaddr(), `${what}: connect(AF_UNSPEC)`);
    u.table.made.set(entry.id, fd); // known before its queue is written, which may carry the socket itself
    writeQueue(u, queuer, entry);
  } finally {
    closeSync(queuer);
  }
  u.table.queued.add(entry.id);
  return fd;
}

/** The socket made, bound and listening (not yet connected, queues not written). */
function made(u: UnixEnv, entry: UnixSkEntry): number {
  const known = u.table.made.get(entry.id);
  if (known !== undefined) return known;
  const peer = pairedPeer(u, entry);
  if (peer !== undefined) {
    makePair(u, entry, peer);
    return u.table.made.get(entry.id)!;
  }
  const fd = needsFakeQueuer(u, entry) ? makeWithFakeQueuer(u, entry) : u.table.keep(nonBlocking(socket(AF.UNIX, entry.type | SOCK.CLOEXEC)));
  u.table.made.set(entry.id, fd);
  bindUnixName(u.table, entry, fd, describeUnix(entry));
  if (entry.state === TCP_STATE.LISTEN) listenSocket(fd, entry.backlog, describeUnix(entry));
  return fd;
}

/** Connects the socket to its peer; writes the peer's queue if it is the peer's queuer. */
function connectToPeer(u: UnixEnv, entry: UnixSkEntry): void {
  const peer = peerOf(u, entry);
  if (peer === undefined || u.table.connected.has(entry.id)) return;
  const fd = made(u, entry);
  const what = describeUnix(entry);
  if ((peer.uflags & USK.EXTERN) !== 0) {
    if (u.env.ctx.options.extUnixSk !== true) throw refuse(entry, `peer ino ${peer.ino} is outside the tree: restore with --ext-unix-sk`, 'EINVAL');
    connectUnixPeer(u.table, fd, peer, what);
  } else {
    // a peer already restored (and handed out) is bound and listening by its name: connect to that
    if (!u.table.finished.has(peer.id)) made(u, peer);
    connectUnixPeer(u.table, fd, peer, what);
    if (u.table.queuer.get(peer.id) === entry.id && !u.table.queued.has(peer.id)) {
      writeQueue(u, fd, peer);
      u.table.queued.add(peer.id);
    }
  }
  u.table.connected.add(entry.id);
  u.env.log.debug(`unix: ${what} connected to ino ${peer.ino}`);
}

/** Makes sure the socket's own queue is written back (by connecting its queuer). */
function queueWritten(u: UnixEnv, entry: UnixSkEntry): void {
  if (u.table.queued.has(entry.id)) return;
  const queuer = u.table.queuer.get(entry.id);
  if (queuer === undefined) {
    if ((u.table.packets.get(entry.id)?.length ?? 0) > 0) throw refuse(entry, 'has queued messages but no socket to write them back', 'EINVAL');
    u.table.queued.add(entry.id);
    return;
  }
  const queuerEntry = u.table.byId.get(queuer)!;
  connectToPeer(u, queuerEntry);
  u.table.queued.add(entry.id);
}

/** FdKind.open for unix sockets: our fd for the entry, completely set up; 'retry' while files in flight are not open yet. */
export function openUnixSocket(env: FdRestoreEnv, file: FileEntry): number | 'retry' {
  const entry = file.usk;
  if (entry === undefined) throw new CriuError(`files.img entry id ${file.id}: type UNIXSK without a unix_sk_entry`, { code: 'EINVAL' });
  checkRestorable(entry);
  const u: UnixEnv = { env, table: unixTable(env.ctx) };
  const waiting = waitsForCarried(u);
  if (waiting !== undefined) {
    env.log.debug(`unix: ${describeUnix(entry)} waits for file id ${waiting} (in flight) to be open`);
    return 'retry';
  }
  const fd = made(u, entry);
  if (!u.table.finished.has(entry.id)) {
    queueWritten(u, entry);
    connectToPeer(u, entry);
    finish(u, entry, fd);
  }
  u.table.made.delete(entry.id);
  env.log.info(`unix: ${describeUnix(entry)} restored as our fd ${fd}`);
  return fd;
}

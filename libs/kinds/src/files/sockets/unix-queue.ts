// The receive queue of a unix socket → sk-queues.img: one sk_packet_entry
// {id_for, length, scm} plus the bytes per message, read WITHOUT consuming
// them: recvmsg(MSG_PEEK | MSG_DONTWAIT) with SO_PEEK_OFF set to 0, so each
// peek moves past the one before (socket(7) SO_PEEK_OFF); the socket's own
// peek offset is put back afterwards. Datagram boundaries are kept; a stream
// comes out in chunks (one ends at a message carrying fds), which restore
// sends back in order. Fds in flight (SCM_RIGHTS): the peek installs them in
// the tool, each is dumped as a file of its own (../in-flight.ts) and the
// packet's scm_entry {SCM_RIGHTS, rights} lists their ids, in order, as
// upstream CRIU writes it. Not saved: sender credentials of queued
// messages (SCM_CREDENTIALS: this image version has no field for them —
// logged), any other control message (UnsupportedError).
// Restore writes the messages back in order, one send each (boundaries
// kept, fds attached with SCM_RIGHTS), through a socket connected to the
// one they are for.
import { closeSync } from 'node:fs';
import { CriuError, SyscallError, UnsupportedError } from '@criu-ts/base';
import { MSG, SCM, SO, SOL, controlMessages, getsockoptInt, recvmsg, sendmsgFds, sendto, setsockoptInt, type ControlMessage } from '@criu-ts/kernel';
import type { ScmEntry } from '@criu-ts/images';
import { prepareForQueue } from './socket-opts-restore.js';
import type { QueuedPacket } from './unix-restore-table.js';
import type { FdDumpEnv } from '../fd-kind.js';
import { dumpFileInFlight } from '../in-flight.js';
import type { InFlight, OpenFd } from '../open-fd.js';

/** room for cmsgs: SCM_RIGHTS with up to 253 fds, credentials, a pidfd */
const CONTROL_SIZE = 2048;

export interface QueueSummary {
  messages: number;
  bytes: number;
  /** files in flight */
  files: number;
}

/** The fds a cmsg (SCM_RIGHTS, SCM_PIDFD) installed in this process. */
function fdsOf(m: ControlMessage): number[] {
  if (m.level !== SOL.SOCKET || (m.type !== SCM.RIGHTS && m.type !== SCM.PIDFD)) return [];
  const fds: number[] = [];
  for (let at = 0; at + 4 <= m.data.length; at += 4) fds.push(m.data.readInt32LE(at));
  return fds.filter((fd) => fd >= 0);
}

function closeFds(fds: readonly number[]): void {
  for (const fd of fds) closeSync(fd);
}

/** Where the files in flight of fd's queue are (a socket in flight passes on its own place). */
function whereOf(fd: OpenFd): InFlight {
  return fd.inFlight === undefined ? { pid: fd.pid, fd: fd.fd, nested: false } : { ...fd.inFlight, nested: true };
}

/** Dumps the fds of the SCM_RIGHTS cmsg in order (each taken over, kept or closed); their ids. */
function dumpRights(env: FdDumpEnv, fd: OpenFd, fds: readonly number[]): number[] {
  const ids: number[] = [];
  try {
    for (const one of fds) ids.push(dumpFileInFlight(env, one, whereOf(fd)));
  } catch (error) {
    closeFds(fds.slice(ids.length + 1)); // the one that failed was closed by dumpFileInFlight
    throw error;
  }
  return ids;
}

/** The packet's scm entries after judging its cmsgs: the rights dumped, credentials logged, anything else refused. */
function judgeControl(env: FdDumpEnv, fd: OpenFd, messages: ControlMessage[]): ScmEntry[] {
  const rights = messages.filter((m) => m.level === SOL.SOCKET && m.type === SCM.RIGHTS);
  const others = messages.filter((m) => !rights.includes(m));
  try {
    for (const m of others) {
      if (m.level === SOL.SOCKET && m.type === SCM.CREDENTIALS) {
        env.log.warn(`pid ${fd.pid} fd ${fd.fd}: sender credentials of a queued message are not saved`);
        continue;
      }
      if (m.level === SOL.SOCKET && m.type === SCM.PIDFD) continue;
      throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `unix socket with control message level ${m.level} type ${m.type} in its queue` });
    }
    // the kernel merges every SCM_RIGHTS of a message into one on receive
    if (rights.length > 1) throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: a queued message came with ${rights.length} SCM_RIGHTS, not one`, { code: 'EPROTO' });
  } catch (error) {
    closeFds(messages.flatMap(fdsOf));
    throw error;
  }
  closeFds(others.flatMap(fdsOf));
  if (rights.length === 0) return [];
  return [{ type: SCM.RIGHTS, rights: dumpRights(env, fd, fdsOf(rights[0]!)) }];
}

/** The next message past the current peek offset, with its scm entries; null when the queue is exhausted. */
function peekOne(env: FdDumpEnv, fd: OpenFd, data: Buffer): { data: Buffer; scm: ScmEntry[] } | null {
  const got = recvmsg(fd.local, data, MSG.PEEK | MSG.DONTWAIT | MSG.CMSG_CLOEXEC, CONTROL_SIZE);
  if (got === null) return null;
  const messages = controlMessages(got.control);
  if (got.length === 0) {
    // an orderly end, or an empty datagram the peek offset cannot move past: the end of what is saved, as upstream
    closeFds(messages.flatMap(fdsOf));
    return null;
  }
  if ((got.flags & (MSG.TRUNC | MSG.CTRUNC)) !== 0) {
    closeFds(messages.flatMap(fdsOf));
    throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `unix socket queue message larger than ${data.length} bytes (or with truncated control data)` });
  }
  const scm = judgeControl(env, fd, messages);
  return { data: Buffer.from(data.subarray(0, got.length)), scm };
}

/**
 * Copies the receive queue of unix socket `fd` into sk-queues.img as packets
 * for socket id `id`. `hint` is the queue length sock_diag reported, so the
 * buffer holds the first datagram.
 */
export function dumpUnixQueue(env: FdDumpEnv, fd: OpenFd, id: number, hint: number): QueueSummary {
  const savedOffset = getsockoptInt(fd.local, SOL.SOCKET, SO.PEEK_OFF);
  const size = Math.max(getsockoptInt(fd.local, SOL.SOCKET, SO.SNDBUF), getsockoptInt(fd.local, SOL.SOCKET, SO.RCVBUF), hint);
  const data = Buffer.alloc(size);
  const summary: QueueSummary = { messages: 0, bytes: 0, files: 0 };
  setsockoptInt(fd.local, SOL.SOCKET, SO.PEEK_OFF, 0);
  try {
    for (let packet = peekOne(env, fd, data); packet !== null; packet = peekOne(env, fd, data)) {
      const message = { id_for: id, length: packet.data.length, ...(packet.scm.length > 0 ? { scm: packet.scm } : {}) };
      env.ctx.image('sk-queues').write({ message, payload: packet.data });
      summary.messages += 1;
      summary.bytes += packet.data.length;
      summary.files += packet.scm.reduce((n, e) => n + (e.rights ?? []).length, 0);
    }
  } finally {
    setsockoptInt(fd.local, SOL.SOCKET, SO.PEEK_OFF, savedOffset);
  }
  return summary;
}

/**
 * Sends `packets` (the queue of `target`) through `sender`, which is
 * connected to it: each message whole, in order, never blocking, with the
 * files in flight it carries (our fds for their ids: `fdOf`) attached as
 * SCM_RIGHTS. The sender's buffers and flags are set for it here; its own
 * options come later.
 */
export function writeUnixQueue(sender: number, packets: readonly QueuedPacket[], target: string, fdOf: (id: number) => number): number {
  if (packets.length === 0) return 0;
  prepareForQueue(sender, target);
  let bytes = 0;
  for (const [index, packet] of packets.entries()) {
    const fds = packet.rights.map(fdOf);
    let sent: number;
    try {
      sent = fds.length === 0 ? sendto(sender, packet.data, MSG.DONTWAIT, null) : sendmsgFds(sender, packet.data, fds, MSG.DONTWAIT);
    } catch (error) {
      if (!(error instanceof SyscallError)) throw error;
      const carrying = fds.length === 0 ? '' : ` with ${fds.length} file(s) in flight`;
      throw new CriuError(`${target}: writing back queued message ${index + 1} of ${packets.length} (${packet.data.length} bytes${carrying}): ${error.message}`, { code: error.code, cause: error });
    }
    if (sent !== packet.data.length) throw new CriuError(`${target}: queued message ${index + 1} trimmed to ${sent} of ${packet.data.length} bytes`, { code: 'EMSGSIZE' });
    bytes += sent;
  }
  return bytes;
}

// The receive queue of a unix socket → sk-queues.img: one sk_packet_entry
// {id_for, length} plus the bytes per message, read WITHOUT consuming them:
// recvmsg(MSG_PEEK | MSG_DONTWAIT) with SO_PEEK_OFF set to 0, so each peek
// moves past the one before (socket(7) SO_PEEK_OFF); the socket's own peek
// offset is put back afterwards. Datagram boundaries are kept; a stream
// comes out in chunks, which restore sends back in order. Not saved:
// sender credentials of queued messages (SCM_CREDENTIALS: this image
// version has no field for them — logged), SCM_RIGHTS (fds in flight:
// UnsupportedError), any other control message (UnsupportedError).
// Restore writes the messages back in order, one send each (boundaries
// kept), through a socket connected to the one they are for.
import { closeSync } from 'node:fs';
import { CriuError, SyscallError, UnsupportedError } from '@criu-ts/base';
import { MSG, SCM, SO, SOL, controlMessages, getsockoptInt, recvmsg, sendto, setsockoptInt, type ControlMessage } from '@criu-ts/kernel';
import { prepareForQueue } from './socket-opts-restore.js';
import type { QueuedPacket } from './unix-restore-table.js';
import type { FdDumpEnv } from '../fd-kind.js';
import type { OpenFd } from '../open-fd.js';

/** room for cmsgs: SCM_RIGHTS with up to 253 fds, credentials, a pidfd */
const CONTROL_SIZE = 2048;

export interface QueueSummary {
  messages: number;
  bytes: number;
}

/** Closes the fds a peek installed in this process (SCM_RIGHTS, SCM_PIDFD); returns the cmsgs left to judge. */
function closeReceivedFds(messages: ControlMessage[]): void {
  for (const m of messages) {
    if (m.level !== SOL.SOCKET || (m.type !== SCM.RIGHTS && m.type !== SCM.PIDFD)) continue;
    for (let at = 0; at + 4 <= m.data.length; at += 4) {
      const fd = m.data.readInt32LE(at);
      if (fd >= 0) closeSync(fd);
    }
  }
}

function judgeControl(env: FdDumpEnv, fd: OpenFd, messages: ControlMessage[]): void {
  for (const m of messages) {
    if (m.level === SOL.SOCKET && m.type === SCM.RIGHTS) {
      throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: 'unix socket with file descriptors in flight (SCM_RIGHTS in its queue)' });
    }
    if (m.level === SOL.SOCKET && m.type === SCM.CREDENTIALS) {
      env.log.warn(`pid ${fd.pid} fd ${fd.fd}: sender credentials of a queued message are not saved`);
      continue;
    }
    if (m.level === SOL.SOCKET && m.type === SCM.PIDFD) continue;
    throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `unix socket with control message level ${m.level} type ${m.type} in its queue` });
  }
}

/** Peeks the next message past the current peek offset; null when the queue is exhausted. */
function peekOne(env: FdDumpEnv, fd: OpenFd, data: Buffer): Buffer | null {
  const got = recvmsg(fd.local, data, MSG.PEEK | MSG.DONTWAIT, CONTROL_SIZE);
  if (got === null || got.length === 0) return null;
  const messages = controlMessages(got.control);
  closeReceivedFds(messages);
  if ((got.flags & (MSG.TRUNC | MSG.CTRUNC)) !== 0) {
    throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `unix socket queue message larger than ${data.length} bytes (or with truncated control data)` });
  }
  judgeControl(env, fd, messages);
  return Buffer.from(data.subarray(0, got.length));
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
  const summary: QueueSummary = { messages: 0, bytes: 0 };
  setsockoptInt(fd.local, SOL.SOCKET, SO.PEEK_OFF, 0);
  try {
    const image = env.ctx.image('sk-queues');
    for (let packet = peekOne(env, fd, data); packet !== null; packet = peekOne(env, fd, data)) {
      image.write({ message: { id_for: id, length: packet.length }, payload: packet });
      summary.messages += 1;
      summary.bytes += packet.length;
    }
  } finally {
    setsockoptInt(fd.local, SOL.SOCKET, SO.PEEK_OFF, savedOffset);
  }
  return summary;
}

/**
 * Sends `packets` (the queue of `target`) through `sender`, which is
 * connected to it: each message whole, in order, never blocking. The
 * sender's buffers and flags are set for it here; its own options come
 * later.
 */
export function writeUnixQueue(sender: number, packets: readonly QueuedPacket[], target: string): number {
  if (packets.length === 0) return 0;
  if (packets.some((p) => p.scm > 0)) throw new CriuError(`${target}: queued message carries file descriptors (SCM_RIGHTS), which restore does not support`, { code: 'EUNSUPPORTED' });
  prepareForQueue(sender, target);
  let bytes = 0;
  for (const [index, packet] of packets.entries()) {
    let sent: number;
    try {
      sent = sendto(sender, packet.data, MSG.DONTWAIT, null);
    } catch (error) {
      if (!(error instanceof SyscallError)) throw error;
      throw new CriuError(`${target}: writing back queued message ${index + 1} of ${packets.length} (${packet.data.length} bytes): ${error.message}`, { code: error.code, cause: error });
    }
    if (sent !== packet.data.length) throw new CriuError(`${target}: queued message ${index + 1} trimmed to ${sent} of ${packet.data.length} bytes`, { code: 'EMSGSIZE' });
    bytes += sent;
  }
  return bytes;
}

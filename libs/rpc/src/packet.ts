// One RPC message per SOCK_SEQPACKET packet, as criu's service reads and
// writes them: the packet's size is peeked first (MSG_PEEK | MSG_TRUNC), so
// any size is read whole; one larger than MAX_REQUEST_BYTES is consumed
// and reported, never half-read. Fds sent with a packet (SCM_RIGHTS) come
// back with it; the caller owns them.
import { closeSync } from 'node:fs';
import { SyscallError } from '@criu-ts/base';
import { MSG, SCM, SOL, controlMessages, recvmsg, sendmsgFds } from '@criu-ts/kernel';
import { MAX_REQUEST_BYTES } from './messages.js';

const EINTR = 4;
/** room for this many fds with one packet */
const MAX_FDS = 32;

export type Packet = { kind: 'data'; data: Buffer; fds: number[] } | { kind: 'eof' } | { kind: 'oversized'; bytes: number };

function retrying<T>(call: () => T): T {
  for (;;) {
    try {
      return call();
    } catch (error) {
      if (!(error instanceof SyscallError && error.errno === EINTR)) throw error;
    }
  }
}

function fdsOf(control: Buffer): number[] {
  const fds: number[] = [];
  for (const message of controlMessages(control)) {
    if (message.level !== SOL.SOCKET || message.type !== SCM.RIGHTS) continue;
    for (let at = 0; at + 4 <= message.data.length; at += 4) fds.push(message.data.readInt32LE(at));
  }
  return fds;
}

/** Blocks until one packet arrives on `fd` (or the peer closes). */
export function recvPacket(fd: number): Packet {
  const peeked = retrying(() => recvmsg(fd, Buffer.alloc(0), MSG.PEEK | MSG.TRUNC));
  const size = peeked?.length ?? 0;
  if (size > MAX_REQUEST_BYTES) {
    const dropped = retrying(() => recvmsg(fd, Buffer.alloc(0), MSG.TRUNC, 16 + 4 * MAX_FDS));
    for (const one of fdsOf(dropped?.control ?? Buffer.alloc(0))) closeSync(one);
    return { kind: 'oversized', bytes: size };
  }
  const data = Buffer.alloc(size);
  const got = retrying(() => recvmsg(fd, data, 0, 16 + 4 * MAX_FDS));
  if (got === null || got.length === 0) return { kind: 'eof' };
  return { kind: 'data', data: data.subarray(0, got.length), fds: fdsOf(got.control) };
}

/** Sends one packet, with `fds` attached when given. */
export function sendPacket(fd: number, data: Buffer, fds: readonly number[] = []): void {
  retrying(() => sendmsgFds(fd, data, fds, MSG_NOSIGNAL));
}

/** MSG_NOSIGNAL: a client gone away is EPIPE, not a SIGPIPE */
const MSG_NOSIGNAL = 0x4000;

// TCP repair (tcp(7) TCP_REPAIR; Linux 3.5+), the dump half: with the
// socket in repair mode nothing it does reaches the wire, and its state can
// be read: the send queue (sent but unacknowledged, then not yet sent:
// SIOCOUTQ, SIOCOUTQNSD) and the receive queue (SIOCINQ) with their
// sequence numbers (TCP_REPAIR_QUEUE + TCP_QUEUE_SEQ, bytes peeked with
// MSG_PEEK), MSS (TCP_MAXSEG), the options negotiated (tcp_info's
// tcpi_options, window scales), the timestamp (TCP_TIMESTAMP) and the
// window (TCP_REPAIR_WINDOW) — tcp_stream_entry as upstream CRIU lays it
// out, with both queues after it (receive first). A FIN queued or sent
// (FIN_WAIT1/2, CLOSING, LAST_ACK) holds no data and is not counted.
import { CriuError, SyscallError } from '@criu-ts/base';
import { MSG, SIOC, SOL, TCPI_OPT, TCP_OPT, TCP_QUEUE, TCP_STATE, getsockoptBytes, getsockoptInt, ioctl, recvmsg, setsockoptInt } from '@criu-ts/kernel';
import type { TcpStreamEntry } from '@criu-ts/images';

/** TCP states a connection can be dumped in (what repair can rebuild). */
export const REPAIRABLE_STATES: ReadonlySet<number> = new Set([
  TCP_STATE.ESTABLISHED, TCP_STATE.FIN_WAIT1, TCP_STATE.FIN_WAIT2, TCP_STATE.CLOSE_WAIT, TCP_STATE.LAST_ACK,
  TCP_STATE.CLOSING, TCP_STATE.CLOSE, TCP_STATE.SYN_SENT,
]);

const bit = (state: number): number => 1 << state;
const anyOf = (...states: number[]): number => states.reduce((mask, s) => mask | bit(s), 0);

/** States with our FIN in the send queue (first / after the peer's); with it acknowledged. */
export const FIN_SENT = {
  first: anyOf(TCP_STATE.FIN_WAIT1, TCP_STATE.FIN_WAIT2, TCP_STATE.CLOSING),
  second: anyOf(TCP_STATE.LAST_ACK, TCP_STATE.CLOSE),
  acked: anyOf(TCP_STATE.FIN_WAIT2, TCP_STATE.CLOSE),
} as const;
/** States with the peer's FIN received (first / after ours); with ours acknowledged too. */
export const FIN_RECEIVED = {
  first: anyOf(TCP_STATE.CLOSE_WAIT, TCP_STATE.LAST_ACK, TCP_STATE.CLOSE),
  second: anyOf(TCP_STATE.CLOSING),
  acked: anyOf(TCP_STATE.CLOSE),
} as const;

export const inStates = (state: number, mask: number): boolean => (bit(state) & mask) !== 0;

export function setRepair(fd: number, on: boolean, what: string): void {
  try {
    setsockoptInt(fd, SOL.TCP, TCP_OPT.REPAIR, on ? 1 : 0);
  } catch (error) {
    if (error instanceof SyscallError) throw new CriuError(`${what}: cannot turn TCP repair ${on ? 'on' : 'off'}: ${error.message}`, { code: error.code, cause: error });
    throw error;
  }
}

function queueSize(fd: number, request: number): number {
  const size = Buffer.alloc(4);
  ioctl(fd, request, size);
  return size.readInt32LE(0);
}

/** The sequence number of a queue's end, and (peeked, not consumed) its `length` bytes. */
function readQueue(fd: number, queue: number, length: number, what: string): { seq: number; data: Buffer } {
  setsockoptInt(fd, SOL.TCP, TCP_OPT.REPAIR_QUEUE, queue);
  const seq = getsockoptInt(fd, SOL.TCP, TCP_OPT.QUEUE_SEQ) >>> 0;
  // one byte more than expected proves the queue holds exactly `length`
  const data = Buffer.alloc(length + 1);
  const got = length === 0 ? 0 : recvmsg(fd, data, MSG.PEEK | MSG.DONTWAIT)?.length ?? 0;
  if (got !== length) throw new CriuError(`${what}: ${queue === TCP_QUEUE.RECV ? 'receive' : 'send'} queue holds ${got} bytes, expected ${length}`, { code: 'EIO' });
  return { seq, data: data.subarray(0, length) };
}

function windowFields(fd: number): Partial<TcpStreamEntry> {
  const window = getsockoptBytes(fd, SOL.TCP, TCP_OPT.REPAIR_WINDOW, 20);
  if (window.length !== 20) return {};
  return {
    snd_wl1: window.readUInt32LE(0), snd_wnd: window.readUInt32LE(4), max_window: window.readUInt32LE(8),
    rcv_wnd: window.readUInt32LE(12), rcv_wup: window.readUInt32LE(16),
  };
}

export interface SavedStream {
  /** the state tcp_info reports under repair (goes into inet_sk_entry.state) */
  state: number;
  entry: TcpStreamEntry;
  /** receive queue, then send queue */
  queues: Buffer;
}

/** Reads a connection's state; the socket must be in repair mode (setRepair). */
export function saveStream(fd: number, what: string): SavedStream {
  const info = getsockoptBytes(fd, SOL.TCP, TCP_OPT.INFO, 8);
  const state = info.readUInt8(0);
  if (!REPAIRABLE_STATES.has(state)) throw new CriuError(`${what}: TCP state ${state} cannot be dumped`, { code: 'EINVAL' });
  const options = info.readUInt8(5);
  let outq = state === TCP_STATE.CLOSE ? 0 : queueSize(fd, SIOC.OUTQ);
  let unsent = state === TCP_STATE.CLOSE ? 0 : queueSize(fd, SIOC.OUTQNSD);
  if (inStates(state, FIN_SENT.first | FIN_SENT.second)) {
    outq = Math.max(0, outq - 1);
    unsent = Math.max(0, unsent - 1);
  }
  const inq = queueSize(fd, SIOC.INQ);
  const recv = readQueue(fd, TCP_QUEUE.RECV, inq, what);
  const send = readQueue(fd, TCP_QUEUE.SEND, outq, what);
  setsockoptInt(fd, SOL.TCP, TCP_OPT.REPAIR_QUEUE, TCP_QUEUE.NO);
  const entry: TcpStreamEntry = {
    inq_len: inq, inq_seq: recv.seq, outq_len: outq, outq_seq: send.seq,
    opt_mask: options, snd_wscale: 0, mss_clamp: getsockoptInt(fd, SOL.TCP, TCP_OPT.MAXSEG) >>> 0,
    unsq_len: unsent,
    ...windowFields(fd),
  };
  if ((options & TCPI_OPT.WSCALE) !== 0) {
    entry.snd_wscale = info.readUInt8(6) & 0x0f;
    entry.rcv_wscale = info.readUInt8(6) >> 4;
  }
  if ((options & TCPI_OPT.TIMESTAMPS) !== 0) entry.timestamp = getsockoptInt(fd, SOL.TCP, TCP_OPT.TIMESTAMP) >>> 0;
  return { state, entry, queues: Buffer.concat([recv.data, send.data]) };
}

// TCP repair, the restore half (tcp(7) TCP_REPAIR): a fresh socket in repair
// mode is bound to its address and "connected" to its peer with no packet
// sent, its sequence numbers set (TCP_REPAIR_QUEUE + TCP_QUEUE_SEQ) to the
// start of each queue, the negotiated options (MSS, SACK, window scales,
// timestamps: TCP_REPAIR_OPTIONS, TCP_TIMESTAMP) set, the receive queue and
// the sent part of the send queue refilled in repair mode, the unsent part
// queued normally, the window set (TCP_REPAIR_WINDOW), then the FINs of a
// half-closed connection put back: ours by shutdown(SHUT_WR), the peer's by
// a made-up packet (tcp-fin.ts). Repair stays on until the tree is let go
// (tcp-repaired.ts), as upstream CRIU does.
import { CriuError, SyscallError } from '@criu-ts/base';
import { SOL, TCPI_OPT, TCPOPT, TCP_OPT, TCP_QUEUE, TCP_STATE, sendto, setsockoptInt } from '@criu-ts/kernel';
import { imagePath, readImageEntries, type InetSkEntry, type TcpStreamEntry } from '@criu-ts/images';
import { FIN_RECEIVED, FIN_SENT, inStates, setRepair } from './tcp-repair.js';
import { TCP_FLAG, sendFin } from './tcp-fin.js';
import { wireForm } from '../../net-lock/index.js';
import { connectionOf } from './tcp-repaired.js';
import { prepareForQueue } from './socket-opts-restore.js';
import { connectSocket, inetSockaddr, setsockoptBuffer, shutdownSocket } from './socket-restore-calls.js';

export interface TcpRestoreInput {
  entry: InetSkEntry;
  /** our fresh socket of the entry's family */
  fd: number;
  what: string;
  imagesDir: string;
  /** binds fd to the entry's address (scope, freebind) */
  bind: () => void;
}

function readStream(dir: string, entry: InetSkEntry, what: string): { stream: TcpStreamEntry; recv: Buffer; send: Buffer } {
  const path = imagePath(dir, 'tcp-stream', entry.ino);
  const entries = readImageEntries(path, 'tcp-stream');
  if (entries.length !== 1) throw new CriuError(`${what}: ${path} holds ${entries.length} entries, expected 1`, { code: 'EINVAL' });
  const stream = entries[0]!.message as unknown as TcpStreamEntry;
  const payload = entries[0]!.payload ?? Buffer.alloc(0);
  if (stream.unsq_len === undefined) throw new CriuError(`${what}: ${path} has no unsq_len (too old an image)`, { code: 'EINVAL' });
  if (payload.length !== stream.inq_len + stream.outq_len) throw new CriuError(`${what}: ${path} holds ${payload.length} queued bytes, expected ${stream.inq_len + stream.outq_len}`, { code: 'EINVAL' });
  if (stream.unsq_len > stream.outq_len) throw new CriuError(`${what}: ${path}: ${stream.unsq_len} unsent bytes in a send queue of ${stream.outq_len}`, { code: 'EINVAL' });
  return { stream, recv: payload.subarray(0, stream.inq_len), send: payload.subarray(stream.inq_len) };
}

/** send(2) all of data; when the kernel cannot take one piece that large (ENOMEM), in halves. */
function sendAll(fd: number, data: Buffer, what: string): void {
  let chunk = data.length;
  for (let offset = 0; offset < data.length;) {
    try {
      offset += sendto(fd, data.subarray(offset, offset + chunk), 0, null);
    } catch (error) {
      if (!(error instanceof SyscallError) || error.code !== 'ENOMEM' || chunk <= 1024) throw new CriuError(`${what}: cannot queue data again: ${String(error)}`, { cause: error });
      chunk >>= 1;
    }
  }
}

function setQueueSeq(fd: number, queue: number, seq: number): void {
  setsockoptInt(fd, SOL.TCP, TCP_OPT.REPAIR_QUEUE, queue);
  setsockoptInt(fd, SOL.TCP, TCP_OPT.QUEUE_SEQ, seq | 0);
}

function repairOptions(fd: number, s: TcpStreamEntry, what: string): void {
  const opts: [number, number][] = [];
  if ((s.opt_mask & TCPI_OPT.SACK) !== 0) opts.push([TCPOPT.SACK_PERM, 0]);
  if ((s.opt_mask & TCPI_OPT.WSCALE) !== 0) opts.push([TCPOPT.WINDOW, s.snd_wscale + ((s.rcv_wscale ?? 0) << 16)]);
  if ((s.opt_mask & TCPI_OPT.TIMESTAMPS) !== 0) opts.push([TCPOPT.TIMESTAMP, 0]);
  opts.push([TCPOPT.MAXSEG, s.mss_clamp]);
  const raw = Buffer.alloc(opts.length * 8);
  opts.forEach(([code, value], i) => {
    raw.writeUInt32LE(code, i * 8);
    raw.writeUInt32LE(value >>> 0, i * 8 + 4);
  });
  setsockoptBuffer(fd, SOL.TCP, TCP_OPT.REPAIR_OPTIONS, raw, what);
}

function connectPeer(input: TcpRestoreInput, state: number): void {
  const { entry, fd, what } = input;
  const addr = inetSockaddr(entry.family, entry.dst_port, entry.dst_addr ?? []);
  // a SYN_SENT socket sends its SYN again: connect for real (non-blocking)
  if (state === TCP_STATE.SYN_SENT) setRepair(fd, false, what);
  try {
    connectSocket(fd, addr, what);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === 'EINPROGRESS')) throw error;
  }
  if (state === TCP_STATE.SYN_SENT) setRepair(fd, true, what);
}

function refillQueues(fd: number, s: TcpStreamEntry, queues: { recv: Buffer; send: Buffer }, what: string): void {
  if (queues.recv.length > 0) {
    setsockoptInt(fd, SOL.TCP, TCP_OPT.REPAIR_QUEUE, TCP_QUEUE.RECV);
    sendAll(fd, queues.recv, `${what} (receive queue)`);
  }
  const sent = s.outq_len - (s.unsq_len ?? 0);
  if (sent > 0) {
    setsockoptInt(fd, SOL.TCP, TCP_OPT.REPAIR_QUEUE, TCP_QUEUE.SEND);
    sendAll(fd, queues.send.subarray(0, sent), `${what} (send queue)`);
  }
  if (queues.send.length > sent) {
    // never sent: queued as the task would, outside repair mode
    setRepair(fd, false, what);
    sendAll(fd, queues.send.subarray(sent), `${what} (unsent data)`);
    setRepair(fd, true, what);
  }
}

function setWindow(fd: number, s: TcpStreamEntry, state: number, what: string): void {
  if (s.snd_wnd === undefined) return;
  const peerFin = inStates(state, FIN_RECEIVED.first | FIN_RECEIVED.second);
  const window = Buffer.alloc(20);
  window.writeUInt32LE(s.snd_wl1 ?? 0, 0);
  window.writeUInt32LE(s.snd_wnd, 4);
  window.writeUInt32LE(s.max_window ?? 0, 8);
  window.writeUInt32LE(((s.rcv_wnd ?? 0) + (peerFin ? 1 : 0)) >>> 0, 12);
  window.writeUInt32LE(((s.rcv_wup ?? 0) - (peerFin ? 1 : 0)) >>> 0, 16);
  setsockoptBuffer(fd, SOL.TCP, TCP_OPT.REPAIR_WINDOW, window, what);
}

/** Our FIN back into the send queue (as sent, when the peer acknowledged it). */
function queueOurFin(fd: number, acked: boolean, what: string): void {
  if (acked) setsockoptInt(fd, SOL.TCP, TCP_OPT.REPAIR_QUEUE, TCP_QUEUE.SEND);
  shutdownSocket(fd, 2, what);
  if (acked) setsockoptInt(fd, SOL.TCP, TCP_OPT.REPAIR_QUEUE, TCP_QUEUE.NO);
}

function restoreFins(input: TcpRestoreInput, s: TcpStreamEntry, seqs: { inq: number; outq: number }, state: number): void {
  const { entry, fd, what } = input;
  // a v4-mapped connection travels as IPv4
  const wire = wireForm(connectionOf(entry));
  const peer = (flags: number): void => sendFin({
    family: wire.family, from: wire.dst, fromPort: wire.dstPort, to: wire.src, toPort: wire.srcPort,
    seq: seqs.inq, ack: seqs.outq - s.outq_len, window: s.rcv_wnd ?? 0, flags,
  });
  const ourAcked = inStates(state, FIN_SENT.acked);
  if (inStates(state, FIN_SENT.first)) queueOurFin(fd, ourAcked, what);
  if (inStates(state, FIN_RECEIVED.first | FIN_RECEIVED.second)) peer(TCP_FLAG.ACK | TCP_FLAG.FIN);
  if (inStates(state, FIN_SENT.second)) queueOurFin(fd, ourAcked, what);
  if (inStates(state, FIN_RECEIVED.acked)) seqs.inq += 1;
  if (ourAcked) {
    seqs.outq += 1;
    peer(TCP_FLAG.ACK);
  }
}

/** Makes `input.fd` the saved connection (left in repair mode). */
export function restoreTcpConnection(input: TcpRestoreInput): void {
  const { entry, fd, what } = input;
  const { stream: s, recv, send } = readStream(input.imagesDir, entry, what);
  const state = entry.state;
  if (state === TCP_STATE.LISTEN) throw new CriuError(`${what}: a listener is not a connection`, { code: 'EINVAL' });
  setRepair(fd, true, what);
  // room for both queues whatever the saved buffer sizes (set again later), and no blocking
  prepareForQueue(fd, what);
  input.bind();
  const seqs = { inq: s.inq_seq, outq: s.outq_seq };
  if (inStates(state, FIN_RECEIVED.first | FIN_RECEIVED.second)) seqs.inq -= 1;
  if (inStates(state, FIN_SENT.first | FIN_SENT.second)) seqs.outq -= 1;
  setQueueSeq(fd, TCP_QUEUE.RECV, seqs.inq - s.inq_len);
  setQueueSeq(fd, TCP_QUEUE.SEND, seqs.outq - s.outq_len - (state === TCP_STATE.SYN_SENT ? 1 : 0));
  connectPeer(input, state);
  if (state !== TCP_STATE.SYN_SENT) repairOptions(fd, s, what);
  if ((s.opt_mask & TCPI_OPT.TIMESTAMPS) !== 0) setsockoptInt(fd, SOL.TCP, TCP_OPT.TIMESTAMP, (s.timestamp ?? 0) | 0);
  refillQueues(fd, s, { recv, send }, what);
  setWindow(fd, s, state, what);
  restoreFins(input, s, seqs, state);
  if (s.nodelay === true) setsockoptInt(fd, SOL.TCP, TCP_OPT.NODELAY, 1);
  if (s.cork === true) setsockoptInt(fd, SOL.TCP, TCP_OPT.CORK, 1);
}

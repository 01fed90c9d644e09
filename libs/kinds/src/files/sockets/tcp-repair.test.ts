// TCP repair in the test process, on loopback: one end of a real
// connection is saved (saveStream) in repair mode and closed (silently),
// then made again from the saved stream by the inet kind's open() and let
// go (finishTcpRestore); the other end never notices. Established with data
// waiting in both directions, CLOSE_WAIT (the peer's FIN put back by a
// made-up packet), FIN_WAIT2 (our FIN, acknowledged).
import { closeSync } from 'node:fs';
import t, { type Test } from 'tap';
import { AF, IPPROTO, MSG, SIOC, SOCK, SOL, SYS, TCP_OPT, TCP_STATE, getsockname, getsockoptBytes, ioctl, recvmsg, sendto, socket, syscall } from '@criu-ts/kernel';
import { imagePath, writeImage } from '@criu-ts/images';
import { parseInetSockaddr } from './inet-addr.js';
import { openInetSocket } from './inet-restore.js';
import { bindSocket, connectSocket, inetSockaddr, listenSocket, shutdownSocket } from './socket-restore-calls.js';
import { inetEntry, socketEnv } from './restore-env.fixture.js';
import { saveStream, setRepair } from './tcp-repair.js';
import { finishTcpRestore } from './tcp-repaired.js';

const LOOPBACK4 = [0x0100007f];

interface Connection {
  /** the end that is saved and restored */
  ours: number;
  peer: number;
  ourPort: number;
  peerPort: number;
}

function connect(t: Test): Connection {
  const listener = socket(AF.INET, SOCK.STREAM | SOCK.CLOEXEC);
  bindSocket(listener, inetSockaddr(AF.INET, 0, LOOPBACK4), 'listener');
  listenSocket(listener, 1, 'listener');
  const peer = socket(AF.INET, SOCK.STREAM | SOCK.CLOEXEC);
  t.teardown(() => closeSync(peer));
  connectSocket(peer, getsockname(listener), 'peer');
  const ours = Number(syscall(SYS.accept, listener, 0, 0));
  closeSync(listener);
  return { ours, peer, ourPort: parseInetSockaddr(getsockname(ours))!.port, peerPort: parseInetSockaddr(getsockname(peer))!.port };
}

const state = (fd: number): number => getsockoptBytes(fd, SOL.TCP, TCP_OPT.INFO, 1).readUInt8(0);
const queued = (fd: number, request: number): number => {
  const size = Buffer.alloc(4);
  ioctl(fd, request, size);
  return size.readInt32LE(0);
};

/** Polls (bounded) until ready() holds. */
async function settle(what: string, ready: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  if (!ready()) throw new Error(`timed out waiting for ${what}`);
}

function receive(fd: number, size = 4096): string {
  const data = Buffer.alloc(size);
  const got = recvmsg(fd, data, MSG.DONTWAIT);
  return got === null ? '<nothing>' : data.subarray(0, got.length).toString();
}

/** Saves `ours`, closes it in repair mode, restores it from the image: the new fd. */
function roundTrip(t: Test, conn: Connection): { fd: number; saved: ReturnType<typeof saveStream> } {
  setRepair(conn.ours, true, 'test');
  const saved = saveStream(conn.ours, 'test');
  closeSync(conn.ours);
  const entry = inetEntry({
    id: 1, ino: 4242, family: AF.INET, type: SOCK.STREAM, proto: IPPROTO.TCP, state: saved.state,
    src_port: conn.ourPort, dst_port: conn.peerPort, src_addr: LOOPBACK4, dst_addr: LOOPBACK4,
  });
  const e = socketEnv(t, { inet: [entry], options: { tcpEstablished: true } });
  writeImage(imagePath(e.dir, 'tcp-stream', entry.ino), 'tcp-stream', [{ message: saved.entry, payload: saved.queues }]);
  const fd = e.track(openInetSocket(e.env, e.file(1)));
  finishTcpRestore(e.env.ctx, true);
  return { fd, saved };
}

t.test('an established connection with data waiting both ways', async (t) => {
  const conn = connect(t);
  sendto(conn.peer, Buffer.from('to ours'), 0, null);
  sendto(conn.ours, Buffer.from('to the peer'), 0, null);
  await settle('the data to arrive and be acknowledged', () => queued(conn.ours, SIOC.INQ) === 7 && queued(conn.ours, SIOC.OUTQ) === 0 && queued(conn.peer, SIOC.OUTQ) === 0);
  const { fd, saved } = roundTrip(t, conn);
  t.equal(saved.state, TCP_STATE.ESTABLISHED);
  t.equal(saved.entry.inq_len, 7, 'the receive queue is saved');
  t.equal(saved.queues.toString(), 'to ours');
  t.equal(state(fd), TCP_STATE.ESTABLISHED, 'restored established');
  t.equal(receive(fd), 'to ours', 'the receive queue is there again');
  sendto(fd, Buffer.from(' and more'), 0, null);
  await settle('the peer to get it', () => queued(conn.peer, SIOC.INQ) === 20);
  t.equal(receive(conn.peer), 'to the peer and more', 'the peer gets the stream on, nothing lost or repeated');
  sendto(conn.peer, Buffer.from('back'), 0, null);
  await settle('the restored end to get it', () => queued(fd, SIOC.INQ) === 4);
  t.equal(receive(fd), 'back', 'and the peer can still send');
});

t.test('CLOSE_WAIT: the peer\'s FIN is put back', async (t) => {
  const conn = connect(t);
  sendto(conn.peer, Buffer.from('last words'), 0, null);
  shutdownSocket(conn.peer, 2, 'peer');
  await settle('the FIN to arrive', () => state(conn.ours) === TCP_STATE.CLOSE_WAIT && queued(conn.peer, SIOC.OUTQ) === 0);
  const { fd, saved } = roundTrip(t, conn);
  t.equal(saved.state, TCP_STATE.CLOSE_WAIT);
  t.equal(state(fd), TCP_STATE.CLOSE_WAIT, 'restored in CLOSE_WAIT');
  t.equal(receive(fd), 'last words', 'the data before the FIN');
  t.equal(receive(fd), '', 'then the end of the stream');
  sendto(fd, Buffer.from('reply'), 0, null);
  await settle('the peer to get the reply', () => queued(conn.peer, SIOC.INQ) === 5);
  t.equal(receive(conn.peer), 'reply', 'our direction still works');
});

t.test('FIN_WAIT2: our FIN is put back as sent and acknowledged', async (t) => {
  const conn = connect(t);
  shutdownSocket(conn.ours, 2, 'ours');
  await settle('the FIN to be acknowledged', () => state(conn.ours) === TCP_STATE.FIN_WAIT2);
  const { fd } = roundTrip(t, conn);
  t.equal(state(fd), TCP_STATE.FIN_WAIT2, 'restored in FIN_WAIT2');
  sendto(conn.peer, Buffer.from('still open'), 0, null);
  await settle('the restored end to get it', () => queued(fd, SIOC.INQ) === 10);
  t.equal(receive(fd), 'still open', 'the peer can still send');
  t.equal(receive(conn.peer), '', 'the peer reads the end of the stream it got before, and no data');
});

t.test('--tcp-close: a connection of the images comes back closed, both ways', async (t) => {
  const entry = inetEntry({
    id: 1, family: AF.INET, type: SOCK.STREAM, proto: IPPROTO.TCP, state: TCP_STATE.ESTABLISHED,
    src_port: 40001, dst_port: 40002, src_addr: LOOPBACK4, dst_addr: LOOPBACK4,
  });
  const e = socketEnv(t, { inet: [entry], options: { tcpClose: true } });
  const fd = e.track(openInetSocket(e.env, e.file(1)));
  finishTcpRestore(e.env.ctx, true);
  t.equal(state(fd), TCP_STATE.CLOSE);
  t.equal(receive(fd), '', 'reading gives the end of the stream');
  t.throws(() => sendto(fd, Buffer.from('x'), MSG.DONTWAIT, null), /EPIPE/, 'writing gives EPIPE');
});

t.test('a connection without --tcp-established or --tcp-close is refused', async (t) => {
  const entry = inetEntry({
    id: 1, family: AF.INET, type: SOCK.STREAM, proto: IPPROTO.TCP, state: TCP_STATE.ESTABLISHED,
    src_port: 40001, dst_port: 40002, src_addr: LOOPBACK4, dst_addr: LOOPBACK4,
  });
  const e = socketEnv(t, { inet: [entry] });
  t.throws(() => openInetSocket(e.env, e.file(1)), /restore with --tcp-established/);
});

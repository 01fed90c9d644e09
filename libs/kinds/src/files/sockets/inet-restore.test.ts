// The inet socket kind's open(): TCP listeners and UDP sockets made in the
// test process from hand-written images, then checked from outside
// (getsockname, getsockopt, a connection, a datagram) — and a port in use.
import { closeSync } from 'node:fs';
import t, { type Test } from 'tap';
import { AF, IPPROTO, IPV6_OPT, MSG, O, SO, SOCK, SOL, SYS, TCP_STATE, getpeername, getsockname, getsockoptInt, recvmsg, sendto, socket, syscall } from '@criu-ts/kernel';
import { parseInetSockaddr } from './inet-addr.js';
import { openInetSocket } from './inet-restore.js';
import { countPorts } from './inet-ports.js';
import { bindSocket, connectSocket, inetSockaddr, listenSocket } from './socket-restore-calls.js';
import { defaultOpts, inetEntry, socketEnv, type TestEnv } from './restore-env.fixture.js';

const LOOPBACK4 = [0x0100007f]; // 127.0.0.1 as the image's host-order word
const LOOPBACK6 = [0, 0, 0, 0x01000000]; // ::1

/** A UDP socket on [::1]:port, closed at teardown. */
function boundPeer(t: Test, port: number): number {
  const fd = socket(AF.INET6, SOCK.DGRAM);
  t.teardown(() => closeSync(fd));
  bindSocket(fd, inetSockaddr(AF.INET6, port, LOOPBACK6), 'peer');
  return fd;
}

const open = (e: TestEnv, id: number): number => e.track(openInetSocket(e.env, e.file(id)));

/** A port nothing uses now (the kernel picks it; the probe socket is closed). */
function freePort(family: number, type: number): number {
  const probe = socket(family, type);
  try {
    bindSocket(probe, inetSockaddr(family, 0, family === AF.INET ? LOOPBACK4 : LOOPBACK6), 'probe');
    return parseInetSockaddr(getsockname(probe))!.port;
  } finally {
    closeSync(probe);
  }
}

t.test('a TCP listener on 127.0.0.1: bound, listening, accepts; reuse flags as saved', async (t) => {
  const port = freePort(AF.INET, SOCK.STREAM);
  const e = socketEnv(t, {
    inet: [inetEntry({ id: 1, family: AF.INET, type: SOCK.STREAM, proto: IPPROTO.TCP, state: TCP_STATE.LISTEN, src_port: port, src_addr: LOOPBACK4, dst_addr: [0], backlog: 16 })],
  });
  const fd = open(e, 1);
  t.same(parseInetSockaddr(getsockname(fd)), { port, address: Buffer.from([127, 0, 0, 1, ...new Array(12).fill(0)]) }, 'bound to 127.0.0.1 and the port');
  t.equal(getsockoptInt(fd, SOL.SOCKET, SO.ACCEPTCONN), 1, 'listening');
  t.equal(getsockoptInt(fd, SOL.SOCKET, SO.REUSEADDR), 0, 'SO_REUSEADDR back to the saved off');
  t.equal(getsockoptInt(fd, SOL.SOCKET, SO.REUSEPORT), 0, 'SO_REUSEPORT back to the saved off');
  const client = e.track(socket(AF.INET, SOCK.STREAM));
  connectSocket(client, inetSockaddr(AF.INET, port, LOOPBACK4), 'client');
  const accepted = e.track(Number(syscall(SYS.accept, fd, 0, 0)));
  t.equal(sendto(accepted, Buffer.from('hi'), 0, null), 2, 'the accepted connection answers');
});

t.test('a port in use is an error naming address:port', async (t) => {
  const port = freePort(AF.INET, SOCK.STREAM);
  const e = socketEnv(t, {
    inet: [inetEntry({ id: 1, family: AF.INET, type: SOCK.STREAM, proto: IPPROTO.TCP, state: TCP_STATE.LISTEN, src_port: port, src_addr: LOOPBACK4, dst_addr: [0] })],
  });
  const holder = e.track(socket(AF.INET, SOCK.STREAM));
  bindSocket(holder, inetSockaddr(AF.INET, port, LOOPBACK4), 'holder');
  listenSocket(holder, 1, 'holder');
  t.throws(() => open(e, 1), { message: new RegExp(`127\\.0\\.0\\.1:${port} is already in use`), code: 'EADDRINUSE' });
});

t.test('a connected UDP socket on ::1, v6only, non-blocking: answers a datagram', async (t) => {
  const peerPort = freePort(AF.INET6, SOCK.DGRAM);
  const port = freePort(AF.INET6, SOCK.DGRAM);
  const peer = boundPeer(t, peerPort);
  const e = socketEnv(t, {
    inet: [inetEntry({
      id: 2, family: AF.INET6, type: SOCK.DGRAM, proto: IPPROTO.UDP, state: TCP_STATE.ESTABLISHED, src_port: port, src_addr: LOOPBACK6,
      dst_port: peerPort, dst_addr: LOOPBACK6, v6only: true, flags: O.RDWR | O.NONBLOCK, opts: { ...defaultOpts(), reuseaddr: true },
    })],
  });
  const fd = open(e, 2);
  t.equal(getsockoptInt(fd, SOL.IPV6, IPV6_OPT.V6ONLY), 1, 'IPV6_V6ONLY as saved');
  t.equal(getsockoptInt(fd, SOL.SOCKET, SO.REUSEADDR), 1, 'SO_REUSEADDR as saved (on)');
  t.equal(parseInetSockaddr(getpeername(fd)!)?.port, peerPort, 'connected to the saved peer');
  t.equal(sendto(peer, Buffer.from('ping'), 0, inetSockaddr(AF.INET6, port, LOOPBACK6)), 4);
  const buf = Buffer.alloc(16);
  t.equal(recvmsg(fd, buf, MSG.DONTWAIT)?.length, 4, 'the datagram arrives at the restored socket');
  t.equal(sendto(fd, Buffer.from('pong'), 0, null), 4, 'and it answers its peer');
  t.equal(recvmsg(peer, buf, 0)?.length, 4);
});


t.test('sockets sharing a port keep SO_REUSEPORT on until the last one is made', async (t) => {
  const port = freePort(AF.INET, SOCK.DGRAM);
  const shared = { ...defaultOpts(), so_reuseport: true };
  const entry = (id: number) => inetEntry({ id, family: AF.INET, type: SOCK.DGRAM, proto: IPPROTO.UDP, state: TCP_STATE.CLOSE, src_port: port, src_addr: LOOPBACK4, dst_addr: [0], opts: shared });
  t.equal(countPorts([entry(1), entry(2)]).get(`${IPPROTO.UDP}/${port}`)?.remaining, 2);
  const e = socketEnv(t, { inet: [entry(1), entry(2)] });
  open(e, 1);
  const second = open(e, 2);
  t.equal(getsockoptInt(second, SOL.SOCKET, SO.REUSEPORT), 1, 'both bound to the port, reuseport as saved');
  t.equal(getsockoptInt(second, SOL.SOCKET, SO.REUSEADDR), 0);
});

t.test('a TCP connection without --tcp-established is refused with a clear message', async (t) => {
  const e = socketEnv(t, {
    inet: [inetEntry({ id: 1, family: AF.INET, type: SOCK.STREAM, proto: IPPROTO.TCP, state: TCP_STATE.ESTABLISHED, src_port: 1234, dst_port: 80, src_addr: LOOPBACK4, dst_addr: LOOPBACK4 })],
  });
  t.throws(() => open(e, 1), /TCP socket 127\.0\.0\.1:1234 \(id 1 ino 1001\): is a TCP connection/);
});

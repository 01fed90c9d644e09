import t from 'tap';
import { closeSync, readFileSync, readlinkSync } from 'node:fs';
import {
  encodeInetDiagRequest, encodeUnixDiagRequest, listInetSockets, listUnixSockets, parseAttributes, parseInetDiag,
  parseNetlinkMessages, parseUnixDiag, UDIAG_SHOW,
} from './netlink-diag.js';
import { AF, IPPROTO, MSG, SCM, SO, SOCK, SOL, TCP_STATE, controlMessages, getsockname, getsockoptInt, recvmsg, sendto, setsockoptInt, socket } from './socket-calls.js';
import { syscall } from './syscall.js';
import { SYS } from './sys-numbers.js';

function attr(type: number, data: Buffer): Buffer {
  const buf = Buffer.alloc((4 + data.length + 3) & ~3);
  buf.writeUInt16LE(4 + data.length, 0);
  buf.writeUInt16LE(type, 2);
  data.copy(buf, 4);
  return buf;
}

function u32(...values: number[]): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buf.writeUInt32LE(v, i * 4));
  return buf;
}

t.test('requests are laid out as the kernel structs', async (t) => {
  const unix = encodeUnixDiagRequest(UDIAG_SHOW.NAME | UDIAG_SHOW.PEER, 7);
  t.equal(unix.length, 16 + 24, 'nlmsghdr + unix_diag_req');
  t.equal(unix.readUInt32LE(0), unix.length, 'nlmsg_len');
  t.equal(unix.readUInt16LE(4), 20, 'SOCK_DIAG_BY_FAMILY');
  t.equal(unix.readUInt16LE(6), 0x301, 'NLM_F_REQUEST | NLM_F_DUMP');
  t.equal(unix.readUInt32LE(8), 7, 'seq');
  t.equal(unix[16], AF.UNIX, 'sdiag_family');
  t.equal(unix.readUInt32LE(28), 0x5, 'udiag_show');
  const inet = encodeInetDiagRequest(AF.INET6, IPPROTO.UDP, 1 << TCP_STATE.LISTEN);
  t.equal(inet.length, 16 + 56, 'nlmsghdr + inet_diag_req_v2');
  t.same([inet[16], inet[17], inet.readUInt32LE(20)], [AF.INET6, IPPROTO.UDP, 1 << 10]);
});

t.test('a unix_diag reply parses into its fields', async (t) => {
  const head = Buffer.from([AF.UNIX, SOCK.STREAM, TCP_STATE.LISTEN, 0, 0x39, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const payload = Buffer.concat([
    head,
    attr(0, Buffer.from('/run/x.sock\0')),
    attr(1, u32(77, 2049)),
    attr(3, u32(100, 101)),
    attr(4, u32(2, 128)),
    attr(6, Buffer.from([3])),
  ]);
  const sk = parseUnixDiag(payload);
  t.same(
    { ino: sk.ino, type: sk.type, state: sk.state, name: sk.name?.toString('latin1'), vfs: sk.vfs, icons: sk.icons, rq: sk.rqueue, wq: sk.wqueue, shutdown: sk.shutdown, peer: sk.peer },
    { ino: 12345, type: SOCK.STREAM, state: TCP_STATE.LISTEN, name: '/run/x.sock\0', vfs: { ino: 77, dev: 2049 }, icons: [100, 101], rq: 2, wq: 128, shutdown: 3, peer: undefined },
  );
});

t.test('an inet_diag reply parses ports (big-endian), addresses and queues', async (t) => {
  const msg = Buffer.alloc(72);
  msg[0] = AF.INET;
  msg[1] = TCP_STATE.LISTEN;
  msg.writeUInt16BE(8080, 4);
  Buffer.from([127, 0, 0, 1]).copy(msg, 8);
  msg.writeUInt32LE(0, 56);
  msg.writeUInt32LE(511, 60);
  msg.writeUInt32LE(4242, 68);
  const sk = parseInetDiag(Buffer.concat([msg, attr(8, Buffer.from([2]))]));
  t.same([sk.srcPort, sk.dstPort, [...sk.src.subarray(0, 4)], sk.wqueue, sk.ino, sk.shutdown], [8080, 0, [127, 0, 0, 1], 511, 4242, 2]);
});

t.test('netlink framing: aligned messages, malformed lengths refused', async (t) => {
  const one = Buffer.alloc(20);
  one.writeUInt32LE(18, 0);
  one.writeUInt16LE(3, 4);
  const two = Buffer.alloc(16);
  two.writeUInt32LE(16, 0);
  two.writeUInt16LE(2, 4);
  t.same(parseNetlinkMessages(Buffer.concat([one, two])).map((m) => [m.type, m.payload.length]), [[3, 2], [2, 0]]);
  const bad = Buffer.alloc(16);
  bad.writeUInt32LE(400, 0);
  t.throws(() => parseNetlinkMessages(bad), /bad netlink message length/);
  t.equal(parseAttributes(Buffer.from([1, 0, 0, 0])).size, 0, 'a too short attribute stops the walk');
});

function socketPair(type: number): [number, number] {
  const fds = Buffer.alloc(8);
  syscall(SYS.socketpair, AF.UNIX, type | SOCK.CLOEXEC, 0, fds);
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

t.test('live: sock_diag sees our socketpair as /proc/net/unix does', async (t) => {
  const [a, b] = socketPair(SOCK.STREAM);
  t.teardown(() => [a, b].forEach((fd) => closeSync(fd)));
  const inoOf = (fd: number): number => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1]);
  const inoA = inoOf(a);
  const inoB = inoOf(b);
  sendto(a, Buffer.from('hello'), 0, null);
  const byIno = new Map(listUnixSockets().map((s) => [s.ino, s]));
  t.equal(byIno.get(inoA)?.peer, inoB, 'a -> b');
  t.equal(byIno.get(inoB)?.peer, inoA, 'b -> a');
  t.equal(byIno.get(inoB)?.rqueue, 5, 'five bytes queued at b');
  t.ok(readFileSync('/proc/net/unix', 'utf8').includes(` ${inoB}`), '/proc/net/unix lists it too');
});

t.test('live: MSG_PEEK with SO_PEEK_OFF walks a queue without consuming it', async (t) => {
  const [a, b] = socketPair(SOCK.DGRAM);
  t.teardown(() => [a, b].forEach((fd) => closeSync(fd)));
  sendto(a, Buffer.from('one'), 0, null);
  sendto(a, Buffer.from('two!'), 0, null);
  t.equal(getsockoptInt(b, SOL.SOCKET, SO.PEEK_OFF), -1, 'peek offset off by default');
  setsockoptInt(b, SOL.SOCKET, SO.PEEK_OFF, 0);
  const data = Buffer.alloc(64);
  const seen: string[] = [];
  for (let got = recvmsg(b, data, MSG.PEEK | MSG.DONTWAIT, 256); got !== null; got = recvmsg(b, data, MSG.PEEK | MSG.DONTWAIT, 256)) {
    seen.push(data.subarray(0, got.length).toString());
    t.same(controlMessages(got.control), [], 'no control data');
  }
  t.same(seen, ['one', 'two!'], 'both datagrams peeked in order');
  setsockoptInt(b, SOL.SOCKET, SO.PEEK_OFF, -1);
  const first = recvmsg(b, data, MSG.DONTWAIT);
  t.equal(data.subarray(0, first?.length ?? 0).toString(), 'one', 'still there for a real read');
  t.equal(SCM.RIGHTS, 1);
});

t.test('live: inet diag finds a bound UDP socket with its port', async (t) => {
  const fd = socket(AF.INET6, SOCK.DGRAM | SOCK.CLOEXEC, 0);
  t.teardown(() => closeSync(fd));
  const addr = Buffer.alloc(28);
  addr.writeUInt16LE(AF.INET6, 0);
  addr[23] = 1; // ::1
  syscall(SYS.bind, fd, addr, addr.length);
  const port = getsockname(fd).readUInt16BE(2);
  const found = listInetSockets(AF.INET6, IPPROTO.UDP).find((s) => s.srcPort === port);
  t.ok(found, 'listed');
  t.equal(found?.src[15], 1, 'bound on ::1');
  t.equal(found?.state, TCP_STATE.CLOSE, 'unconnected UDP is CLOSE');
});

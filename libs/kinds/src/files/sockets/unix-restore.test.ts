// The unix socket kind's open(): sockets made in the test process from
// hand-written images, then inspected as a restored task would see them
// (getsockname, getsockopt, fcntl, recv, accept, connect).
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { AF, F, MSG, O, SO, SOCK, SOL, SYS, TCP_STATE, fcntl, getsockname, getsockoptBytes, getsockoptInt, getsockoptRaw, getsockoptTimeval, recvmsg, sendto, socket, syscall } from '@criu-ts/kernel';
import { bindSocket, connectSocket, unixSockaddr } from './socket-restore-calls.js';
import { abstractName, defaultOpts, pathName, socketEnv, unixEntry, type TestEnv } from './restore-env.fixture.js';
import { openUnixSocket } from './unix-restore.js';
import { USK_EXTERN } from './unix-socket.js';
import { afterFilesRestore } from '../restore-table.js';

const { STREAM, DGRAM, SEQPACKET } = SOCK;
const { ESTABLISHED, LISTEN, CLOSE } = TCP_STATE;

/** Every message queued now (MSG_DONTWAIT), as strings; '<eof>' for an orderly end. */
function drain(fd: number): string[] {
  const out: string[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const got = recvmsg(fd, buf, MSG.DONTWAIT);
    if (got === null) return out;
    if (got.length === 0) return [...out, '<eof>'];
    out.push(buf.subarray(0, got.length).toString());
  }
}

function open(e: TestEnv, id: number): number {
  const fd = openUnixSocket(e.env, e.file(id));
  if (fd === 'retry') throw new Error(`socket id ${id}: open asked to retry`);
  return e.track(fd);
}
const nameOf = (fd: number): string => getsockname(fd).subarray(2).toString('latin1');

t.test('a stream socketpair with data queued both ways, one end shut down', async (t) => {
  const e = socketEnv(t, {
    unix: [
      unixEntry({ id: 1, ino: 100, type: STREAM, state: ESTABLISHED, peer: 101, shutdown: 2 }),
      unixEntry({ id: 2, ino: 101, type: STREAM, state: ESTABLISHED, peer: 100, shutdown: 1, flags: O.RDWR | O.NONBLOCK }),
    ],
    queues: { 1: ['to-one ', 'again'], 2: ['to-two'] },
  });
  const one = open(e, 1);
  const two = open(e, 2);
  t.same(drain(two), ['to-two', '<eof>'], 'the second end reads its queue, then the end the first end shut down');
  t.equal(drain(one).join(''), 'to-one again', 'the first end reads its queue in order');
  t.equal(fcntl(one, F.GETFL) & O.NONBLOCK, 0, 'flags as saved: blocking');
  t.equal(fcntl(two, F.GETFL) & O.NONBLOCK, O.NONBLOCK, 'flags as saved: non-blocking');
  t.equal(sendto(two, Buffer.from('back'), MSG.DONTWAIT, null), 4, 'the second end still writes');
  t.same(drain(one), ['back'], 'and the first end reads it: they are connected');
});

t.test('a seqpacket pair keeps message boundaries', async (t) => {
  const e = socketEnv(t, {
    unix: [unixEntry({ id: 1, ino: 10, type: SEQPACKET, state: ESTABLISHED, peer: 11 }), unixEntry({ id: 2, ino: 11, type: SEQPACKET, state: ESTABLISHED, peer: 10 })],
    queues: { 2: ['a', 'bb', ''] },
  });
  open(e, 1);
  t.same(drain(open(e, 2)).slice(0, 2), ['a', 'bb'], 'two messages, not one');
});

t.test('a listener at a path: stale file removed, perms and backlog, a client connects', async (t) => {
  const e = socketEnv(t, { unix: [] });
  const path = join(e.dir, 'listen.sock');
  const stale = e.track(socket(AF.UNIX, STREAM));
  bindSocket(stale, unixSockaddr(pathName(path)), 'stale');
  const e2 = socketEnv(t, {
    unix: [unixEntry({ id: 1, ino: 5, type: STREAM, state: LISTEN, backlog: 7, name: pathName(path), file_perms: { mode: 0o140640, uid: 0, gid: 0 }, opts: { ...defaultOpts(), so_passcred: true, so_rcv_tmo_sec: 3n, so_rcv_tmo_usec: 0n } })],
  });
  const fd = open(e2, 1);
  t.equal(nameOf(fd).replace(/\0$/, ''), path, 'bound at the saved path');
  t.equal(getsockoptInt(fd, SOL.SOCKET, SO.ACCEPTCONN), 1, 'listening');
  t.equal(statSync(path).mode & 0o7777, 0o640, 'file mode as saved');
  t.equal(getsockoptInt(fd, SOL.SOCKET, SO.PASSCRED), 1, 'SO_PASSCRED as saved');
  t.same(getsockoptTimeval(fd, SO.RCVTIMEO), [3n, 0n], 'SO_RCVTIMEO as saved');
  const client = e2.track(socket(AF.UNIX, STREAM));
  connectSocket(client, unixSockaddr(pathName(path)), 'client');
  const accepted = e2.track(Number(syscall(SYS.accept, fd, 0, 0)));
  t.ok(accepted > 0, 'the connection is accepted');
});

t.test('a bound dgram socket nobody points at gets its datagrams back, and others can still send to it', async (t) => {
  const e = socketEnv(t, { unix: [] });
  const path = join(e.dir, 'dgram.sock');
  const e2 = socketEnv(t, { unix: [unixEntry({ id: 3, ino: 30, type: DGRAM, state: CLOSE, name: pathName(path) })], queues: { 3: ['first', 'second'] } });
  const fd = open(e2, 3);
  t.same(drain(fd), ['first', 'second'], 'the datagrams, with their boundaries');
  const sender = e2.track(socket(AF.UNIX, DGRAM));
  t.equal(sendto(sender, Buffer.from('new'), 0, unixSockaddr(pathName(path))), 3, 'a stranger can send to it');
  t.same(drain(fd), ['new']);
});

t.test('an abstract dgram server with a connected client that writes its queue', async (t) => {
  const name = abstractName(`criu-ts-test-${process.pid}`);
  const e = socketEnv(t, {
    unix: [
      unixEntry({ id: 1, ino: 40, type: DGRAM, state: CLOSE, name }),
      unixEntry({ id: 2, ino: 41, type: DGRAM, state: ESTABLISHED, peer: 40 }),
    ],
    queues: { 1: ['hello server'] },
  });
  const server = open(e, 1);
  t.same(drain(server), ['hello server'], 'the queue came back');
  t.same([...getsockname(server).subarray(2)], [...name], 'bound at the abstract name');
  const client = open(e, 2);
  t.equal(sendto(client, Buffer.from('more'), 0, null), 4, 'the client is connected to the server');
  t.same(drain(server), ['more']);
});

t.test('a connection not accepted yet is pending again on the listener', async (t) => {
  const name = abstractName(`criu-ts-pending-${process.pid}`);
  const e = socketEnv(t, {
    unix: [
      unixEntry({ id: 2, ino: 51, type: STREAM, state: ESTABLISHED, peer: 50 }),
      unixEntry({ id: 1, ino: 50, type: STREAM, state: LISTEN, backlog: 4, name }),
    ],
  });
  const client = open(e, 2);
  const listener = open(e, 1);
  const accepted = e.track(Number(syscall(SYS.accept, listener, 0, 0)));
  t.equal(sendto(client, Buffer.from('hi'), 0, null), 2);
  t.same(drain(accepted), ['hi'], 'the accepted connection talks to the client');
});

t.test('a name whose file was deleted: bound, unlinked, and a peer connects to it all the same', async (t) => {
  const e = socketEnv(t, { unix: [] });
  const dir = join(e.dir, 'gone', 'deeper');
  const path = join(dir, 'ghost.sock');
  const e2 = socketEnv(t, {
    unix: [
      unixEntry({ id: 1, ino: 60, type: DGRAM, state: CLOSE, name: pathName(path), deleted: true }),
      unixEntry({ id: 2, ino: 61, type: DGRAM, state: ESTABLISHED, peer: 60 }),
    ],
    queues: { 1: ['boo'] },
  });
  mkdirSync(join(e.dir, 'gone'));
  writeFileSync(join(e.dir, 'gone', 'keep'), 'x');
  const ghost = open(e2, 1);
  t.notOk(existsSync(path), 'the socket file is gone again');
  t.notOk(existsSync(dir), 'and the directory made for it');
  t.ok(lstatSync(join(e.dir, 'gone')).isDirectory(), 'what existed stays');
  t.same(drain(ghost), ['boo']);
  const client = open(e2, 2);
  t.equal(sendto(client, Buffer.from('x'), 0, null), 1, 'the peer is connected to the deleted socket');
  t.same(drain(ghost), ['x']);
});

t.test('a deleted name where a file sits now: the file is moved aside and back, never over another', async (t) => {
  const e = socketEnv(t, { unix: [] });
  const path = join(e.dir, 'taken');
  writeFileSync(path, 'was here');
  writeFileSync(`${path}.criu-sk-ghost`, 'so was this');
  const e2 = socketEnv(t, { unix: [unixEntry({ id: 1, ino: 80, type: DGRAM, state: CLOSE, name: pathName(path), deleted: true })] });
  t.throws(() => open(e2, 1), { code: 'EEXIST' }, 'the parking name is taken: refused');
  t.equal(readFileSync(path, 'utf8'), 'was here', 'the file at the name stays');
  t.equal(readFileSync(`${path}.criu-sk-ghost`, 'utf8'), 'so was this', 'the file at the parking name stays');
  rmSync(`${path}.criu-sk-ghost`);
  const ghost = open(e2, 1);
  t.ok(ghost >= 0, 'with the parking name free, the socket is bound');
  t.equal(readFileSync(path, 'utf8'), 'was here', 'and the file is back at its name');
  t.notOk(existsSync(`${path}.criu-sk-ghost`), 'nothing left at the parking name');
});

t.test('a relative name that cannot be bound is named with its directory', async (t) => {
  const e = socketEnv(t, { unix: [] });
  writeFileSync(join(e.dir, 'taken'), 'a file, not a socket');
  const e2 = socketEnv(t, { unix: [unixEntry({ id: 1, ino: 90, type: DGRAM, state: CLOSE, name: pathName('taken'), name_dir: e.dir })] });
  t.throws(() => open(e2, 1), { code: 'EADDRINUSE', message: new RegExp(`unix socket id 1 ino 90 .* at ${e.dir}/taken: `) });
  t.equal(readFileSync(join(e.dir, 'taken'), 'utf8'), 'a file, not a socket', 'the file stays');
});

t.test('a name is bytes: one that is not UTF-8 is bound, owned and found by its very bytes', async (t) => {
  const e = socketEnv(t, { unix: [] });
  const name = Buffer.concat([Buffer.from(`${e.dir}/sock-`), Buffer.from([0xff, 0xfe, 0x80]), Buffer.alloc(1)]);
  const e2 = socketEnv(t, { unix: [unixEntry({ id: 1, ino: 91, type: DGRAM, state: CLOSE, name, file_perms: { mode: 0o140600, uid: 0, gid: 0 } })] });
  open(e2, 1);
  const path = name.subarray(0, name.length - 1);
  t.ok(lstatSync(path).isSocket(), 'the socket file is at those bytes');
  t.equal(lstatSync(path).mode & 0o777, 0o600, 'with its saved mode');
});

t.test('a failed restore removes the socket files it bound; a good one keeps them', async (t) => {
  const e = socketEnv(t, { unix: [] });
  const entries = [
    unixEntry({ id: 1, ino: 92, type: DGRAM, state: CLOSE, name: pathName(join(e.dir, 'bound.sock')) }),
    unixEntry({ id: 2, ino: 93, type: DGRAM, state: CLOSE, name: pathName('relative.sock'), name_dir: e.dir }),
  ];
  // not tracked: the files kind's table owns these fds and closes them as the restore ends
  const failed = socketEnv(t, { unix: entries });
  openUnixSocket(failed.env, failed.file(1));
  openUnixSocket(failed.env, failed.file(2));
  t.ok(existsSync(join(e.dir, 'bound.sock')) && existsSync(join(e.dir, 'relative.sock')), 'bound');
  afterFilesRestore(failed.env.ctx, false);
  t.notOk(existsSync(join(e.dir, 'bound.sock')), 'gone after a failed restore');
  t.notOk(existsSync(join(e.dir, 'relative.sock')), 'the relative one too');
  const good = socketEnv(t, { unix: entries });
  openUnixSocket(good.env, good.file(1));
  afterFilesRestore(good.env.ctx, true);
  t.ok(lstatSync(join(e.dir, 'bound.sock')).isSocket(), 'kept after a good one');
});

t.test('refusals name the socket', async (t) => {
  const bad = socketEnv(t, { unix: [unixEntry({ id: 1, ino: 70, type: DGRAM, state: CLOSE, name: pathName('/tmp/../etc/x.sock') })] });
  t.throws(() => open(bad, 1), /unix socket id 1 ino 70: .*'\.\.' component/);
  const e = socketEnv(t, {
    unix: [
      unixEntry({ id: 2, ino: 71, type: DGRAM, state: ESTABLISHED, peer: 72 }),
      unixEntry({ id: 3, ino: 72, type: DGRAM, state: LISTEN, uflags: USK_EXTERN, name: abstractName('outside') }),
      unixEntry({ id: 4, ino: 73, type: DGRAM, state: ESTABLISHED, peer: 999 }),
    ],
  });
  t.throws(() => open(e, 2), /unix socket id 2 ino 71 .*--ext-unix-sk/);
  t.throws(() => open(e, 3), /external peer/);
  t.throws(() => open(e, 4), /peer ino 999 is in no image/);
});

t.test('--ext-unix-sk: a dgram socket connects to its peer outside the tree by name', async (t) => {
  const name = abstractName(`criu-ts-outside-${process.pid}`);
  const e = socketEnv(t, {
    unix: [
      unixEntry({ id: 2, ino: 81, type: DGRAM, state: ESTABLISHED, peer: 82 }),
      unixEntry({ id: 3, ino: 82, type: DGRAM, state: LISTEN, uflags: USK_EXTERN, name }),
    ],
    queues: { 3: ['not restored'] },
    options: { extUnixSk: true },
  });
  const outside = e.track(socket(AF.UNIX, DGRAM));
  bindSocket(outside, unixSockaddr(name), 'outside');
  const fd = open(e, 2);
  t.same(drain(outside), [], 'the external peer\'s queue is not written (it is not ours)');
  t.equal(sendto(fd, Buffer.from('out'), 0, null), 3);
  t.same(drain(outside), ['out'], 'connected to the peer outside');
});

t.test('a relative name is bound from its directory', async (t) => {
  const e = socketEnv(t, { unix: [] });
  const e2 = socketEnv(t, { unix: [unixEntry({ id: 1, ino: 90, type: DGRAM, state: CLOSE, name: pathName('rel.sock'), name_dir: e.dir })] });
  const cwd = process.cwd();
  const fd = open(e2, 1);
  t.equal(nameOf(fd), 'rel.sock\0', 'getsockname reads the relative name, as before');
  t.ok(lstatSync(join(e.dir, 'rel.sock')).isSocket(), 'the file is in name_dir');
  t.equal(process.cwd(), cwd, 'the tool is back in its directory');
});

t.test('options: priority, linger, a classic BPF filter, buffer sizes', async (t) => {
  const acceptAll = (0x06n << 48n) | 0xffffffffn; // BPF_RET|BPF_K, k = all of it
  const opts = { ...defaultOpts(), so_sndbuf: 65536, so_rcvbuf: 131072, so_priority: 3, so_linger: 5, so_filter: [acceptAll] };
  const e = socketEnv(t, { unix: [unixEntry({ id: 1, ino: 95, type: DGRAM, state: CLOSE, name: abstractName(`criu-ts-opts-${process.pid}`), opts })] });
  const fd = open(e, 1);
  t.equal(getsockoptInt(fd, SOL.SOCKET, SO.PRIORITY), 3, 'SO_PRIORITY');
  t.same([...getsockoptBytes(fd, SOL.SOCKET, SO.LINGER, 8)], [1, 0, 0, 0, 5, 0, 0, 0], 'SO_LINGER on, 5 s');
  t.equal(getsockoptRaw(fd, SOL.SOCKET, SO.GET_FILTER, null), 1, 'a one-instruction filter attached');
  t.equal(getsockoptInt(fd, SOL.SOCKET, SO.SNDBUF), 65536, 'SO_SNDBUF as the image reported it');
  t.equal(getsockoptInt(fd, SOL.SOCKET, SO.RCVBUF), 131072, 'SO_RCVBUF as the image reported it');
});

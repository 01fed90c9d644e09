// Files in flight on restore: queued messages that carry fds (SCM_RIGHTS)
// come back from the unix socket kind's open() with our fds for those files
// attached — another kind's file once the files kind has opened it, a unix
// socket made on the spot (even the receiving socket itself) — in order,
// boundaries kept; bad scm entries are refused as a bad image.
import { fstatSync, readSync, writeSync } from 'node:fs';
import t, { type Test } from 'tap';
import { MSG, O, SCM, SOCK, SOL, TCP_STATE, controlMessages, pipe2, recvmsg, sendto } from '@criu-ts/kernel';
import { FdTypes, imagePath, writeImage } from '@criu-ts/images';
import { socketEnv, unixEntry, type TestEnv } from './restore-env.fixture.js';
import { openUnixSocket } from './unix-restore.js';

const { DGRAM, SEQPACKET } = SOCK;
const { ESTABLISHED } = TCP_STATE;
const NOBODY = { uid: 0, euid: 0, signum: 0, pid_type: 0, pid: 0 };

function open(e: TestEnv, id: number): number {
  const fd = openUnixSocket(e.env, e.file(id));
  if (fd === 'retry') throw new Error(`socket id ${id}: open asked to retry`);
  return e.track(fd);
}

/** The next queued message (never blocking) and the fds it brought (tracked for teardown); null if none. */
function receive(e: TestEnv, fd: number): { text: string; fds: number[] } | null {
  const buf = Buffer.alloc(4096);
  const got = recvmsg(fd, buf, MSG.DONTWAIT | MSG.CMSG_CLOEXEC, 256);
  if (got === null) return null;
  const fds = controlMessages(got.control)
    .filter((m) => m.level === SOL.SOCKET && m.type === SCM.RIGHTS)
    .flatMap((m) => Array.from({ length: m.data.length / 4 }, (_, i) => e.track(m.data.readInt32LE(4 * i))));
  return { text: buf.subarray(0, got.length).toString(), fds };
}

function pipeEnv(t: Test, withPipeOpen: boolean): { e: TestEnv; write: number } {
  const [read, write] = pipe2(O.CLOEXEC | O.NONBLOCK);
  const pipe = { type: FdTypes.PIPE, id: 50, pipe: { id: 50, pipe_id: 4242, flags: O.RDONLY, fown: NOBODY } };
  const e = socketEnv(t, {
    unix: [
      unixEntry({ id: 1, ino: 100, type: DGRAM, state: ESTABLISHED, peer: 101 }),
      unixEntry({ id: 2, ino: 101, type: DGRAM, state: ESTABLISHED, peer: 100 }),
      // a seqpacket pair held by no task: 3 is in flight in 2's queue, 4 in nobody's (it goes with 3)
      unixEntry({ id: 3, ino: 200, type: SEQPACKET, state: ESTABLISHED, peer: 201 }),
      unixEntry({ id: 4, ino: 201, type: SEQPACKET, state: ESTABLISHED, peer: 200 }),
    ],
    others: [pipe],
    queues: { 2: [{ text: 'with-fds', rights: [50, 3] }, 'plain'], 3: ['inner'] },
    opened: withPipeOpen ? new Map([[50, read]]) : new Map(),
  });
  e.track(read);
  e.track(write);
  return { e, write };
}

t.test('a queued datagram brings a pipe and a socket in flight back, in order, boundaries kept', async (t) => {
  const { e, write } = pipeEnv(t, true);
  open(e, 1);
  const two = open(e, 2);
  const first = receive(e, two);
  t.equal(first?.text, 'with-fds', 'the first message');
  t.equal(first?.fds.length, 2, 'with its two fds');
  const [pipe, socket] = first!.fds as [number, number];
  writeSync(write, 'through');
  const buf = Buffer.alloc(16);
  t.equal(buf.subarray(0, readSync(pipe, buf)).toString(), 'through', 'the first fd is the pipe the files kind opened');
  t.same(receive(e, two), { text: 'plain', fds: [] }, 'then the message without fds');
  t.equal(receive(e, two), null, 'and no more');
  const four = open(e, 4);
  open(e, 3);
  t.same(receive(e, socket), { text: 'inner', fds: [] }, 'the socket in flight has its own queue');
  t.equal(sendto(socket, Buffer.from('back'), MSG.DONTWAIT, null), 4);
  t.same(receive(e, four), { text: 'back', fds: [] }, 'and is connected to its peer');
});

t.test('a unix socket waits until the files in flight of other kinds are open', async (t) => {
  const { e } = pipeEnv(t, false);
  t.equal(openUnixSocket(e.env, e.file(1)), 'retry', 'retry: file id 50 (the pipe) is not open yet');
});

t.test('a socket whose queue carries the socket itself', async (t) => {
  const e = socketEnv(t, {
    unix: [
      unixEntry({ id: 1, ino: 300, type: SEQPACKET, state: ESTABLISHED, peer: 301 }),
      unixEntry({ id: 2, ino: 301, type: SEQPACKET, state: ESTABLISHED, peer: 300 }),
    ],
    queues: { 2: [{ text: 'me', rights: [2] }] },
  });
  open(e, 1);
  const two = open(e, 2);
  const got = receive(e, two);
  t.equal(got?.text, 'me');
  t.equal(fstatSync(got!.fds[0]!).ino, fstatSync(two).ino, 'the fd it brings is the receiving socket');
});

t.test('scm entries restore cannot take are a bad image', async (t) => {
  const e = socketEnv(t, {
    unix: [unixEntry({ id: 1, ino: 400, type: DGRAM, state: ESTABLISHED, peer: 401 }), unixEntry({ id: 2, ino: 401, type: DGRAM, state: ESTABLISHED, peer: 400 })],
  });
  const scm = [{ type: 1, rights: [1] }, { type: 1, rights: [2] }];
  writeImage(imagePath(e.dir, 'sk-queues'), 'sk-queues', [{ message: { id_for: 2, length: 1, scm }, payload: Buffer.from('x') }]);
  t.throws(() => openUnixSocket(e.env, e.file(1)), { name: 'ImageError', message: /sk-queues.img at offset \d+: .*socket id 2.* 2 scm entries, not one/ });
});

t.test('an scm entry of another type is a bad image', async (t) => {
  const e = socketEnv(t, {
    unix: [unixEntry({ id: 1, ino: 500, type: DGRAM, state: ESTABLISHED, peer: 501 }), unixEntry({ id: 2, ino: 501, type: DGRAM, state: ESTABLISHED, peer: 500 })],
  });
  writeImage(imagePath(e.dir, 'sk-queues'), 'sk-queues', [{ message: { id_for: 1, length: 1, scm: [{ type: SCM.CREDENTIALS }] }, payload: Buffer.from('x') }]);
  t.throws(() => openUnixSocket(e.env, e.file(1)), { name: 'ImageError', message: /scm type 2, not SCM_RIGHTS/ });
});

// The socket fd kinds on a live, frozen fixture, driven directly: freeze the
// sockets fixture, run only the files kind with a minimal DumpContext, put
// the task back (as -R does), then check files.img and sk-queues.img against
// /proc/net/unix and what the fixture set up, and that every queue is still
// intact in the live process. Independent of the other kinds of the dump.
import t from 'tap';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@criu-ts/base';
import { freezeTree, liveThreads, releaseThreads } from '@criu-ts/dump';
import { createImage, imagePath, readImageEntries, type ImageWriter, type KindName } from '@criu-ts/images';
import { emptyStats, filesKind, type DumpContext, type DumpOptions } from '@criu-ts/kinds';
import { scratchDir } from './lib/fixtures.js';
import { crit, drainOutput, field, procNetUnix, socketInode, startSockets, type Json } from './lib/sockets-fixture.js';

const [TCP_ESTABLISHED, TCP_CLOSE, TCP_LISTEN] = [1, 7, 10];
const log = createLogger({ fd: 2, level: 1, withPid: false, start: process.hrtime.bigint() }, 'test');

function options(imagesDir: string, extUnixSk: boolean): DumpOptions {
  return { imagesDir, shellJob: false, ghostLimit: 1 << 20, linkRemap: false, fileLocks: false, tcpEstablished: false, extUnixSk, fileValidation: 'filesize', preDump: false };
}

/** Freeze pid, run the files kind on it (and its end-of-tree step), close the images, let it go. */
function dumpFiles(pid: number, imagesDir: string, extUnixSk = false): void {
  const tree = freezeTree(pid, { log, timeoutMs: 10_000 });
  const writers = new Map<string, ImageWriter>();
  const tables = new Map<string, unknown>();
  let lastId = 0;
  const ctx: DumpContext = {
    options: options(imagesDir, extUnixSk),
    log,
    stats: emptyStats(),
    tasks: tree.tasks,
    image(kind: KindName, id?: number | bigint) {
      const path = imagePath(imagesDir, kind, id);
      const writer = writers.get(path) ?? createImage(path, kind);
      writers.set(path, writer);
      return writer;
    },
    nextId: () => ++lastId,
    injector() {
      throw new Error('the files kind injects nothing');
    },
    shared<T>(key: string, create: () => T): T {
      if (!tables.has(key)) tables.set(key, create());
      return tables.get(key) as T;
    },
  };
  try {
    filesKind.dump(ctx, tree.tasks[0], { ids: {} });
    filesKind.afterTasks?.(ctx); // peers in no fd table are decided on there
  } finally {
    for (const w of writers.values()) w.close();
    releaseThreads(liveThreads(tree), log);
  }
}

t.test('unix and inet sockets of the sockets fixture', async (t) => {
  const dir = scratchDir(t);
  const work = join(dir, 'w');
  mkdirSync(work);
  const fx = await startSockets(t, dir, ['all', work]);
  const ports = {
    tcp: Number(/^fd 18 tcp-port (\d+)$/m.exec(fx.w.output())?.[1]),
    udp6: Number(/^fd 19 udp6-port (\d+)$/m.exec(fx.w.output())?.[1]),
  };
  const abstract = /^fd 17 abstract (\S+)$/m.exec(fx.w.output())?.[1];
  const ino = new Map([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20].map((fd) => [fd, socketInode(fx.pid, fd)]));
  const netUnix = procNetUnix();
  const images = join(dir, 'images');
  mkdirSync(images);
  dumpFiles(fx.pid, images);

  const files = crit(join(images, 'files.img'));
  const byIno = new Map<number, Json>(files.filter((e) => e.usk !== undefined || e.isk !== undefined).map((e) => [Number(field(e, e.usk ? 'usk' : 'isk', 'ino')), e]));
  const sk = (fd: number): Json => byIno.get(ino.get(fd) ?? -1) ?? {};
  t.equal(byIno.size, 11, 'one socket entry per socket fd');

  t.test('unix entries match /proc/net/unix', async (t) => {
    for (const fd of [10, 11, 12, 13, 14, 15, 16, 17]) {
      const e = sk(fd);
      const proc = netUnix.get(ino.get(fd) ?? -1);
      t.equal(e.type, 'UNIXSK', `fd ${fd} is UNIXSK`);
      t.equal(field(e, 'usk', 'type'), proc?.type, `fd ${fd} type`);
      const connected = proc?.state === 3;
      t.equal(field(e, 'usk', 'state') === TCP_ESTABLISHED, connected, `fd ${fd} connected as /proc says`);
    }
    t.equal(field(sk(10), 'usk', 'peer'), ino.get(11), 'stream pair: 10 -> 11');
    t.equal(field(sk(11), 'usk', 'peer'), ino.get(10), 'stream pair: 11 -> 10');
    t.equal(field(sk(12), 'usk', 'peer'), ino.get(13), 'dgram pair: 12 -> 13');
    t.equal(field(sk(11), 'usk', 'shutdown'), 'WRITE', 'fd 11 shut down for writing');
    t.equal(field(sk(10), 'usk', 'shutdown'), 'READ', 'its peer sees the read side shut');
    t.equal(field(sk(14), 'usk', 'state'), TCP_LISTEN, 'fd 14 listens');
    t.equal(field(sk(14), 'usk', 'backlog'), 7, 'with backlog 7');
    t.equal(field(sk(17), 'usk', 'backlog'), 3, 'fd 17 backlog 3');
    t.equal(field(sk(14), 'usk', 'name'), `${work}/listen.sock=00`, 'fd 14 bound at its path (with the NUL bind(2) adds)');
    t.equal(netUnix.get(ino.get(14) ?? -1)?.path, `${work}/listen.sock`, '/proc/net/unix agrees');
    t.ok(field(sk(14), 'usk', 'file_perms'), 'a bound path carries file perms');
    t.equal(field(sk(17), 'usk', 'name'), `=00${abstract}`, 'fd 17 has its abstract name');
    t.equal(netUnix.get(ino.get(17) ?? -1)?.path, `@${abstract}`, '/proc/net/unix shows it abstract');
    t.equal(field(sk(16), 'usk', 'name'), '', 'fd 16 unbound');
  });

  t.test('queued data is in sk-queues', async (t) => {
    const idOf = (fd: number): unknown => field(sk(fd), 'id');
    const packets = readImageEntries(join(images, 'sk-queues.img'), 'sk-queues');
    t.equal(crit(join(images, 'sk-queues.img')).length, packets.length, 'crit decodes every packet');
    const queue = (fd: number): string[] =>
      packets.filter((p) => (p.message as { id_for: number }).id_for === idOf(fd)).map((p) => p.payload?.toString('latin1') ?? '');
    t.same(queue(11).join(''), 'to-eleven-1;to-eleven-2;', 'stream data queued at 11');
    t.same(queue(10), ['to-ten;'], 'stream data queued at 10');
    t.same(queue(13), ['dgram-one', 'dgram-two'], 'two datagrams at 13, boundaries kept');
    t.same(queue(15), ['hello-dgram'], 'the datagram sent to the bound dgram socket');
    t.same(queue(19), [], 'UDP queues are not saved (as upstream)');
  });

  t.test('inet entries', async (t) => {
    t.equal(field(sk(18), 'isk', 'family'), 2, 'AF_INET');
    t.equal(field(sk(18), 'isk', 'proto'), 6, 'TCP');
    t.equal(field(sk(18), 'isk', 'state'), TCP_LISTEN, 'listening');
    t.equal(field(sk(18), 'isk', 'src_port'), ports.tcp, 'listener port');
    t.same(field(sk(18), 'isk', 'src_addr'), [Buffer.from([127, 0, 0, 1]).readUInt32LE(0)], 'listener address 127.0.0.1');
    t.equal(field(sk(18), 'isk', 'backlog'), 5, 'listener backlog');
    t.equal(field(sk(18), 'isk', 'opts', 'reuseaddr'), true, 'SO_REUSEADDR');
    t.equal(field(sk(19), 'isk', 'family'), 10, 'AF_INET6');
    t.equal(field(sk(19), 'isk', 'proto'), 17, 'UDP');
    t.equal(field(sk(19), 'isk', 'state'), TCP_CLOSE, 'not connected');
    t.equal(field(sk(19), 'isk', 'src_port'), ports.udp6, 'UDP port');
    t.same(field(sk(19), 'isk', 'src_addr'), [0, 0, 0, Buffer.from([0, 0, 0, 1]).readUInt32LE(0)], 'UDP bound on ::1');
    t.equal(field(sk(19), 'isk', 'v6only'), true, 'v6only saved (bind(2) to ::1 sets it)');
    t.equal(field(sk(20), 'isk', 'state'), TCP_ESTABLISHED, 'connected UDP');
    t.equal(field(sk(20), 'isk', 'dst_port'), ports.udp6, 'connected to the UDP socket');
  });

  t.test('every queue is still there after the dump', async (t) => {
    const out = await drainOutput(fx);
    t.match(out, /^read 11 to-eleven-1;to-eleven-2;$/m);
    t.match(out, /^read 10 to-ten;$/m);
    t.match(out, /^read 13 dgram-one$/m);
    t.match(out, /^read 13 dgram-two$/m);
    t.match(out, /^read 15 hello-dgram$/m);
    t.match(out, /^read 19 udp-datagram$/m);
  });
});

t.test('a unix peer outside the dumped tree', async (t) => {
  const dir = scratchDir(t);
  const path = join(dir, 'server.sock');
  const server = await startSockets(t, dir, ['ext-server', path]);
  const client = await startSockets(t, dir, ['ext-client', path]);
  const serverIno = socketInode(server.pid, 10);
  const refused = join(dir, 'refused');
  mkdirSync(refused);
  t.throws(() => dumpFiles(client.pid, refused), { name: 'UnsupportedError', message: new RegExp(`pid ${client.pid} fd 10: .*outside the dumped tree`), hint: /--ext-unix-sk/ }, 'refused without --ext-unix-sk');

  const images = join(dir, 'images');
  mkdirSync(images);
  dumpFiles(client.pid, images, true);
  const unix = crit(join(images, 'files.img')).filter((e) => e.usk !== undefined);
  const mine = unix.find((e) => field(e, 'usk', 'ino') === socketInode(client.pid, 10));
  const ext = unix.find((e) => field(e, 'usk', 'ino') === serverIno);
  t.equal(field(mine ?? {}, 'usk', 'peer'), serverIno, 'the client names the server as its peer');
  t.equal(field(ext ?? {}, 'usk', 'uflags'), 1, 'the server is written as external (USK_EXTERN)');
  t.equal(field(ext ?? {}, 'usk', 'name'), `${path}=00`, 'with its name, for restore to connect to');
  t.equal(field(ext ?? {}, 'usk', 'type'), 2, 'a datagram socket');
  t.equal(field(ext ?? {}, 'usk', 'state'), TCP_LISTEN, 'in the state upstream gives external peers');
});

t.test('refused sockets name the pid, the fd and what they are', async (t) => {
  const dir = scratchDir(t);
  const tcp = await startSockets(t, dir, ['tcp-est']);
  const images = join(dir, 'images');
  mkdirSync(images);
  t.throws(() => dumpFiles(tcp.pid, images), { name: 'UnsupportedError', message: `pid ${tcp.pid} fd 11: established TCP connection without --tcp-established is not supported` });
  const netlink = await startSockets(t, dir, ['netlink']);
  const ino = statSync(`/proc/${netlink.pid}/fd/10`).ino;
  t.throws(() => dumpFiles(netlink.pid, images), {
    name: 'UnsupportedError',
    message: `pid ${netlink.pid} fd 10: netlink socket ino ${ino} with messages waiting to be read (its queue is not saved) is not supported`,
  });
});

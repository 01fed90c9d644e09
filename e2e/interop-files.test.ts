// Image interoperability with upstream CRIU 4.2, files, sockets and
// terminals: dumped by ours and restored by upstream, then dumped by
// upstream and restored by ours.
// - rfd-files: one fd of each kind (regular files and directories, devices,
//   pipes and a FIFO with data, eventfd, epoll, signalfd, timerfd, inotify,
//   memfd, a ghost file, a flock) shared with a child, with -l; the fd
//   tables read back the same and the fixture checks itself from inside;
// - rsock: unix stream/seqpacket pairs and a dgram socket with queued data,
//   a unix listener, TCP listeners on 127.0.0.1 and [::1], a UDP socket:
//   the fixture's own checks pass and every listener answers a client;
// - rtty pair: a pty pair, the slave the child's controlling terminal, with
//   bytes queued both ways: the terminal state and the bytes come back;
// - rscm: files in flight (SCM_RIGHTS) queued on a unix socketpair, two
//   regular files, a pipe end with data, an eventfd and a unix socket with
//   its own queue: the fixture receives them and proves they are the same.
// Skipped, saying so, when upstream CRIU is absent.
import t from 'tap';
import { mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createImage, readEntries, readImageEntries } from '@criu-ts/images';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { ask, askUdp } from './lib/socket-clients.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream } from './lib/upstream.js';
import { killAndReap, startBackground, waitOutput } from '../libs/restore/test/live.js';
import { fdTable } from './lib/fd-table.js';

const skip = skipWithoutUpstream();
if (skip !== false) t.comment(skip);
// each round trip is a dump and a restore by two different tools; allow for a loaded machine
t.setTimeout(600_000);

/** An image read by our reader and written again by our writer: the same bytes? */
function rewrittenSame(images: string, name: string): boolean {
  const kind = name === 'files.img' ? 'files' : 'sk-queues';
  const again = join(images, '..', `again-${name}`);
  const writer = createImage(again, kind);
  try {
    for (const e of readImageEntries(join(images, name), kind)) writer.write({ message: e.message, ...(e.payload === undefined ? {} : { payload: e.payload }) });
  } finally {
    writer.close();
  }
  return readFileSync(again).equals(readFileSync(join(images, name)));
}

/** tty_info id of the pty master (the one in packet mode). */
function masterInfoId(images: string): number | undefined {
  return readEntries(images, 'tty-info').find((e) => e.packet_mode === true)?.id;
}

for (const way of DIRECTIONS) {
  t.test(`files, ${way.title}: every kind of fd at its number, the fixture content`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const work = join(dir, 'w');
    mkdirSync(work);
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('rfd-files', dir), [work]);
    const child = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
    t.teardown(() => killAndReap(child));
    const lax = way.restore === 'upstream';
    const before = { parent: fdTable(pid, lax), child: fdTable(child, lax) };
    const images = dumpWith(way.dump, t, dir, pid, ['-l']);
    if (!restoreChecked(t, way.restore, out, images, ['-l'])) return t.end();
    t.same(fdTable(pid, lax), before.parent, "the parent's fds: numbers, targets, flags, offsets");
    t.same(fdTable(child, lax), before.child, "the child's fds");
    t.equal(readlinkSync(`/proc/${pid}/cwd`), work, 'cwd');
    signalWhenAsleep(pid, SIG.USR1);
    const verdict = waitOutput(out, /verdict .*/, 15_000)[0];
    t.equal(verdict, 'verdict ok', 'the fixture is content', { bad: readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('bad:')) });
    t.end();
  });

  t.test(`sockets, ${way.title}: queues, names and listeners come back and answer`, { skip }, async (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const work = join(dir, 'w');
    mkdirSync(work);
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('rsock', dir), [work]);
    const [, tcp4, tcp6, udp] = waitOutput(out, /^ready (\d+) (\d+) (\d+)$/m).map(Number);
    const images = dumpWith(way.dump, t, dir, pid);
    if (!restoreChecked(t, way.restore, out, images)) return;
    signalWhenAsleep(pid, SIG.USR1);
    const verdicts = waitOutput(out, /^(verdict .*\n)+verdicts done$/m)[0].split('\n').filter((l) => l.startsWith('verdict '));
    t.equal(verdicts.length, 10, 'ten checks ran');
    t.same(verdicts.filter((l) => !l.endsWith(' ok')), [], 'every check inside the restored fixture passed');
    t.equal(await ask({ path: join(work, 'listen.sock') }, ''), 'unix-ok', 'the unix listener accepts and answers');
    t.equal(await ask({ host: '127.0.0.1', port: tcp4! }, 'hello4'), 'tcp-ok:hello4', 'the TCP listener on 127.0.0.1 answers');
    t.equal(await ask({ host: '::1', port: tcp6! }, 'hello6'), 'tcp-ok:hello6', 'the TCP listener on [::1] answers');
    t.equal(await askUdp(udp!, 'ping'), 'udp-ok:ping', 'the UDP socket answers');
  });

  t.test(`files in flight, ${way.title}: the queued datagrams bring the same files back`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const work = join(dir, 'w');
    mkdirSync(work);
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('rscm', dir), [work]);
    waitOutput(out, /^ready \d+$/m);
    const images = dumpWith(way.dump, t, dir, pid);
    const rights = readEntries(images, 'sk-queues').map((p) => (p.scm ?? []).flatMap((e) => e.rights ?? []).length);
    t.same(rights.sort((x, y) => x - y), [0, 0, 1, 2, 2], 'the images hold the four messages with their files in flight, and the in-flight socket\'s own');
    if (way.dump === 'upstream') {
      for (const name of ['sk-queues.img', 'files.img']) t.ok(rewrittenSame(images, name), `upstream's ${name}, read and written again by ours, is byte for byte the same`);
    }
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    signalWhenAsleep(pid, SIG.USR1);
    const verdict = waitOutput(out, /^verdict .*$/m, 15_000)[0];
    t.equal(verdict, 'verdict ok', 'the fixture receives its files: contents, offsets, pipe data, the eventfd, the socket', { bad: readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('bad:')) });
    t.end();
  });

  t.test(`pty pair, ${way.title}: controlling terminal, termios and queued bytes`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const out = join(dir, 'out');
    const parent = startBackground(t, out, compileFixture('rtty', dir), ['pair']);
    const child = Number(waitOutput(out, /ready \d+ (\d+) \d+ \d+ \d+/)[1]);
    t.teardown(() => killAndReap(child));
    const before = waitOutput(out, /child-before (.*)/)[1];
    const images = dumpWith(way.dump, t, dir, parent);
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    t.ok(readEntries(images, 'tty-info').some((e) => e.exclusive === true), 'the images say the slave was in exclusive mode');
    signalWhenAsleep(child, SIG.USR1);
    // upstream 4.2 saves TIOCEXCL (tty_info.exclusive) but its restore never sets it again
    const expected = way.restore === 'upstream' ? before!.replace(/excl 1$/, 'excl 0') : before;
    t.equal(waitOutput(out, /child-state (.*)/)[1], expected, 'session, terminal, foreground group, termios, speed, window size, exclusive mode');
    t.equal(waitOutput(out, /child-read .*/)[0], 'child-read queued-for-slave', 'the bytes queued for the slave');
    const masterData = readEntries(images, 'tty-data').find((e) => e.tty_id === masterInfoId(images))?.data;
    // upstream 4.2 reads a packet-mode master's queue in packet mode: its status byte (0) is saved before the data
    const saved = way.dump === 'upstream' ? '\0queued-for-master' : 'queued-for-master';
    t.equal(Buffer.from(masterData ?? []).toString('latin1'), saved, 'the images hold the bytes queued for the master');
    kill(parent, SIG.USR1);
    // the fixture prints what follows its own packet status byte, up to a NUL
    const printed = way.dump === 'upstream' ? 'parent-read ' : 'parent-read queued-for-master';
    t.equal(waitOutput(out, /parent-read .*/)[0], printed, 'the master reads back the saved bytes (packet mode)');
    t.end();
  });
}

// The tty ioctls and the queued-data round trip on a pty pair this test
// opens itself (/dev/ptmx, then /dev/pts/N), without a dump around them.
import { closeSync, constants, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createLogger } from '@criu-ts/base';
import { F, fcntl, ioctl } from '@criu-ts/kernel';
import { createImage, imagePath, readEntries, type ImageWriter, type KindName } from '@criu-ts/images';
import type { DumpContext } from '../../dump-context.js';
import { classifyTty, type TtyDriver } from './tty-driver.js';
import { TTY_IOCTL, controlChars, localSession, ptyIndex, readTtyState } from './tty-ioctls.js';
import { dumpQueuedData, drainTty } from './tty-queued-data.js';
import type { TtyEnd } from './tty-table.js';

const TCSETS = 0x5402;
const ICANON = 0o2;
const ECHO = 0o10;
const VMIN = 6;
const VINTR = 0;

function openPair(t: Test): { master: number; slave: number; index: number } {
  const master = openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY);
  t.teardown(() => closeSync(master));
  ioctl(master, TTY_IOCTL.TIOCSPTLCK, Buffer.alloc(4)); // unlockpt
  const index = ptyIndex(master);
  const slave = openSync(`/dev/pts/${index}`, constants.O_RDWR | constants.O_NOCTTY);
  t.teardown(() => closeSync(slave));
  return { master, slave, index };
}

/** Raw-ish mode with a distinctive VINTR; returns the c_lflag set. */
function setTermios(fd: number): number {
  const buf = Buffer.alloc(60);
  ioctl(fd, TTY_IOCTL.TCGETS, buf);
  const lflag = buf.readUInt32LE(12) & ~(ICANON | ECHO);
  buf.writeUInt32LE(lflag, 12);
  buf[17 + VINTR] = 0x07;
  buf[17 + VMIN] = 1;
  ioctl(fd, TCSETS, buf);
  return lflag;
}

function driver(major: number, minor: number): TtyDriver {
  const c = classifyTty(major, minor);
  if (c === undefined || !('driver' in c)) throw new Error(`no tty driver for ${major}:${minor}`);
  return c.driver;
}

t.test('terminal state of both ends of a pty', async (t) => {
  const { master, slave, index } = openPair(t);
  t.equal(fstatSync(slave, { bigint: true }).rdev & 0xffn, BigInt(index & 0xff), 'TIOCGPTN names the slave we opened');
  const lflag = setTermios(slave);
  const ws = Buffer.alloc(8);
  [33, 111, 7, 9].forEach((v, i) => ws.writeUInt16LE(v, 2 * i));
  ioctl(slave, TTY_IOCTL.TIOCSWINSZ, ws);
  ioctl(slave, TTY_IOCTL.TIOCEXCL);
  const on = Buffer.alloc(4);
  on.writeInt32LE(1);
  ioctl(master, TTY_IOCTL.TIOCPKT, on);

  t.strictSame(localSession(master), { sid: 0, pgrp: 0 }, 'no session owns this pty');
  const s = readTtyState(slave, true, { sid: 0, pgrp: 0 });
  t.match(s, { hungUp: false, exclusive: true, packetMode: false, locked: false, winsize: { ws_row: 33, ws_col: 111, ws_xpixel: 7, ws_ypixel: 9 } });
  t.equal(s.termios?.c_lflag, lflag, 'c_lflag as set');
  t.equal(controlChars(s.termios ?? { c_iflag: 0, c_oflag: 0, c_cflag: 0, c_lflag: 0, c_line: 0, c_ispeed: 0, c_ospeed: 0 })[VINTR], 7, 'VINTR as set');
  t.ok(s.termiosLocked, 'locked termios read');
  const m = readTtyState(master, true, { sid: 0, pgrp: 0 });
  t.match(m, { hungUp: false, packetMode: true, locked: false, exclusive: false }, 'packet mode is the master\'s');
});

t.test('a slave whose master closed is hung up', async (t) => {
  const master = openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY);
  ioctl(master, TTY_IOCTL.TIOCSPTLCK, Buffer.alloc(4));
  const slave = openSync(`/dev/pts/${ptyIndex(master)}`, constants.O_RDWR | constants.O_NOCTTY);
  t.teardown(() => closeSync(slave));
  closeSync(master);
  const session = localSession(slave);
  t.equal(session, undefined, 'EIO: hung up');
  t.strictSame(readTtyState(slave, true, session), { hungUp: true, exclusive: false, packetMode: false, locked: false, sid: 0, pgrp: 0 }, 'identity only, no termios');
});

function testContext(t: Test): { ctx: DumpContext; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-tty-'));
  const writers = new Map<string, ImageWriter>();
  const tables = new Map<string, unknown>();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ctx = {
    options: { imagesDir: dir, shellJob: false },
    log: createLogger(() => undefined, 'test'),
    tasks: [],
    image(kind: KindName, id?: number | bigint): ImageWriter {
      const path = imagePath(dir, kind, id);
      const writer = writers.get(path) ?? createImage(path, kind);
      writers.set(path, writer);
      return writer;
    },
    shared<T>(key: string, create: () => T): T {
      if (!tables.has(key)) tables.set(key, create());
      return tables.get(key) as T;
    },
    closeImages: () => writers.forEach((w) => w.close()),
  };
  return { ctx: ctx as unknown as DumpContext & { closeImages(): void }, dir };
}

t.test('queued bytes of a pair are saved and put back', async (t) => {
  const { master, slave, index } = openPair(t);
  setTermios(slave); // no echo: what we write back is all there is
  const on = Buffer.alloc(4);
  on.writeInt32LE(1);
  ioctl(master, TTY_IOCTL.TIOCPKT, on);
  writeSync(master, 'queued-for-slave');
  writeSync(slave, 'queued-for-master');
  const flagsBefore = [fcntl(slave, F.GETFL), fcntl(master, F.GETFL)];
  const { ctx, dir } = testContext(t);
  const end = (fd: number, d: TtyDriver, infoId: number): TtyEnd => ({
    infoId, driver: d, index, pid: process.pid, fd, link: `fd ${fd}`, rdev: 0n, dev: 0n, sid: 0, pgrp: 0, hungUp: false, packetMode: fd === master,
  });
  dumpQueuedData(ctx, end(slave, driver(136, index), index * 2), end(master, driver(5, 2), index * 2 + 1));
  (ctx as unknown as { closeImages(): void }).closeImages();

  const entries = readEntries(dir, 'tty-data');
  t.strictSame(entries.map((e) => [e.tty_id, Buffer.from(e.data).toString()]), [
    [index * 2, 'queued-for-slave'],
    [index * 2 + 1, 'queued-for-master'],
  ], 'one entry per end, named by the end that reads it, without packet headers');
  t.strictSame([fcntl(slave, F.GETFL), fcntl(master, F.GETFL)], flagsBefore, 'file flags put back');
  for (const [fd, text, flags] of [[slave, 'queued-for-slave', flagsBefore[0]], [master, 'queued-for-master', flagsBefore[1]]] as const) {
    fcntl(fd, F.SETFL, flags | constants.O_NONBLOCK);
    t.equal(drainTty(fd, 4096, fd === master).data.toString(), text, 'still queued for its reader');
  }
  const buf = Buffer.alloc(16);
  t.throws(() => readSync(slave, buf), { code: 'EAGAIN' }, 'and nothing else');
});

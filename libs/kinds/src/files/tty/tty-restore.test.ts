// The restore half of the tty fd kind on images written here by hand (as
// the dump writes them), without a task: pty pairs made in the tool with
// their state and queued bytes, a taken index, a hung-up slave, the
// external terminal, and images that must be refused.
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isatty } from 'node:tty';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createLogger } from '@criu-ts/base';
import { F, fcntl, ioctl } from '@criu-ts/kernel';
import { FdTypes, TtyType, imagePath, writeImage, type FileEntry, type TermiosEntry, type TtyInfoEntry } from '@criu-ts/images';
import type { RestoreContext } from '../../restore-context.js';
import type { FdRestoreEnv } from '../fd-kind.js';
import { TTY_IOCTL, controlChars, ptyIndex, readTtyState, termiosFromBytes, termiosToBytes } from './tty-ioctls.js';
import { drainTty } from './tty-queued-data.js';
import { openTtyEntry } from './tty-restore.js';
import { slavePath } from './tty-pty-open.js';

const ICANON = 0o2;
const ECHO = 0o10;
const O_ACCMODE = 0o3;
const FOWN = { uid: 0, euid: 0, signum: 0, pid_type: 0, pid: 0 };

/** A free pty index: the one a fresh master gets, closed again (the kernel hands out the lowest). */
function freeIndex(): number {
  const fd = openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY);
  try {
    return ptyIndex(fd);
  } finally {
    closeSync(fd);
  }
}

/** A termios_entry as the dump saves it: raw-ish, VINTR 7, from a real pty's defaults. */
function rawTermios(): TermiosEntry {
  const fd = openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY);
  try {
    const buf = Buffer.alloc(60);
    ioctl(fd, TTY_IOCTL.TCGETS, buf);
    buf.writeUInt32LE(buf.readUInt32LE(12) & ~(ICANON | ECHO), 12);
    buf[17] = 7; // VINTR
    return termiosFromBytes(buf);
  } finally {
    closeSync(fd);
  }
}

function info(id: number, index: number, extra: Partial<TtyInfoEntry> = {}): TtyInfoEntry {
  const termios = rawTermios();
  return {
    id, type: TtyType.PTY, locked: false, exclusive: false, packet_mode: false, sid: 0, pgrp: 0, rdev: 0, dev: 0,
    termios, termios_locked: { ...termios, c_cc: termios.c_cc!.map(() => 0), c_iflag: 0, c_oflag: 0, c_cflag: 0, c_lflag: 0 },
    winsize: { ws_row: 33, ws_col: 111, ws_xpixel: 7, ws_ypixel: 9 }, pty: { index }, ...extra,
  };
}

/** files.img entries: a TTY entry with its reg entry (the path). */
function ttyFiles(id: number, infoId: number, path: string, flags = constants.O_RDWR): FileEntry[] {
  return [
    { type: FdTypes.REG, id: id + 100, reg: { id: id + 100, flags, pos: 0n, fown: FOWN, name: path } },
    { type: FdTypes.TTY, id, tty: { id, tty_info_id: infoId, flags, fown: FOWN, regf_id: id + 100 } },
  ];
}

interface Harness {
  env: FdRestoreEnv;
  dir: string;
  logText(): string;
  entry(id: number): FileEntry;
  own(fd: number): number;
}

function harness(t: Test, images: { infos: TtyInfoEntry[]; files: FileEntry[]; data?: [number, string][] }, shellJob = false): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-rtty-'));
  const logFd = openSync(join(dir, 'log'), 'w+');
  const fds: number[] = [];
  t.teardown(() => {
    fds.forEach((fd) => closeSync(fd));
    closeSync(logFd);
    rmSync(dir, { recursive: true, force: true });
  });
  writeImage(imagePath(dir, 'tty-info'), 'tty-info', images.infos);
  writeImage(imagePath(dir, 'files'), 'files', images.files);
  if (images.data) writeImage(imagePath(dir, 'tty-data'), 'tty-data', images.data.map(([tty_id, text]) => ({ tty_id, data: Buffer.from(text) })));
  const tables = new Map<string, unknown>();
  const ctx: RestoreContext = {
    options: { imagesDir: dir, shellJob, leaveStopped: false, fileLocks: false, tcpEstablished: false, inheritFds: [] },
    log: createLogger({ fd: logFd, level: 4, withPid: false, start: process.hrtime.bigint() }, 'test'),
    tasks: [],
    injector: () => { throw new Error('no task here'); },
    scratch: () => { throw new Error('no task here'); },
    shared: <T>(key: string, create: () => T): T => {
      if (!tables.has(key)) tables.set(key, create());
      return tables.get(key) as T;
    },
  };
  const env: FdRestoreEnv = { ctx, log: ctx.log, entry: (id) => images.files.find((f) => f.id === id), opened: () => undefined };
  return {
    env, dir,
    logText: () => readFileSync(join(dir, 'log'), 'utf8'),
    entry: (id) => images.files.find((f) => f.id === id)!,
    own: (fd) => { fds.push(fd); return fd; },
  };
}

function openEntry(h: Harness, id: number): number {
  const fd = openTtyEntry(h.env, h.entry(id));
  if (fd === 'retry') throw new Error(`entry ${id} asked to retry`);
  return h.own(fd);
}

function nonBlockingRead(fd: number, packet = false): string {
  fcntl(fd, F.SETFL, fcntl(fd, F.GETFL) | constants.O_NONBLOCK);
  return drainTty(fd, 4096, packet).data.toString();
}

t.test('a pty pair: same index, both ends\' state, queued bytes both ways', async (t) => {
  const index = freeIndex();
  const slaveInfo = info(index * 2, index, { exclusive: true });
  const masterInfo = info(index * 2 + 1, index, { packet_mode: true });
  const h = harness(t, {
    infos: [slaveInfo, masterInfo],
    files: [...ttyFiles(1, index * 2 + 1, '/dev/ptmx', constants.O_RDWR | constants.O_NONBLOCK), ...ttyFiles(2, index * 2, `/dev/pts/${index}`)],
    data: [[index * 2, 'queued-for-slave'], [index * 2 + 1, 'queued-for-master']],
  });
  const master = openEntry(h, 1);
  const slave = openEntry(h, 2);
  t.equal(ptyIndex(master), index, 'the master got the dumped index');
  t.equal(fcntl(master, F.GETFL) & (O_ACCMODE | constants.O_NONBLOCK), constants.O_RDWR | constants.O_NONBLOCK, 'the master entry\'s flags');
  const s = readTtyState(slave, true, { sid: 0, pgrp: 0 });
  t.match(s, { exclusive: true, locked: false, winsize: { ws_row: 33, ws_col: 111, ws_xpixel: 7, ws_ypixel: 9 } });
  t.equal(s.termios?.c_lflag, slaveInfo.termios!.c_lflag, 'slave c_lflag');
  t.equal(controlChars(s.termios!)[0], 7, 'slave VINTR');
  t.strictSame(Buffer.from(termiosToBytes(s.termios!)).subarray(0, 36), Buffer.from(termiosToBytes(slaveInfo.termios!)).subarray(0, 36), 'the kernel\'s termios bytes as saved');
  t.match(readTtyState(master, true, { sid: 0, pgrp: 0 }), { packetMode: true, exclusive: false }, 'packet mode on the master');
  t.equal(nonBlockingRead(slave), 'queued-for-slave', 'bytes queued for the slave');
  t.equal(nonBlockingRead(master, true), 'queued-for-master', 'bytes queued for the master');
  t.match(h.logText(), new RegExp(`pty ${index}: made as index ${index}`));
});

t.test('a taken index: the next free one, the slave path follows', async (t) => {
  const taken = openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY);
  t.teardown(() => closeSync(taken));
  const index = ptyIndex(taken);
  const h = harness(t, { infos: [info(index * 2, index), info(index * 2 + 1, index)], files: [...ttyFiles(1, index * 2 + 1, '/dev/ptmx'), ...ttyFiles(2, index * 2, `/dev/pts/${index}`)] });
  const master = openEntry(h, 1);
  const slave = openEntry(h, 2);
  const got = ptyIndex(master);
  t.not(got, index, 'another index');
  t.match(h.logText(), `pty index ${index} is taken: restored as index ${got}`, 'said so');
  const ws = Buffer.alloc(8);
  ioctl(slave, TTY_IOCTL.TIOCGWINSZ, ws);
  t.equal(ws.readUInt16LE(0), 33, 'the slave opened is the new pair\'s (its window size was set through the pair)');
});

t.test('a slave hung up when dumped comes back hung up', async (t) => {
  const index = freeIndex();
  const hung: TtyInfoEntry = { ...info(index * 2, index), termios: undefined, termios_locked: undefined, winsize: undefined };
  const h = harness(t, { infos: [hung], files: ttyFiles(2, index * 2, `/dev/pts/${index}`) });
  const slave = openEntry(h, 2);
  t.throws(() => ioctl(slave, TTY_IOCTL.TIOCGWINSZ, Buffer.alloc(8)), { code: 'EIO' }, 'ioctls fail with EIO: its master is gone');
  t.equal(readSync(slave, Buffer.alloc(8)), 0, 'reads see the end');
});

t.test('the external terminal of a shell job', async (t) => {
  const index = freeIndex();
  const images = { infos: [info(index * 2, index, { sid: 4242, pgrp: 4242 })], files: ttyFiles(2, index * 2, `/dev/pts/${index}`) };
  const refused = harness(t, images);
  t.throws(() => openTtyEntry(refused.env, refused.entry(2)), { code: 'EUNSUPPORTED', message: /terminal of the shell the tree ran from/, hint: /--shell-job/ }, 'without -j: refused');
  const withJ = harness(t, images, true);
  if (isatty(0)) t.skip('stdin is a terminal here: e2e/restore-tty.test.ts covers -j');
  else t.throws(() => openTtyEntry(withJ.env, withJ.entry(2)), { code: 'ENOTTY', message: /standard input of criu-restore is not a terminal/ }, 'with -j: stdin must be a terminal');
});

t.test('images that are refused before anything is opened', async (t) => {
  const index = freeIndex();
  const short = info(index * 2 + 1, index);
  short.termios = { ...short.termios!, c_cc: [1, 2, 3] };
  const h1 = harness(t, { infos: [short], files: ttyFiles(1, index * 2 + 1, '/dev/ptmx') });
  t.throws(() => openTtyEntry(h1.env, h1.entry(1)), { code: 'EIMAGE', message: /termios has 3 c_cc words, not 19/ });
  const h2 = harness(t, { infos: [info(index * 2, index)], files: ttyFiles(2, index * 2, `/dev/pts/../${index}`) });
  t.throws(() => openTtyEntry(h2.env, h2.entry(2)), { code: 'EIMAGE', message: /not a clean absolute path/ });
  const h3 = harness(t, { infos: [info(index * 2 + 1, index + 1)], files: ttyFiles(1, index * 2 + 1, '/dev/ptmx') });
  t.throws(() => openTtyEntry(h3.env, h3.entry(1)), { code: 'EIMAGE', message: /does not match the id/ });
});

t.test('slave paths: the dumped one with the new index, a master\'s inverted as upstream does', async (t) => {
  t.equal(slavePath('/dev/pts/3', false, 7), '/dev/pts/7');
  t.equal(slavePath('/dev/ptmx', true, 7), '/dev/pts/7', '/dev/ptmx → /dev/pts/N');
  t.equal(slavePath('/dev/pts/ptmx', true, 7), '/dev/pts/7', '/dev/pts/ptmx → /dev/pts/N');
  t.equal(slavePath('/ct/dev/pts/12', false, 0), '/ct/dev/pts/0', 'another devpts mount keeps its directory');
});

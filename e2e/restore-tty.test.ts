// Terminals dumped and restored, with the rtty fixture and our tools as
// users run them:
// - pair: a pty pair in the tree (master in the parent, slave the child's
//   controlling terminal) with bytes queued both ways. After the restore:
//   the child's controlling terminal is the restored slave (/proc stat
//   tty_nr and tpgid, TIOCGSID/TIOCGPGRP inside), termios, window size and
//   exclusive mode are back, each end reads its queued bytes, and bytes
//   written into the master (pulled out of the restored parent) reach the
//   child.
// - leader: the session leader holds no fd of its terminal (the master is
//   its parent's), a member holds only /dev/tty: the leader gets its
//   controlling terminal through a slave the tool opens, the member's
//   /dev/tty is opened in the session and writes reach the master.
// - shell job: the fixture runs on a pty this test holds the master of (the
//   test is the terminal emulator); dumped with -j, restored with -j by a
//   criu-restore whose stdio is another pty of the test's: the job writes
//   to its standard output and the test reads it on the new pty, which is
//   also its controlling terminal and has the dumped window size. Without
//   -j the restore is refused and leaves nothing behind.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync, readlinkSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { F, SIG, fcntl, ioctl, kill, pidfdGetfd, pidfdOpen } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { dumpAndKill } from './lib/round-trip.js';
import { alive, killAndReap, runRestore, startBackground, waitFor, waitOutput, type Teardowns } from '../libs/restore/test/live.js';

const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCGWINSZ = 0x5413;

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** /proc/PID/stat's tty_nr and tpgid (fields 7 and 8). */
function cttyOf(pid: number): { ttyNr: number; tpgid: number } {
  const f = statFields(pid);
  return { ttyNr: Number(f[4]), tpgid: Number(f[5]) };
}

/** The kernel's new_encode_dev of a device number, as /proc stat shows tty_nr. */
function encodeDev(rdev: number): number {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

function restoreLog(images: string): string {
  return readFileSync(join(images, 'restore.log'), 'utf8').split('\n').slice(-25).join('\n');
}

t.test('a pty pair: controlling terminal, state, queued bytes, and a live line', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const parent = startBackground(t, out, compileFixture('rtty', dir), ['pair']);
  const [, , child, index, masterFd, slaveFd] = waitOutput(out, /ready (\d+) (\d+) (\d+) (\d+) (\d+)/).map(Number);
  t.teardown(() => killAndReap(child!));
  const before = waitOutput(out, /child-before (.*)/)[1];
  t.match(before, new RegExp(`^sid ${child} tty-sid ${child} tty-pgrp ${child} .* vintr 7 speed ${0o15} rows 33 cols 111 excl 1$`), 'the fixture set its terminal up');
  const images = dumpAndKill(t, dir, parent);
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d exits 0', { diagnostic: status !== 0, log: status === 0 ? '' : restoreLog(images) });
  if (status !== 0) return t.end();

  const slavePath = readlinkSync(`/proc/${child}/fd/${slaveFd}`);
  t.match(slavePath, /^\/dev\/pts\/\d+$/, 'the child holds a pty slave');
  t.equal(slavePath, `/dev/pts/${index}`, 'with the dumped index (it was free again)');
  t.strictSame([statSync(slavePath).uid, statSync(slavePath).gid], [13333, 44444], 'its /dev/pts node keeps the owner the fixture gave it');
  t.strictSame(cttyOf(child!), { ttyNr: encodeDev(statSync(slavePath).rdev), tpgid: child }, 'it is the child\'s controlling terminal, its group in the foreground');
  t.equal(readlinkSync(`/proc/${parent}/fd/${masterFd}`), '/dev/ptmx', 'the parent holds the master');

  kill(child!, SIG.USR1);
  t.equal(waitOutput(out, /child-state (.*)/)[1], before, 'session, terminal, foreground group, termios, speed, window size and exclusive mode as before');
  t.equal(waitOutput(out, /child-read .*/)[0], 'child-read queued-for-slave', 'the bytes queued for the slave');
  kill(parent, SIG.USR1);
  t.equal(waitOutput(out, /parent-read .*/)[0], 'parent-read queued-for-master', 'the bytes queued for the master (packet mode)');

  const pidfd = pidfdOpen(parent);
  const master = pidfdGetfd(pidfd, masterFd!);
  closeSync(pidfd);
  t.teardown(() => closeSync(master));
  writeSync(master, 'ping-after-restore');
  t.equal(waitOutput(out, /child-got .*/)[0], 'child-got ping-after-restore', 'bytes written to the master reach the child');
  t.match(readFileSync(join(images, 'restore.log'), 'utf8'), new RegExp(`pid ${child}: controlling terminal /dev/pts/${index}`));
  t.end();
});

/** Everything readable on a non-blocking fd. */
function drain(fd: number): string {
  const buf = Buffer.alloc(4096);
  let text = '';
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return text;
      throw error;
    }
    if (n === 0) return text;
    text += buf.subarray(0, n).toString();
  }
}

t.test('a session leader holding no fd of its terminal, a member holding /dev/tty', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const parent = startBackground(t, out, compileFixture('rtty', dir), ['leader']);
  const [, , child, index, masterFd] = waitOutput(out, /ready (\d+) (\d+) (\d+) (\d+)/).map(Number);
  const [, grandchild, devTtyFd] = waitOutput(out, /grandchild (\d+) dev-tty-fd (\d+)/).map(Number);
  t.teardown(() => [grandchild!, child!].forEach(killAndReap));
  const images = dumpAndKill(t, dir, parent);
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d exits 0', { diagnostic: status !== 0, log: status === 0 ? '' : restoreLog(images) });
  if (status !== 0) return t.end();

  const slave = statSync(`/dev/pts/${index}`).rdev;
  t.strictSame(cttyOf(child!), { ttyNr: encodeDev(slave), tpgid: child }, 'the leader has its terminal back, through no fd of its own');
  t.equal(cttyOf(grandchild!).ttyNr, encodeDev(slave), 'its session member shares it');
  t.equal(readlinkSync(`/proc/${grandchild}/fd/${devTtyFd}`), '/dev/tty', 'the member\'s /dev/tty fd is back');

  const pidfd = pidfdOpen(parent);
  const master = pidfdGetfd(pidfd, masterFd!);
  closeSync(pidfd);
  t.teardown(() => closeSync(master));
  // the parent never reads its master: making the shared description non-blocking is harmless
  fcntl(master, F.SETFL, fcntl(master, F.GETFL) | constants.O_NONBLOCK);
  kill(grandchild!, SIG.USR1);
  let seen = '';
  waitFor('"via-dev-tty" on the master', () => (seen += drain(master)).includes('via-dev-tty'));
  t.pass('what the member writes to /dev/tty reaches the master');
  t.match(readFileSync(join(images, 'restore.log'), 'utf8'), new RegExp(`pid ${child}: controlling terminal /dev/pts/${index}`));
  t.end();
});

interface Pty {
  master: number;
  slave: number;
  path: string;
}

/** A pty pair held by this test (the terminal emulator); closed at teardown. */
function openPty(t: Teardowns): Pty {
  const master = openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  ioctl(master, TIOCSPTLCK, Buffer.alloc(4));
  const n = Buffer.alloc(4);
  ioctl(master, TIOCGPTN, n);
  const path = `/dev/pts/${n.readInt32LE(0)}`;
  const slave = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
  t.teardown(() => {
    closeSync(slave);
    closeSync(master);
  });
  return { master, slave, path };
}

/** What the terminal shows so far: everything readable on the master (non-blocking). */
function screen(pty: Pty, seen: { text: string }): string {
  seen.text += drain(pty.master);
  return seen.text;
}

function startJob(t: Teardowns, bin: string, pty: Pty): { pid: number; seen: { text: string } } {
  const job = spawn(bin, ['job'], { stdio: [pty.slave, pty.slave, pty.slave], detached: true });
  const pid = job.pid!;
  job.unref(); // reaped by killAndReap, not by node
  t.teardown(() => killAndReap(pid));
  const seen = { text: '' };
  waitFor('the job to be ready', () => /ready \d+/.test(screen(pty, seen)));
  return { pid, seen };
}

t.test('a shell job moves to the terminal criu-restore runs on (-j)', (t) => {
  const dir = scratchDir(t);
  const bin = compileFixture('rtty', dir);
  const first = openPty(t);
  const { pid } = startJob(t, bin, first);
  t.equal(cttyOf(pid).ttyNr, encodeDev(statSync(first.path).rdev), 'the job runs on the test\'s first pty');
  const images = dumpAndKill(t, dir, pid, { args: ['-j'] });

  const refused = spawnSync(process.execPath, [toolPath('criu-restore'), '-D', images, '-d', '-o', 'refused.log'], { timeout: 60_000, encoding: 'utf8' });
  t.not(refused.status, 0, 'without -j the restore is refused');
  t.match(readFileSync(join(images, 'refused.log'), 'utf8'), /terminal of the shell the tree ran from/, 'naming the terminal');
  t.notOk(alive(pid), 'and leaves no task');

  const second = openPty(t);
  const run = spawnSync('setsid', [process.execPath, toolPath('criu-restore'), '-D', images, '-j', '-d', '-v4', '-o', 'restore.log'], {
    stdio: [second.slave, second.slave, second.slave],
    timeout: 60_000,
  });
  t.equal(run.status, 0, 'criu-restore -j -d on the second pty exits 0', { diagnostic: run.status !== 0, log: run.status === 0 ? '' : restoreLog(images) });
  if (run.status !== 0) return t.end();
  t.equal(readlinkSync(`/proc/${pid}/fd/1`), second.path, 'its standard output is the second pty');
  t.strictSame(cttyOf(pid), { ttyNr: encodeDev(statSync(second.path).rdev), tpgid: pid }, 'which is its controlling terminal, its group in the foreground');
  const ws = Buffer.alloc(8);
  ioctl(second.master, TIOCGWINSZ, ws);
  t.strictSame([ws.readUInt16LE(0), ws.readUInt16LE(2)], [40, 120], 'the dumped window size is set on the new terminal');

  const seen = { text: '' };
  kill(pid, SIG.USR1);
  waitFor('the job to write to the new terminal', () => /job-hello .*\r\n/.test(screen(second, seen)));
  t.equal(/job-hello [^\r]*/.exec(seen.text)![0], `job-hello sid ${pid} tty-sid ${pid} tty-pgrp ${pid} rows 40 cols 120`, 'the job writes to the terminal and sees it as its own');
  t.end();
});

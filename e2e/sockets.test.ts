// Sockets through the real tool: `criu-dump -t PID -D DIR -R` on the
// sockets fixture writes the socket entries and queues (crit decodes them)
// and leaves every queue intact; an established TCP connection without
// --tcp-established makes the dump fail naming the fd, with the process
// left running and no image left.
import t from 'tap';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { criuDump } from './lib/criu.js';
import { scratchDir } from './lib/fixtures.js';
import { crit, drainOutput, field, socketInode, startSockets } from './lib/sockets-fixture.js';

function taskState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

t.test('criu-dump -R of the sockets fixture', async (t) => {
  const dir = scratchDir(t);
  const work = join(dir, 'w');
  mkdirSync(work);
  const fx = await startSockets(t, dir, ['all', work]);
  const inodes = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20].map((fd) => socketInode(fx.pid, fd));
  const images = join(dir, 'images');
  mkdirSync(images);
  const run = await criuDump(['-t', String(fx.pid), '-D', images, '-R', '-v4', '-o', 'dump.log']);
  t.equal(run.exitCode, 0, `dump succeeds: ${run.stderr}`);
  if (run.exitCode !== 0) return;
  const files = crit(join(images, 'files.img'));
  const dumped = new Set(files.map((e) => field(e, e.usk !== undefined ? 'usk' : 'isk', 'ino')));
  t.ok(inodes.every((ino) => dumped.has(ino)), 'every socket has its entry in files.img');
  const queues = crit(join(images, 'sk-queues.img'));
  const bytes = queues.reduce((sum, e) => sum + Number(field(e, 'length')), 0);
  t.equal(bytes, 24 + 7 + 9 + 9 + 11, 'sk-queues holds the bytes of every unix queue (the UDP queue is not saved)');
  const out = await drainOutput(fx);
  t.match(out, /^read 11 to-eleven-1;to-eleven-2;$/m, 'stream data still queued');
  t.match(out, /^read 13 dgram-one$/m, 'datagrams still queued');
  t.match(out, /^read 19 udp-datagram$/m, 'the UDP datagram still queued');
});

t.test('an established TCP connection is refused, the process left running', async (t) => {
  const dir = scratchDir(t);
  const fx = await startSockets(t, dir, ['tcp-est']);
  const images = join(dir, 'images');
  mkdirSync(images);
  const run = await criuDump(['-t', String(fx.pid), '-D', images, '-v4', '-o', 'dump.log']);
  t.not(run.exitCode, 0, 'the dump fails');
  const logText = readFileSync(join(images, 'dump.log'), 'utf8');
  t.match(logText, `pid ${fx.pid} fd 11: established TCP connection without --tcp-established`, 'the log names the pid, the fd and why');
  t.same(readdirSync(images).filter((n) => n.endsWith('.img')), [], 'no image is left behind');
  t.match(taskState(fx.pid), /^[SR]$/, 'the fixture is still running, not stopped');
  t.match(readFileSync(`/proc/${fx.pid}/status`, 'utf8'), /^TracerPid:\s+0$/m, 'and no longer traced');
});

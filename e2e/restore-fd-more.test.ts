// pidfds, file leases, an epoll watch on a closed fd, an inotify watch on
// a deleted file, a task's own /proc fdinfo file and a fanotify mark, end to
// end: the rfd-more fixture sets them up, criu-dump -l and criu-restore -l
// run as users run them, and the restored fixture checks from inside that
// its pidfds point at itself, its child and nobody (two of one dead task
// sharing an inode), its leases are held where they were (and nowhere
// else), the epoll watch fires with its data, the inotify watch is on the
// restored deleted file, the fdinfo file reads and the fanotify mark
// reports. Without -l a lease is refused by name and the tree left running.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { dumpAndKill } from './lib/round-trip.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, runRestore, startBackground, waitOutput, type Teardowns } from '../libs/restore/test/live.js';

function startFixture(t: Teardowns, dir: string): { pid: number; child: number; out: string } {
  const work = join(dir, 'w');
  mkdirSync(work);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('rfd-more', dir), [work]);
  const child = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
  t.teardown(() => killAndReap(child));
  return { pid, child, out };
}

const logTail = (images: string, name: string): string => readFileSync(join(images, name), 'utf8').split('\n').slice(-15).join('\n');

t.test('pidfds, leases, moved and deleted-file watches, an own /proc file and fanotify survive a dump and restore', (t) => {
  const dir = scratchDir(t);
  const fx = startFixture(t, dir);
  const images = dumpAndKill(t, dir, fx.pid, { args: ['-l'] });
  const status = runRestore(fx.out, ['-D', images, '-d', '-l', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d -l exits 0', { log: status === 0 ? '' : logTail(images, 'restore.log') });
  if (status !== 0) return t.end();
  t.match(readFileSync(join(images, 'dump.log'), 'utf8'), 'the watch added as fd 52 (since closed or reused) is saved on fd 51', 'the dump found the closed watch on fd 51');
  kill(fx.pid, SIG.USR1);
  const verdict = waitOutput(fx.out, /verdict .*/, 15_000)[0];
  t.equal(verdict, 'verdict ok', 'the fixture is content', { bad: readFileSync(fx.out, 'utf8').split('\n').filter((l) => l.startsWith('bad:')) });
  t.end();
});

t.test('without -l the leases are refused by name and the tree keeps running', (t) => {
  const dir = scratchDir(t);
  const fx = startFixture(t, dir);
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(fx.pid), '-D', images, '-o', 'dump.log'], { timeout: 120_000 });
  t.not(run.status, 0, 'criu-dump fails');
  t.match(readFileSync(join(images, 'dump.log'), 'utf8'), /pid \d+ fd 40: .*lease-rd holds file locks/, 'the leased file is named');
  t.ok(alive(fx.pid) && alive(fx.child), 'the tree is still there');
  kill(fx.pid, SIG.USR1);
  t.equal(waitOutput(fx.out, /verdict .*/, 15_000)[0], 'verdict ok', 'and untouched');
  t.end();
});

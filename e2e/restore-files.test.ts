// The files and fs kinds' restore end to end: the rfd-files fixture opens
// one fd of each kind at chosen numbers, flags and offsets and forks a
// child sharing them; criu-dump (with -l) then criu-restore, both as users
// run them. The restored tasks have the same fd tables as /proc showed
// before the dump, no temporary ghost name is left, and the fixture,
// checking itself from inside, says "verdict ok" (offsets go on, the
// shared description is still shared, pipe/FIFO data, eventfd value, epoll
// readiness, signalfd mask, timerfd, inotify watch, ghost contents, memfd,
// flock, cwd, umask). A file changed between dump and restore is refused
// by name, and nothing is left running; --inherit-fd hands a file over.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { dumpAndKill } from './lib/round-trip.js';
import { alive, killAndReap, restoreTool, runRestore, startBackground, waitOutput, type Teardowns } from '../libs/restore/test/live.js';

interface FdState {
  link: string;
  flags: string;
  pos: string;
}

/** fd number → link (pipe and anon inode numbers masked: they are new), flags and pos from fdinfo. */
function fdTable(pid: number): Map<number, FdState> {
  const table = new Map<number, FdState>();
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    const info = readFileSync(`/proc/${pid}/fdinfo/${name}`, 'utf8');
    const field = (key: string): string => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(info)?.[1] ?? '';
    const link = readlinkSync(`/proc/${pid}/fd/${name}`).replace(/^pipe:\[\d+\]$/, 'pipe:[N]');
    table.set(Number(name), { link, flags: field('flags'), pos: field('pos') });
  }
  return table;
}

/** The written-to stdout/stderr (the shared output file) move on: compare the rest. */
function comparable(table: Map<number, FdState>): [number, FdState][] {
  return [...table].filter(([fd]) => fd > 2).sort(([a], [b]) => a - b);
}

interface Fixture {
  pid: number;
  child: number;
  work: string;
  out: string;
}

function startFixture(t: Teardowns, dir: string, extra: string[] = []): Fixture {
  const work = join(dir, 'w');
  mkdirSync(work);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('rfd-files', dir), [work, ...extra]);
  const child = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
  t.teardown(() => killAndReap(child));
  return { pid, child, work, out };
}

const logTail = (images: string): string => readFileSync(join(images, 'restore.log'), 'utf8').split('\n').slice(-15).join('\n');

/** Names the restore may have made in the work dir (ghost files, link-back names). */
const leftovers = (work: string): string[] => readdirSync(work).filter((name) => /\.cr\.|cr_link|link_remap|^(big-)?ghost$/.test(name));

t.test('every kind of fd comes back at its number, and the fixture checks itself', (t) => {
  const dir = scratchDir(t);
  const fx = startFixture(t, dir);
  const before = { parent: fdTable(fx.pid), child: fdTable(fx.child) };
  const images = dumpAndKill(t, dir, fx.pid, { args: ['-l'] });
  const status = runRestore(fx.out, ['-D', images, '-d', '-l', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d -l exits 0', { log: status === 0 ? '' : logTail(images) });
  if (status !== 0) return t.end();
  t.same(comparable(fdTable(fx.pid)), comparable(before.parent), "the parent's fds: numbers, targets, flags, offsets");
  t.same(comparable(fdTable(fx.child)), comparable(before.child), "the child's fds");
  t.match(readlinkSync(`/proc/${fx.pid}/fd/22`), `${fx.work}/ghost (deleted)`, 'the ghost file is back under its name, deleted');
  t.same(leftovers(fx.work), [], 'no ghost or link-back name is left');
  t.equal(readlinkSync(`/proc/${fx.pid}/cwd`), fx.work, 'cwd');
  kill(fx.pid, SIG.USR1);
  const verdict = waitOutput(fx.out, /verdict .*/, 15_000)[0];
  t.equal(verdict, 'verdict ok', 'the fixture is content', { bad: readFileSync(fx.out, 'utf8').split('\n').filter((l) => l.startsWith('bad:')) });
  t.end();
});

t.test('--file-validation: a file whose size changed is refused by name, no task left', (t) => {
  const dir = scratchDir(t);
  const fx = startFixture(t, dir);
  const images = dumpAndKill(t, dir, fx.pid, { args: ['-l'] });
  appendFileSync(join(fx.work, 'reg'), 'one byte more');
  const status = runRestore(fx.out, ['-D', images, '-d', '-l', '-v4', '-o', 'restore.log']);
  t.not(status, 0, 'criu-restore fails');
  t.match(readFileSync(join(images, 'restore.log'), 'utf8'), `file ${fx.work}/reg changed size: 5013 bytes now, 5000 when dumped`);
  t.notOk(alive(fx.pid) || alive(fx.child), 'no restored task is left');
  t.same(leftovers(fx.work), [], 'nothing of the restore is left in the directory');
  t.end();
});

t.test('--inherit-fd fd[N]:path hands criu\'s fd N to the task instead of the file', (t) => {
  const dir = scratchDir(t);
  const fx = startFixture(t, dir);
  const images = dumpAndKill(t, dir, fx.pid, { args: ['-l'] });
  const newLog = join(dir, 'new-log');
  const resource = `${fx.work.slice(1)}/log`;
  const script = 'exec 7>>"$NEW"; exec "$0" "$@" >>"$OUT" 2>&1 </dev/null';
  const run = spawnSync('sh', ['-c', script, process.execPath, restoreTool, '-D', images, '-d', '-l', '-v4', '-o', 'restore.log', '--inherit-fd', `fd[7]:${resource}`], {
    env: { ...process.env, OUT: fx.out, NEW: newLog },
    timeout: 60_000,
  });
  t.equal(run.status, 0, 'restored', { log: run.status === 0 ? '' : logTail(images) });
  if (run.status !== 0) return t.end();
  t.equal(readlinkSync(`/proc/${fx.pid}/fd/11`), newLog, 'fd 11 is criu\'s fd 7');
  kill(fx.pid, SIG.USR1);
  t.equal(waitOutput(fx.out, /verdict .*/, 15_000)[0], 'verdict ok', 'the fixture is content');
  t.equal(readFileSync(newLog, 'utf8'), 'after restore\n', 'its writes to fd 11 land in the inherited file');
  t.end();
});

t.test('--link-remap: a file linked back at dump is opened under its old name, the link removed after', (t) => {
  const dir = scratchDir(t);
  const fx = startFixture(t, dir, ['linked']);
  const images = dumpAndKill(t, dir, fx.pid, { args: ['-l', '--link-remap'] });
  t.match(readdirSync(fx.work).filter((name) => name.startsWith('link_remap.')), [/^link_remap\.\d+$/], 'the dump linked it back');
  const status = runRestore(fx.out, ['-D', images, '-d', '-l', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'restored', { log: status === 0 ? '' : logTail(images) });
  if (status !== 0) return t.end();
  t.equal(readlinkSync(`/proc/${fx.pid}/fd/41`), `${fx.work}/linked (deleted)`, 'fd 41 under its old name');
  t.equal(readFileSync(`/proc/${fx.pid}/fd/41`, 'utf8'), 'linked', 'with its contents');
  t.same(leftovers(fx.work), [], 'the link_remap file is gone');
  kill(fx.pid, SIG.USR1);
  t.equal(waitOutput(fx.out, /verdict .*/, 15_000)[0], 'verdict ok', 'the fixture is content');
  t.end();
});

// python3, unmodified: its cwd is a directory it removed, and it holds an fd on it
const DELETED_CWD = `
import os, signal, sys
os.mkdir(sys.argv[1]); os.chdir(sys.argv[1]); fd = os.open('.', os.O_RDONLY | os.O_DIRECTORY); os.rmdir(os.getcwd())
def check(*_):
    cwd, held = os.stat('/proc/self/cwd'), os.fstat(fd)
    same = (cwd.st_ino, cwd.st_dev) == (held.st_ino, held.st_dev) and cwd.st_nlink == 0
    print('verdict', 'ok' if same else f'cwd {cwd.st_ino} nlink {cwd.st_nlink}, fd {held.st_ino}', flush=True)
signal.signal(signal.SIGUSR1, check)
print('ready', os.getpid(), flush=True)
while True: signal.pause()
`;

t.test('a deleted cwd comes back deleted, the same inode as an fd on it, and no ghost is left', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const gone = join(dir, 'gone');
  const pid = startBackground(t, out, '/usr/bin/python3', ['-c', DELETED_CWD, gone]);
  waitOutput(out, /ready \d+/);
  t.equal(readlinkSync(`/proc/${pid}/cwd`), `${gone} (deleted)`, 'deleted before the dump');
  const images = dumpAndKill(t, dir, pid);
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'restored', { log: status === 0 ? '' : logTail(images) });
  if (status !== 0) return t.end();
  t.equal(readlinkSync(`/proc/${pid}/cwd`), `${gone} (deleted)`, 'its cwd is deleted again');
  t.notOk(readdirSync(dir).includes('gone'), 'the ghost directory is gone');
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /verdict .*/, 15_000)[0], 'verdict ok', 'python sees its cwd and its fd as one removed directory');
  t.end();
});

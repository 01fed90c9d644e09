// End to end on real processes: dumped by the test harness (real freezer
// and memory kind, minimal core), restored by the criu-restore binary.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { harnessDump } from '../test/dump-harness.js';
import { alive, compile, killAndReap, runRestore, startBackground, tempDir, waitFor, waitOutput, type Teardowns } from '../test/live.js';

interface Ids {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
}

function idsOf(pid: number): Ids {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]) };
}

function treeOf(pid: number): Ids[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  const kids = children === '' ? [] : children.split(' ').map(Number);
  return [idsOf(pid), ...kids.flatMap(treeOf)];
}

function threadsOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
}

function dumpDir(dir: string): string {
  const images = join(dir, 'img');
  mkdirSync(images);
  return images;
}

function restored(t: Teardowns, pids: readonly number[]): void {
  t.teardown(() => pids.forEach(killAndReap));
}

function logTail(dir: string): string {
  const log = join(dir, 'restore.log');
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '(no log)';
}

t.test('threads: every thread comes back with its tid and keeps counting', (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compile(dir, 'e2e/fixtures/threads.c'), ['4']);
  waitOutput(out, /ready \d+ 4/);
  const tids = threadsOf(pid);
  const images = dumpDir(dir);
  harnessDump(pid, images);
  waitFor('the original to die', () => !alive(pid));
  killAndReap(pid);
  waitFor('its threads to be gone', () => tids.every((tid) => !existsSync(`/proc/${tid}`)));
  const status = runRestore(out, ['-D', images, '-d', '-o', join(dir, 'restore.log'), '-v4']);
  restored(t, [pid]);
  t.equal(status, 0, `restore -d exits 0${status === 0 ? '' : `\n${logTail(dir)}`}`);
  t.same(threadsOf(pid), tids, 'same thread ids');
  kill(pid, SIG.USR1);
  const first = waitOutput(out, /counts( \d+){4}\n/)[0].trim().split(' ').slice(1).map(Number);
  waitFor('the counts to grow', () => {
    kill(pid, SIG.USR1);
    const lines = readFileSync(out, 'utf8').trim().split('\n').filter((l) => l.startsWith('counts'));
    const last = lines.at(-1)!.split(' ').slice(1).map(Number);
    return lines.length > 1 && last.every((n, i) => n > first[i]!);
  });
  t.pass('every thread counts on');
  t.end();
});

t.test('tree: pids, parents, groups and sessions come back', (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compile(dir, 'e2e/fixtures/tree.c'), ['6']);
  waitOutput(out, /ready \d+ 6/);
  const before = treeOf(pid);
  t.equal(before.length, 6);
  const images = dumpDir(dir);
  harnessDump(pid, images);
  waitFor('the originals to die', () => before.every((task) => !alive(task.pid)));
  before.forEach((task) => killAndReap(task.pid));
  const status = runRestore(out, ['-D', images, '-d', '-o', join(dir, 'restore.log'), '-v4']);
  restored(t, before.map((task) => task.pid));
  t.equal(status, 0, `restore -d exits 0${status === 0 ? '' : `\n${logTail(dir)}`}`);
  const after = treeOf(pid);
  const sameButRootParent = (list: Ids[]): Ids[] => list.map((task, i) => (i === 0 ? { ...task, ppid: 0 } : task));
  t.same(sameButRootParent(after), sameButRootParent(before), 'same tree, groups and sessions');
  t.end();
});

t.test('shell loop: counts on after restore; criu waits and exits with its status', (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const script = 'i=0; while [ $i -lt 25 ]; do i=$((i+1)); echo "n $i"; sleep 0.1; done; exit 3';
  const pid = startBackground(t, out, '/bin/sh', ['-c', script]);
  waitOutput(out, /n 5\n/);
  const images = dumpDir(dir);
  harnessDump(pid, images);
  waitFor('the original to die', () => !alive(pid));
  killAndReap(pid);
  const counted = readFileSync(out, 'utf8').trim().split('\n').length;
  const status = runRestore(out, ['-D', images, '-o', join(dir, 'restore.log'), '-v4']);
  restored(t, [pid]);
  t.equal(status, 3, `criu-restore exits with the root's status 3\n${status === 3 ? '' : logTail(dir)}`);
  const lines = readFileSync(out, 'utf8').trim().split('\n').filter((l) => l.startsWith('n '));
  t.ok(lines.length > counted, 'it printed more after the restore');
  t.same(lines.map((l) => Number(l.slice(2))), Array.from({ length: 25 }, (_, i) => i + 1), 'counting went on from where it was, to the end');
  t.end();
});

t.test('a pid in use: clear error, nothing left behind; restore, kill, restore again', (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compile(dir, 'e2e/fixtures/memory.c'), ['4']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  const images = dumpDir(dir);
  harnessDump(pid, images);
  waitFor('the original to die', () => !alive(pid));
  killAndReap(pid);
  const log = join(dir, 'restore.log');
  t.equal(runRestore(out, ['-D', images, '-d', '-o', log]), 0, 'first restore');
  restored(t, [pid]);
  t.equal(runRestore(out, ['-D', images, '-d', '-o', join(dir, 'second.log')]), 1, 'a second restore while it runs fails');
  t.match(readFileSync(join(dir, 'second.log'), 'utf8'), new RegExp(`pid ${pid} already in use`), 'the error names the pid');
  t.ok(alive(pid), 'the first restored task is untouched');
  kill(pid, SIG.USR1);
  t.match(waitOutput(out, /verify \S+ \d+/)[0], `verify ok ${sum}`);
  killAndReap(pid);
  waitFor('it to die', () => !alive(pid));
  t.equal(runRestore(out, ['-D', images, '-d', '-o', join(dir, 'third.log')]), 0, 'restore again after kill');
  kill(pid, SIG.USR1);
  waitFor('a second verdict', () => (readFileSync(out, 'utf8').match(/verify ok/g) ?? []).length === 2);
  t.pass('verified again');
  t.end();
});

t.test('a truncated pages image: the error names it and the half-made task is killed', (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compile(dir, 'e2e/fixtures/memory.c'), ['4']);
  waitOutput(out, /ready/);
  const images = dumpDir(dir);
  harnessDump(pid, images);
  waitFor('the original to die', () => !alive(pid));
  killAndReap(pid);
  const pages = readdirSync(images).find((name) => name.startsWith('pages-'))!;
  truncateSync(join(images, pages), 4096 * 10);
  const log = join(dir, 'restore.log');
  t.equal(runRestore(out, ['-D', images, '-d', '-o', log]), 1, 'restore fails');
  t.match(readFileSync(log, 'utf8'), new RegExp(`${pages}.*truncated`), 'the error names the pages image');
  t.notOk(existsSync(`/proc/${pid}`), 'no task with the pid is left');
  t.end();
});

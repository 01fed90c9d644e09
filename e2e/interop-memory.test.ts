// Image interoperability with upstream CRIU 4.2, memory and tasks: each
// fixture is dumped by ours and restored by upstream, then dumped by
// upstream and restored by ours, and must verify itself afterwards:
// private memory (a checksum), every kind of mapping (mem-layout: anon,
// zero, shared anonymous, private and shared file, guard, memfd, heap),
// shared anonymous and memfd memory between a parent and its child,
// threads counting on under their tids, a tree with sessions, process
// groups and a zombie under the same ids, and python3 counting on where it
// was. Skipped, saying so, when upstream CRIU is absent.
import t from 'tap';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { treeOf, type Ids } from './lib/round-trip.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream } from './lib/upstream.js';
import { killAndReap, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

const skip = skipWithoutUpstream();
if (skip !== false) t.comment(skip);
// each round trip is a dump and a restore by two different tools; allow for a loaded machine
t.setTimeout(600_000);


const tidsOf = (pid: number): number[] => readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);

for (const way of DIRECTIONS) {
  t.test(`memory, ${way.title}: 16 MiB of private memory intact`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('memory', dir), ['16']);
    const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
    const images = dumpWith(way.dump, t, dir, pid);
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    signalWhenAsleep(pid, SIG.USR1);
    t.equal(waitOutput(out, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'checksum after restore');
    t.end();
  });

  t.test(`mappings, ${way.title}: every kind of mapping keeps its pages`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const out = join(dir, 'out');
    const work = join(dir, 'w');
    mkdirSync(work);
    const pid = startBackground(t, out, compileFixture('mem-layout', dir), [work]);
    waitOutput(out, /ready \d+/);
    const images = dumpWith(way.dump, t, dir, pid);
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    signalWhenAsleep(pid, SIG.USR1);
    t.equal(waitOutput(out, /verify \S+.*/)[0], 'verify ok', 'every pattern checks');
    t.end();
  });

  t.test(`shared memory, ${way.title}: parent and child still share anonymous and memfd memory`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('rcore-shmem', dir));
    const child = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
    t.teardown(() => killAndReap(child));
    const images = dumpWith(way.dump, t, dir, pid);
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    signalWhenAsleep(pid, SIG.USR1);
    t.equal(waitOutput(out, /verify .*/, 20_000)[0], 'verify ok', 'contents intact; a write by one is seen by the other');
    t.end();
  });

  t.test(`threads, ${way.title}: same tids, all counting`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('threads', dir), ['3']);
    waitOutput(out, /ready \d+ 3/);
    const tids = tidsOf(pid);
    const images = dumpWith(way.dump, t, dir, pid);
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    t.same(tidsOf(pid), tids, 'the same tids');
    signalWhenAsleep(pid, SIG.USR1);
    const first = waitOutput(out, /counts( \d+){3}\n/)[0].trim().split(' ').slice(1).map(Number);
    waitFor('every count to grow', () => {
      kill(pid, SIG.USR1);
      const last = readFileSync(out, 'utf8').trim().split('\n').filter((l) => l.startsWith('counts')).at(-1)!;
      return last.split(' ').slice(1).map(Number).every((n, i) => n > first[i]!);
    });
    t.pass('every thread counts on');
    t.end();
  });

  t.test(`tree, ${way.title}: sessions, groups and a zombie under the same ids`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('interop-tree', dir));
    const pids = waitOutput(out, /ready((?: \d+){6})/)[1]!.trim().split(' ').map(Number);
    t.teardown(() => pids.forEach(killAndReap));
    const before = treeOf(pid);
    t.equal(before.length, 6, 'six tasks, the zombie included');
    const images = dumpWith(way.dump, t, dir, pid);
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    // the root's parent is whoever restored it; children may come back in another order
    const rootParentless = (list: Ids[]): Ids[] => list.map((task, i) => (i === 0 ? { ...task, ppid: 0 } : task)).sort((a, b) => a.pid - b.pid);
    t.same(rootParentless(treeOf(pid)), rootParentless(before), 'pids, parents, groups and sessions');
    const zombie = readFileSync(`/proc/${pids[5]}/stat`, 'utf8');
    t.equal(zombie[zombie.lastIndexOf(')') + 2], 'Z', 'the zombie is a zombie');
    t.equal(readFileSync(`/proc/${pids[5]}/comm`, 'utf8'), 'interop-tree\n', 'under its name');
    signalWhenAsleep(pid, SIG.USR1);
    t.equal(waitOutput(out, /verify .*/, 20_000)[0], 'verify ok', 'every task answers with its memory intact');
    t.end();
  });

  t.test(`python3, ${way.title}: an unmodified interpreter counts on from where it was`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const out = join(dir, 'out');
    const script = 'import sys, time\ni = 0\nwhile True:\n    i += 1\n    print("n", i, flush=True)\n    time.sleep(0.05)\n';
    const pid = startBackground(t, out, '/usr/bin/python3', ['-c', script]);
    waitOutput(out, /^n 5$/m);
    const images = dumpWith(way.dump, t, dir, pid);
    const counted = (): number[] => readFileSync(out, 'utf8').split('\n').filter((l) => /^n \d+$/.test(l)).map((l) => Number(l.slice(2)));
    const last = counted().at(-1)!;
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    waitFor('the count to go on', () => counted().at(-1)! >= last + 5, 20_000);
    const all = counted();
    t.same(all, Array.from({ length: all.length }, (_, i) => i + 1), 'one count, no number lost or repeated');
    t.end();
  });
}

// Processes that share one fd table without being threads (clone(2) with
// CLONE_FILES|SIGCHLD), dumped and restored by ours: the shared-fdt
// fixture's parent, its child and grandchild on one table (files opened
// before and after the clones), and a forked child with a table of its
// own. The images hold one fdinfo for the shared table; after the restore
// kcmp(2) KCMP_FILES says the table is shared again, every table is as
// /proc showed it before, and inside, an fd the parent opens appears in
// the child and one the child opens appears in the parent. A table shared
// with a task other than its parent (CLONE_PARENT|CLONE_FILES) is refused
// by name, as upstream refuses it, and the tree runs on. A pre-dump leaves
// no memory tracker in a shared table (those tasks are dumped in full).
import t from 'tap';
import { mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readOne } from '@criu-ts/images';
import { KCMP, KCMP_RESULT, SIG, kcmp, kill } from '@criu-ts/kernel';
import { criuDump, runTool } from './lib/criu.js';
import { scratchDir } from './lib/fixtures.js';
import { dumpAndKill } from './lib/round-trip.js';
import { checkRestored, startSharedFdt, startSibling, tablesOf, verdicts } from './lib/shared-fdt.js';
import { taskState } from './lib/task-state.js';
import { alive, runRestore } from '../libs/restore/test/live.js';

const logTail = (images: string): string => readFileSync(join(images, 'restore.log'), 'utf8').split('\n').slice(-20).join('\n');

t.test('a CLONE_FILES chain is dumped once and restored shared, as the fixture checks from inside', (t) => {
  const dir = scratchDir(t);
  const fx = startSharedFdt(t, dir);
  const { parent, child, grandchild, forked } = fx.pids;
  const before = tablesOf(fx);
  const images = dumpAndKill(t, dir, parent);
  const filesId = (pid: number): number | undefined => readOne(images, 'ids', pid).files_id;
  t.equal(filesId(child), filesId(parent), "ids: the child has its parent's files_id");
  t.equal(filesId(grandchild), filesId(parent), 'ids: so has the grandchild');
  t.not(filesId(forked), filesId(parent), 'ids: the forked child has its own');
  t.same(readdirSync(images).filter((name) => name.startsWith('fdinfo-')).sort(), [`fdinfo-${filesId(parent)}.img`, `fdinfo-${filesId(forked)}.img`].sort(), 'one fdinfo image per table');
  const status = runRestore(fx.out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d exits 0', { log: status === 0 ? '' : logTail(images) });
  if (status !== 0) return t.end();
  t.match(readFileSync(join(images, 'restore.log'), 'utf8'), `pid ${child} shares the fd table of pid ${parent}`, 'the log says which table is shared');
  checkRestored(t, fx, before);
  const seen = verdicts(fx, (pid) => kill(pid, SIG.USR1));
  t.equal(seen.child, 'child-verdict ok', 'the child sees the fd the parent opened, and shares its table');
  t.equal(seen.parent, 'verdict ok', 'the parent: its files, offsets and flags, and the fd the child opened', { bad: seen.bad });
  t.end();
});

/** How many userfaultfds (our memory trackers) the task holds. */
const trackers = (pid: number): number => readdirSync(`/proc/${pid}/fd`).filter((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[userfaultfd]').length;

t.test('pre-dump, then dump --track-mem: no tracker in the shared table, the forked child tracked; restored shared', async (t) => {
  const dir = scratchDir(t);
  const fx = startSharedFdt(t, dir);
  const { parent, forked } = fx.pids;
  const before = tablesOf(fx);
  mkdirSync(join(dir, '1'));
  const pre = await runTool('criu-dump', ['pre-dump', '-t', String(parent), '-D', join(dir, '1'), '-v4', '-o', 'dump.log']);
  t.equal(pre.exitCode, 0, 'pre-dump exits 0');
  t.equal(trackers(parent), 0, 'no memory tracker in the shared table');
  t.equal(trackers(forked), 1, 'the forked child has its tracker');
  t.match(readFileSync(join(dir, '1', 'dump.log'), 'utf8'), `pid ${parent}: memory tracking not armed: its fd table is shared`, 'the log says why');
  const images = dumpAndKill(t, dir, parent, { name: '2', args: ['--prev-images-dir', '../1', '--track-mem'] });
  const status = runRestore(fx.out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d exits 0', { log: status === 0 ? '' : logTail(images) });
  if (status !== 0) return;
  checkRestored(t, fx, before);
  const seen = verdicts(fx, (pid) => kill(pid, SIG.USR1));
  t.same([seen.child, seen.parent], ['child-verdict ok', 'verdict ok'], 'the fixture is content', { bad: seen.bad });
});

t.test('a table shared with a task that is not the parent is refused by name, and the tree runs on', async (t) => {
  const dir = scratchDir(t);
  const fx = startSibling(t, dir);
  const { parent, a, b } = fx.pids;
  t.equal(kcmp(a, b, KCMP.FILES), KCMP_RESULT.EQUAL, 'A and B share a table');
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = await criuDump(['-t', String(parent), '-D', images, '-v4', '-o', 'dump.log']);
  t.not(run.exitCode, 0, 'the dump fails');
  t.match(readFileSync(join(images, 'dump.log'), 'utf8'), /Error .*pid \d+: an fd table shared with pid \d+, which is not its parent \(CLONE_FILES\) is not supported/, 'naming the task and what it shares');
  t.same(readdirSync(images).filter((name) => name.endsWith('.img')), [], 'no images left');
  for (const pid of [parent, a, b]) {
    t.ok(alive(pid), `pid ${pid} runs on`);
    t.equal(taskState(pid)?.tracerPid, 0, `pid ${pid} is not left traced`);
  }
  t.equal(kcmp(a, b, KCMP.FILES), KCMP_RESULT.EQUAL, 'A and B still share their table');
});

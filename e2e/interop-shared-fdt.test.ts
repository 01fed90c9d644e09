// Image interoperability with upstream CRIU 4.2 for fd tables shared
// without threads (clone(2) with CLONE_FILES): the shared-fdt fixture
// (a parent, its child and grandchild on one table, a forked child with
// its own) dumped by ours and restored by upstream, then dumped by
// upstream and restored by ours. Both write the table once (one fdinfo,
// one files_id in ids-PID.img) and clone the sharing tasks with
// CLONE_FILES: kcmp(2) KCMP_FILES says the table is shared again, the
// tables are as before, and the fixture's own checks pass. Upstream
// refuses a table shared with a task other than the parent, as ours does.
// Skipped, saying so, when upstream CRIU is absent.
import t from 'tap';
import { mkdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readOne } from '@criu-ts/images';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { checkRestored, startSharedFdt, startSibling, tablesOf, verdicts } from './lib/shared-fdt.js';
import { DIRECTIONS, dumpWith, logTail, restoreChecked, signalWhenAsleep, skipWithoutUpstream, upstreamCriu } from './lib/upstream.js';
import { alive } from '../libs/restore/test/live.js';

const skip = skipWithoutUpstream();
if (skip !== false) t.comment(skip);
// each round trip is a dump and a restore by two different tools; allow for a loaded machine
t.setTimeout(600_000);

for (const way of DIRECTIONS) {
  t.test(`shared fd table, ${way.title}: shared again, every fd in place, the fixture content`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const fx = startSharedFdt(t, dir);
    const { parent, child, grandchild, forked } = fx.pids;
    const before = tablesOf(fx);
    const images = dumpWith(way.dump, t, dir, parent);
    const filesId = (pid: number): number | undefined => readOne(images, 'ids', pid).files_id;
    t.ok(filesId(child) === filesId(parent) && filesId(grandchild) === filesId(parent), `${way.dump}'s ids: one files_id for the sharing tasks`);
    t.not(filesId(forked), filesId(parent), `${way.dump}'s ids: the forked child's own`);
    if (!restoreChecked(t, way.restore, fx.out, images)) return t.end();
    checkRestored(t, fx, before);
    const seen = verdicts(fx, (pid) => signalWhenAsleep(pid, SIG.USR1));
    t.equal(seen.child, 'child-verdict ok', 'the child sees the fd the parent opened, and shares its table');
    t.equal(seen.parent, 'verdict ok', 'the parent: its files, offsets and flags, and the fd the child opened', { bad: seen.bad });
    t.end();
  });
}

t.test('upstream refuses a table shared with a task that is not the parent too', { skip }, (t) => {
  const dir = scratchDir(t, 'criu-ts-interop-');
  const fx = startSibling(t, dir);
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = spawnSync(upstreamCriu()!, ['dump', '-t', String(fx.pids.parent), '-D', images, '-v4', '-o', 'dump.log'], { timeout: 120_000 });
  t.not(run.status, 0, 'criu-upstream dump fails');
  t.match(readFileSync(join(images, 'dump.log'), 'utf8'), /Can't make FILES id for \d+/, 'saying it cannot make a FILES id', { log: logTail(images, 'dump.log') });
  t.ok(Object.values(fx.pids).every(alive), 'the tree runs on');
  t.end();
});

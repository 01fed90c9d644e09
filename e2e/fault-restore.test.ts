// CRIU_FAULT on restore: at every fatal point the restore fails and leaves
// nothing behind — no task of the tree, no restore helper, no file added to
// the images directory — and the same command, without the fault, then
// restores the tree, memory intact.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT } from '@criu-ts/base';
import { SIG, kill } from '@criu-ts/kernel';
import { taskKinds } from '@criu-ts/kinds';
import { DEFAULT_HELPER } from '@criu-ts/restore';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { processesOf, runWithFault, snapshot } from './lib/faults.js';
import { dumpAndKill } from './lib/round-trip.js';
import { killAndReap, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(1_200_000);

/** What a restore may add to the images directory: its log and stats. */
const imageFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name !== 'restore.log' && name !== 'stats-restore').sort();

t.test('every fatal restore fault point leaves nothing behind', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const root = startBackground(t, out, compileFixture('memory', dir), ['4', 'child']);
  const child = Number(waitOutput(out, /child (\d+)/)[1]);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  const images = dumpAndKill(t, dir, root);
  t.teardown(() => [child, root].forEach(killAndReap));
  const files = imageFiles(images);
  const points = [
    String(FAULT.RESTORE_ROOT_ONLY.id),
    String(FAULT.POST_RESTORE.id),
    String(FAULT.RESTORE_HELPER.id),
    `${FAULT.RESTORE_CLONE.id}:${root}`,
    `${FAULT.RESTORE_CLONE.id}:${child}`,
    `${FAULT.RESTORE_MEMORY.id}:${root}`,
    `${FAULT.RESTORE_MEMORY.id}:${child}`,
    ...taskKinds.filter((kind) => kind.restore !== undefined).map((kind) => `${FAULT.RESTORE_KIND.id}:${kind.name}`),
    String(FAULT.RESTORE_RESUME.id),
  ];

  for (const point of points) {
    t.test(`CRIU_FAULT=${point}`, async (t) => {
      const run = runWithFault('criu-restore', ['-D', images, '-d', '-v4', '-o', 'restore.log'], point);
      t.not(run.status, 0, `the restore fails (status ${run.status}, signal ${run.signal})`);
      t.equal(snapshot(root), undefined, `no task with the root's pid ${root}`);
      t.equal(snapshot(child), undefined, `no task with the child's pid ${child}`);
      t.strictSame(processesOf(DEFAULT_HELPER), [], 'no restore helper left');
      t.strictSame(imageFiles(images), files, 'no file added to or removed from the images directory');
    });
  }

  t.test('the same restore without a fault succeeds', async (t) => {
    const run = runWithFault('criu-restore', ['-D', images, '-d', '-v4', '-o', 'restore.log'], undefined);
    t.equal(run.status, 0, 'the restore succeeds');
    t.ok(snapshot(root), 'the root runs');
    t.ok(snapshot(child), 'the child runs');
    kill(root, SIG.USR1);
    t.equal(waitOutput(out, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'memory intact');
    killAndReap(child);
    killAndReap(root);
    waitFor('the restored tree to be gone', () => snapshot(root) === undefined && snapshot(child) === undefined, 10_000);
  });
  t.end();
});

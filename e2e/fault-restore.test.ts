// CRIU_FAULT on restore: at every fatal point the restore fails and leaves
// nothing behind — no task of the tree, no restore helper, no file added to
// the images directory — and the same command, without the fault, then
// restores the tree, memory intact. Point 4 (restore-open-link-remap) fires
// only where a --link-remap dump's file is opened: the rfd-files fixture
// with a file whose name was unlinked while another link holds it; there the
// link_remap file must also stay (for the next try) and no name the restore
// made (a ghost, a link back) be left.
import t from 'tap';
import { mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
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

/** Names a restore makes in the fixture's directory (ghosts, link backs) and the dump's link_remap files. */
const madeNames = (work: string): string[] => readdirSync(work).filter((name) => /\.cr\.|cr_link|^(big-)?ghost$/.test(name));
const linkRemaps = (work: string): string[] => readdirSync(work).filter((name) => /^link_remap\.\d+$/.test(name));

t.test('CRIU_FAULT=4: a --link-remap restore fails opening the link remap, leaves nothing and keeps the link for the next try', async (t) => {
  const dir = scratchDir(t);
  const work = join(dir, 'w');
  mkdirSync(work);
  const out = join(dir, 'out');
  const root = startBackground(t, out, compileFixture('rfd-files', dir), [work, 'linked']);
  const child = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
  t.teardown(() => [child, root].forEach(killAndReap));
  const images = dumpAndKill(t, dir, root, { args: ['-l', '--link-remap'] });
  const files = imageFiles(images);
  const remaps = linkRemaps(work);
  t.equal(remaps.length, 1, 'the dump linked the unlinked file back');
  const args = ['-D', images, '-d', '-l', '-v4', '-o', 'restore.log'];

  const run = runWithFault('criu-restore', args, String(FAULT.RESTORE_OPEN_LINK_REMAP.id));
  t.not(run.status, 0, `the restore fails (status ${run.status}, signal ${run.signal})`);
  t.match(readFileSync(join(images, 'restore.log'), 'utf8'), /CRIU_FAULT=4|restore-open-link-remap/, 'at fault point 4');
  t.equal(snapshot(root), undefined, `no task with the root's pid ${root}`);
  t.equal(snapshot(child), undefined, `no task with the child's pid ${child}`);
  t.strictSame(processesOf(DEFAULT_HELPER), [], 'no restore helper left');
  t.strictSame(imageFiles(images), files, 'no file added to or removed from the images directory');
  t.strictSame(linkRemaps(work), remaps, 'the link remap stays, for the next restore');
  t.strictSame(madeNames(work), [], 'no ghost or link-back name is left');

  const again = runWithFault('criu-restore', args, undefined);
  t.equal(again.status, 0, 'the same restore without the fault succeeds');
  if (again.status !== 0) return;
  t.equal(readlinkSync(`/proc/${root}/fd/41`), `${work}/linked (deleted)`, 'the link-remapped file is back under its old name');
  t.strictSame(linkRemaps(work), [], 'and the link remap is gone');
  kill(root, SIG.USR1);
  t.equal(waitOutput(out, /verdict .*/, 15_000)[0], 'verdict ok', 'the fixture is content');
  killAndReap(child);
  killAndReap(root);
  waitFor('the restored tree to be gone', () => snapshot(root) === undefined && snapshot(child) === undefined, 10_000);
});

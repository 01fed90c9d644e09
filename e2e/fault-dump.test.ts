// CRIU_FAULT on dump: at every fatal point the dump fails and the tree runs
// on exactly as before — not stopped, not traced, the same mappings and
// fds, its memory intact — and no image set that looks complete (no
// inventory.img; no image at all where criu could clean up) is left. Then
// the same command, without the fault, succeeds.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT } from '@criu-ts/base';
import { taskKinds } from '@criu-ts/kinds';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { runWithFault, snapshot, type TaskSnapshot } from './lib/faults.js';
import { startBackground, waitOutput } from '../libs/restore/test/live.js';
import { SIG, kill } from '@criu-ts/kernel';

t.setTimeout(1_200_000);

const points = [
  String(FAULT.DUMP_EARLY.id),
  String(FAULT.DUMP_PAGES.id),
  String(FAULT.PARASITE_CONNECT.id),
  String(FAULT.DUMP_FREEZE.id),
  ...taskKinds.map((kind) => `${FAULT.DUMP_KIND.id}:${kind.name}`),
  String(FAULT.DUMP_WRITE.id),
  String(FAULT.DUMP_SYNC.id),
  String(FAULT.DUMP_KILL.id),
];

t.test('every fatal dump fault point leaves the tree as it was', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const root = startBackground(t, out, compileFixture('memory', dir), ['4', 'child']);
  const child = Number(waitOutput(out, /child (\d+)/)[1]);
  waitOutput(out, /ready \d+/);
  const before = [root, child].map((pid) => snapshot(pid));
  let verifies = 0;

  for (const point of points) {
    t.test(`CRIU_FAULT=${point}`, async (t) => {
      const images = join(dir, `img-${point.replace(':', '-')}`);
      mkdirSync(images);
      const run = runWithFault('criu-dump', ['-t', String(root), '-D', images, '-v4', '-o', 'dump.log'], point);
      t.not(run.status, 0, `the dump fails (status ${run.status}, signal ${run.signal})`);
      const after = [root, child].map((pid) => snapshot(pid));
      after.forEach((snap, i) => {
        const was = before[i] as TaskSnapshot;
        t.ok(snap, `pid ${was.pid} still exists`);
        t.not(snap?.state, 't', `pid ${was.pid} is not left in a trace stop`);
        t.not(snap?.state, 'T', `pid ${was.pid} is not left stopped`);
        t.equal(snap?.tracerPid, 0, `pid ${was.pid} is not traced`);
        t.equal(snap?.maps, was.maps, `pid ${was.pid}: the same mappings`);
        t.strictSame(snap?.fds, was.fds, `pid ${was.pid}: the same fds`);
      });
      kill(root, SIG.USR1);
      verifies += 1;
      t.match(waitOutput(out, new RegExp(`(?:verify \\S+ \\d+\\n[^]*){${verifies}}`))[0], /verify ok/, 'its memory is intact');
      t.notOk(existsSync(join(images, 'inventory.img')), 'no inventory.img: nothing looks like a complete dump');
      const left = readdirSync(images).filter((name) => name.endsWith('.img'));
      // a SIGKILLed criu cannot clean up: only an incomplete set may stay
      if (run.signal === null) t.strictSame(left, [], 'no image left');
    });
  }

  t.test('the same dump without a fault succeeds', async (t) => {
    const images = join(dir, 'img-ok');
    mkdirSync(images);
    const run = runWithFault('criu-dump', ['-t', String(root), '-D', images, '-v4', '-o', 'dump.log'], undefined);
    t.equal(run.status, 0, 'the dump succeeds');
    t.ok(existsSync(join(images, 'inventory.img')), 'inventory.img written');
    t.equal(snapshot(root), undefined, 'the tree was killed after the dump');
  });
  t.end();
});

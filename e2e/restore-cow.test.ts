// Copy-on-write sharing between a parent and its forked child survives a
// dump and restore (e2e/fixtures/cow.c): private anonymous and private file
// pages neither side wrote after the fork have one frame in both again
// (/proc/PID/pagemap), pages either wrote are each its own, pages the child
// dropped are zero for it only. Dumped and restored by ours, and with
// upstream CRIU 4.2 on either side (skipped, saying so, when it is absent).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { killAndReap, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(600_000);
const noUpstream = skipWithoutUpstream();
if (noUpstream !== false) t.comment(noUpstream);

const verdicts = (out: string): string[] => readFileSync(out, 'utf8').match(/^(parent|child) (ok|bad).*$/gm) ?? [];

/** Asks the parent (which asks the child) for verdicts; the n-th pair of them. */
function check(out: string, parent: number, round: number): string[] {
  signalWhenAsleep(parent, SIG.USR1);
  waitFor(`verdicts of round ${round}`, () => verdicts(out).length >= round * 2, 20_000);
  return verdicts(out).slice((round - 1) * 2, round * 2).sort();
}

const ways: { dump: Side; restore: Side; title: string }[] = [{ dump: 'ours', restore: 'ours', title: 'dumped and restored by ours' }, ...DIRECTIONS];

for (const way of ways) {
  const skip = way.dump === 'ours' && way.restore === 'ours' ? false : noUpstream;
  t.test(`cow, ${way.title}: shared pages stay shared, written and dropped ones apart`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-cow-');
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('cow', dir), [join(dir, 'mapped')]);
    const child = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
    t.teardown(() => killAndReap(child));
    t.same(check(out, pid, 1), ['child ok', 'parent ok shared 48/48'], 'before: 48 pages shared, data as written');
    const images = dumpWith(way.dump, t, dir, pid);
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    t.same(check(out, pid, 2), ['child ok', 'parent ok shared 48/48'], 'after: the same 48 pages shared, each side its own data');
    kill(child, SIG.KILL);
    t.end();
  });
}

// Every image our dump writes decodes with Debian's crit (3.17) and with
// upstream CRIU 4.2's crit, on fixtures that together hold every kind we
// dump (memory of each kind, threads, a tree with sessions and a zombie,
// core state and timers, seccomp, every kind of fd, sockets, a pty pair).
// Both crits must agree on each pagemap run's page count (Debian's knows
// only field 2, upstream's reads field 5). Upstream's crit is skipped,
// saying so, when its source tree is absent.
import t, { type Test } from 'tap';
import { mkdirSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { critDecode, logTail, upstreamCrit } from './lib/upstream.js';
import { killAndReap, startBackground, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(600_000);
const haveUpstreamCrit = upstreamCrit() !== undefined;
if (!haveUpstreamCrit) t.comment('upstream crit skipped: no upstream CRIU source tree (set CRIU_UPSTREAM_SRC, default /opt/criu-upstream)');

interface Case {
  fixture: string;
  args?: (work: string) => string[];
  ready: RegExp;
  /** the fixture's child processes, from its ready line (killed on teardown) */
  children?: (m: RegExpMatchArray) => number[];
  dumpArgs?: string[];
}

const CASES: Case[] = [
  { fixture: 'mem-layout', args: (w) => [w], ready: /ready \d+/ },
  { fixture: 'rcore-shmem', ready: /ready \d+ (\d+)/, children: (m) => [Number(m[1])] },
  { fixture: 'threads', args: () => ['3'], ready: /ready \d+ 3/ },
  { fixture: 'interop-tree', ready: /ready \d+((?: \d+){5})/, children: (m) => m[1]!.trim().split(' ').map(Number) },
  { fixture: 'rcore-state', ready: /ready \d+ \d+/ },
  { fixture: 'seccomp', ready: /ready (\d+) (\d+) (\d+) (\d+) (\d+)/, children: (m) => [Number(m[3]), Number(m[5])] },
  { fixture: 'rfd-files', args: (w) => [w], ready: /ready \d+ (\d+)/, children: (m) => [Number(m[1])], dumpArgs: ['-l'] },
  { fixture: 'rsock', args: (w) => [w], ready: /^ready \d+ \d+ \d+$/m },
  { fixture: 'rtty', args: () => ['pair'], ready: /ready \d+ (\d+) \d+ \d+ \d+/, children: (m) => [Number(m[1])] },
];

/** criu-dump -R (the tree runs on; the test kills it): the images dir. */
function dumpLeavingRunning(t: Test, c: Case): string {
  const dir = scratchDir(t, 'criu-ts-crit-');
  const work = join(dir, 'w');
  mkdirSync(work);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture(c.fixture, dir), c.args?.(work) ?? []);
  const ready = waitOutput(out, c.ready);
  const children = c.children?.(ready) ?? [];
  t.teardown(() => children.forEach(killAndReap));
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '-D', images, '-R', '-v4', '-o', 'dump.log', ...(c.dumpArgs ?? [])], { timeout: 120_000 });
  if (run.status !== 0) throw new Error(`criu-dump failed (${run.status}): ${logTail(images, 'dump.log')}`);
  return images;
}

/** Page counts of every run of a decoded pagemap (its first entry is the head). */
function pageCounts(json: string, field: string): unknown[] {
  return (JSON.parse(json) as { entries: Record<string, unknown>[] }).entries.slice(1).map((e) => e[field]);
}

for (const c of CASES) {
  t.test(`${c.fixture}: every image decodes with Debian's and upstream's crit`, (t) => {
    const images = dumpLeavingRunning(t, c);
    const files = readdirSync(images).filter((name) => (name.endsWith('.img') || name.startsWith('stats-')) && !name.startsWith('pages-'));
    t.ok(files.length > 5, `${files.length} images`);
    for (const name of files) {
      const path = join(images, name);
      const debian = critDecode('debian', path);
      t.equal(debian.status, 0, `Debian's crit decodes ${name}`, debian.status === 0 ? {} : { stderr: debian.stderr.slice(-1500) });
      if (!haveUpstreamCrit) continue;
      const upstream = critDecode('upstream', path);
      t.equal(upstream.status, 0, `upstream's crit decodes ${name}`, upstream.status === 0 ? {} : { stderr: upstream.stderr.slice(-1500) });
      if (name.startsWith('pagemap') && debian.status === 0 && upstream.status === 0) {
        t.same(pageCounts(debian.stdout, 'nr_pages'), pageCounts(upstream.stdout, 'nr_pages'), `${name}: both crits read the same page counts`);
      }
    }
    t.end();
  });
}

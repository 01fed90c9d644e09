// Every image our dump writes decodes with Debian's crit (3.17) and with
// upstream CRIU 4.2's crit, on fixtures that together hold every kind we
// dump (memory of each kind, threads, a tree with sessions and a zombie,
// core state and timers, seccomp, every kind of fd, sockets, a pty pair,
// files in flight).
// Each crit's program decodes pstree.img; every image is decoded with the
// library crit decode calls (pycriu.images.load), all in one python process
// per crit (e2e/lib/crit-decode.py). Both crits must agree on each pagemap run's page count (Debian's knows
// only field 2, upstream's reads field 5). Upstream's crit is skipped,
// saying so, when its source tree is absent.
import t, { type Test } from 'tap';
import { mkdirSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { critDecode, critDecodeAll, logTail, upstreamCrit } from './lib/upstream.js';
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
  { fixture: 'rscm', args: (w) => [w], ready: /^ready \d+$/m },
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

for (const c of CASES) {
  t.test(`${c.fixture}: every image decodes with Debian's and upstream's crit`, (t) => {
    const images = dumpLeavingRunning(t, c);
    const names = readdirSync(images).filter((name) => (name.endsWith('.img') || name.startsWith('stats-')) && !name.startsWith('pages-'));
    const paths = names.map((name) => join(images, name));
    t.ok(names.length > 5, `${names.length} images`);
    // the crit programs themselves, once each
    const cli = critDecode('debian', join(images, 'pstree.img'));
    t.equal(cli.status, 0, "Debian's crit decode -i pstree.img", cli.status === 0 ? {} : { stderr: cli.stderr.slice(-1500) });
    if (haveUpstreamCrit) {
      const up = critDecode('upstream', join(images, 'pstree.img'));
      t.equal(up.status, 0, "upstream's crit decode -i pstree.img", up.status === 0 ? {} : { stderr: up.stderr.slice(-1500) });
    }
    // every image, with the decoder crit decode calls
    const debian = critDecodeAll('debian', paths);
    const upstream = haveUpstreamCrit ? critDecodeAll('upstream', paths) : undefined;
    for (const [i, name] of names.entries()) {
      const d = debian.get(paths[i]!);
      t.ok(d?.ok, `Debian's crit decodes ${name}`, d?.ok === true ? {} : { error: d?.error });
      if (upstream === undefined) continue;
      const u = upstream.get(paths[i]!);
      t.ok(u?.ok, `upstream's crit decodes ${name}`, u?.ok === true ? {} : { error: u?.error });
      if (name.startsWith('pagemap') && d?.ok === true && u?.ok === true) t.same(d.nr_pages, u.nr_pages, `${name}: both crits read the same page counts`);
    }
    t.end();
  });
}

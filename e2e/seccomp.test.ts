// criu-dump then criu-restore of seccomp state: the seccomp fixture's
// threads hold filters (one thread with a filter of its own on top of one
// it shares, a child whose two threads share theirs: saved once on its
// leader with TSYNC, one with SECCOMP_FILTER_FLAG_LOG) and a child runs in
// strict mode. The images must say so as upstream CRIU writes them (crit
// decodes them), /proc must show the same modes and filter counts after
// the restore, and the fixture verifies from inside that each filter
// still makes its syscall fail with its errno (W's two filters answer for
// the same syscall: the newest wins, so their order is checked too) and
// that strict mode still kills. A dump with -R must leave all of it in
// force.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readOne, type Messages } from '@criu-ts/images';
import { SIG, SYS, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { dumpAndKill } from './lib/round-trip.js';
import { killAndReap, runRestore, startBackground, waitOutput } from '../libs/restore/test/live.js';

const TSYNC = 1;
const LOG = 2;
const EPERM = 1;
const EACCES = 13;
const EDOM = 33;

/** Seccomp, Seccomp_filters and NoNewPrivs of each thread, from /proc. */
function seccompState(threads: readonly [number, number][]): Record<number, string> {
  const state: Record<number, string> = {};
  for (const [pid, tid] of threads) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    state[tid] = ['Seccomp', 'Seccomp_filters', 'NoNewPrivs'].map((key) => `${key} ${new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '?'}`).join(', ');
  }
  return state;
}

function critDecodes(t: Test, image: string): void {
  const run = spawnSync('/usr/bin/crit', ['decode', '-i', image], { encoding: 'utf8', timeout: 30_000 });
  t.equal(run.status, 0, `crit decodes ${image.replace(/.*\//, '')}`, run.status === 0 ? {} : { stderr: run.stderr });
}

/** A thread's filters as upstream's restore walks them: from thread_core.seccomp_filter along prev (install order, oldest first). */
function chainOf(filters: Messages['seccomp_filter'][], first: number): number[] {
  const chain: number[] = [];
  for (let i: number | undefined = first; i !== undefined && chain.length <= filters.length; i = filters[i]!.prev) chain.push(i);
  return chain;
}

/** What a fixture filter does: the syscall it makes fail (5th instruction's k) and the errno (6th's k). */
function filterAction(filter: Messages['seccomp_filter']): string {
  const program = Buffer.from(filter.filter);
  return `${program.readUInt32LE(4 * 8 + 4)}:${program.readUInt32LE(5 * 8 + 4) & 0xffff}`;
}

function checkImages(t: Test, images: string, ids: { p: number; w: number; c: number; cw: number; d: number }): void {
  for (const name of ['seccomp.img', ...Object.values(ids).map((tid) => `core-${tid}.img`)]) critDecodes(t, join(images, name));
  const filters = readOne(images, 'seccomp').seccomp_filters ?? [];
  const core = (tid: number): Messages['thread_core_entry'] => readOne(images, 'core', tid).thread_core!;
  const actions = (chain: number[]): string[] => chain.map((i) => filterAction(filters[i]!));
  t.equal(filters.length, 5, 'seccomp.img: P\'s F1, W\'s F1 and F2, C\'s F1 and F3');
  t.equal(core(ids.p).seccomp_mode, 2, 'P: filter mode');
  t.same(actions(chainOf(filters, core(ids.p).seccomp_filter!)), [`${SYS.getppid}:${EPERM}`], 'P\'s main thread: F1 (getppid EPERM)');
  const wChain = chainOf(filters, core(ids.w).seccomp_filter!);
  t.same(actions(wChain), [`${SYS.getppid}:${EPERM}`, `${SYS.getppid}:${EACCES}`], 'W: F1 then F2 (getppid EACCES), oldest first');
  t.same(wChain.map((i) => filters[i]!.flags), [0, 0], 'no TSYNC for threads whose filters differ');
  const cChain = chainOf(filters, core(ids.c).seccomp_filter!);
  t.same(actions(cChain), [`${SYS.getppid}:${EPERM}`, `${SYS.getsid}:${EDOM}`], 'C: F1 then F3 (getsid EDOM)');
  t.same(cChain.map((i) => filters[i]!.flags), [TSYNC, TSYNC | LOG], 'C\'s shared chain is marked TSYNC; F3 keeps LOG');
  t.equal(core(ids.cw).seccomp_mode, undefined, 'CW: no seccomp fields (C\'s TSYNC filters give it its own)');
  t.equal(core(ids.d).seccomp_mode, 1, 'D: strict mode');
  t.equal(core(ids.d).seccomp_filter, undefined, 'D: no filter');
}

t.test('seccomp: filters, TSYNC-shared filters and strict mode come back and still apply', (t) => {
  const dir = scratchDir(t, 'criu-ts-seccomp-');
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('seccomp', dir));
  const [, p, w, c, cw, d] = waitOutput(out, /ready (\d+) (\d+) (\d+) (\d+) (\d+)/)[0].split(' ').map(Number) as [number, number, number, number, number, number];
  t.teardown(() => [c, d].forEach(killAndReap));
  t.equal(p, pid, 'the fixture is the started process');
  const threads: [number, number][] = [[p, p], [p, w], [c, c], [c, cw], [d, d]];
  const before = seccompState(threads);
  t.same([before[p], before[w], before[c], before[cw], before[d]], [
    'Seccomp 2, Seccomp_filters 1, NoNewPrivs 1', 'Seccomp 2, Seccomp_filters 2, NoNewPrivs 1',
    'Seccomp 2, Seccomp_filters 2, NoNewPrivs 1', 'Seccomp 2, Seccomp_filters 2, NoNewPrivs 1', 'Seccomp 1, Seccomp_filters 0, NoNewPrivs 0',
  ], 'the fixture set up its seccomp state');
  const images = dumpAndKill(t, dir, pid);
  checkImages(t, images, { p, w, c, cw, d });
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d exits 0', status === 0 ? {} : { log: readFileSync(join(images, 'restore.log'), 'utf8').split('\n').slice(-25).join('\n') });
  t.same(seccompState(threads), before, '/proc: same seccomp modes, filter counts and no_new_privs per thread');
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /^child verify .*/m, 20_000)[0], 'child verify ok', 'C\'s threads: getppid EPERM, getsid EDOM');
  t.equal(waitOutput(out, /^verify .*/m, 20_000)[0], 'verify ok', 'P\'s threads: getppid EPERM, and EACCES in W (its newest filter wins: installed in order); D killed by strict mode');
  t.ok(waitOutput(out, /^strict read ok$/m, 5_000), 'D still reads and writes in strict mode');
  t.end();
});

t.test('seccomp: a dump with --leave-running leaves every filter and strict mode in force', (t) => {
  const dir = scratchDir(t, 'criu-ts-seccomp-r-');
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('seccomp', dir));
  const [, p, w, c, cw, d] = waitOutput(out, /ready (\d+) (\d+) (\d+) (\d+) (\d+)/)[0].split(' ').map(Number) as [number, number, number, number, number, number];
  t.teardown(() => [c, d].forEach(killAndReap));
  const threads: [number, number][] = [[p, p], [p, w], [c, c], [c, cw], [d, d]];
  const before = seccompState(threads);
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '-D', images, '-R', '-v4', '-o', 'dump.log'], { timeout: 60_000 });
  t.equal(run.status, 0, 'criu-dump -R exits 0', run.status === 0 ? {} : { log: readFileSync(join(images, 'dump.log'), 'utf8').slice(-2000) });
  t.same(seccompState(threads), before, '/proc: the same seccomp state after the dump');
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /^child verify .*/m, 20_000)[0], 'child verify ok', 'C\'s filters still apply');
  t.equal(waitOutput(out, /^verify .*/m, 20_000)[0], 'verify ok', 'P\'s filters still apply; D still in strict mode');
  t.end();
});

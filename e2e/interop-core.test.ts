// Image interoperability with upstream CRIU 4.2, task state: dumped by ours
// and restored by upstream, then dumped by upstream and restored by ours.
// The rcore-state fixture (credentials per thread, rlimits, nice,
// personality, oom_score_adj, itimers and a POSIX timer, pending signals in
// every queue, handlers) reads back the same from /proc and verifies itself
// from inside (signals delivered with their siginfo, both timers firing) —
// without a saved uid of 1000 when upstream dumps and without a personality,
// which upstream 4.2 cannot save or restore;
// the seccomp fixture's filters, TSYNC-shared filters and strict mode still
// apply. Skipped, saying so, when upstream CRIU is absent.
import t from 'tap';
import { join } from 'node:path';
import { SIG } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { coreStateOf } from './lib/task-state.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream } from './lib/upstream.js';
import { killAndReap, startBackground, waitOutput } from '../libs/restore/test/live.js';

const skip = skipWithoutUpstream();
if (skip !== false) t.comment(skip);
// each round trip is a dump and a restore by two different tools; allow for a loaded machine
t.setTimeout(600_000);


const STATUS_KEYS = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'SigBlk', 'SigIgn', 'SigCgt', 'Seccomp', 'Seccomp_filters'];

/** What /proc shows of the state the core kind restores, per thread. */
const procState = (pid: number, tids: number[]): Record<string, string> => coreStateOf(pid, tids, STATUS_KEYS);

for (const way of DIRECTIONS) {
  t.test(`core state, ${way.title}: creds, limits, handlers, timers and pending signals`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const out = join(dir, 'out');
    // what upstream 4.2 cannot do here: dump a task of another saved uid
    // (its prlimit needs CAP_SYS_RESOURCE), save the personality (it parses
    // /proc/PID/personality, which is hex, with atoi: 00040000 becomes
    // 40000) and restore it (it never does)
    const options = way.dump === 'upstream' ? ['no-saved-ids', 'no-personality'] : ['no-personality'];
    const pid = startBackground(t, out, compileFixture('rcore-state', dir), options);
    const worker = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
    const before = procState(pid, [pid, worker]);
    const images = dumpWith(way.dump, t, dir, pid);
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    const after = procState(pid, [pid, worker]);
    for (const key of Object.keys(before)) t.equal(after[key], before[key], `/proc: ${key}`);
    signalWhenAsleep(pid, SIG.USR1);
    t.equal(waitOutput(out, /verify .*/, 30_000)[0], 'verify ok', 'the fixture verifies itself: state, signals, timers firing');
    t.end();
  });

  t.test(`seccomp, ${way.title}: filters and strict mode still apply`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-interop-');
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('seccomp', dir));
    const [, p, w, c, cw, d] = waitOutput(out, /ready (\d+) (\d+) (\d+) (\d+) (\d+)/)[0].split(' ').map(Number) as [number, number, number, number, number, number];
    t.teardown(() => [c, d].forEach(killAndReap));
    const state = (): Record<string, string> => ({ ...procState(p, [p, w]), ...procState(c, [c, cw]), d: procState(d, [d])[`${d} Seccomp`]! });
    const before = state();
    const images = dumpWith(way.dump, t, dir, pid);
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    const after = state();
    for (const key of Object.keys(before).filter((k) => /Seccomp|NoNewPrivs|^d$/.test(k))) t.equal(after[key], before[key], `/proc: ${key}`);
    signalWhenAsleep(pid, SIG.USR1);
    t.equal(waitOutput(out, /^child verify .*/m, 20_000)[0], 'child verify ok', "C's threads: getppid EPERM, getsid EDOM");
    t.equal(waitOutput(out, /^verify .*/m, 20_000)[0], 'verify ok', "P's threads' filters in order; D killed by strict mode");
    t.end();
  });
}

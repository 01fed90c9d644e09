// criu-dump then criu-restore of the core kind's state and of shared
// memory: the rcore-state fixture (credentials per thread, rlimits, nice,
// personality, oom_score_adj, timers, pending signals in every queue)
// must read back the same from /proc and verify itself after the restore
// (signals delivered with their siginfo, both timers firing); the
// rcore-shmem fixture's parent and child must still share their shared
// anonymous and memfd memory, with the same contents and the same names in
// /proc/PID/maps.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readOne } from '@criu-ts/images';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { coreStateOf } from './lib/task-state.js';
import { dumpAndKill } from './lib/round-trip.js';
import { killAndReap, runRestore, startBackground, waitOutput } from '../libs/restore/test/live.js';

function restore(t: Test, out: string, images: string): void {
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  const log = (): string => readFileSync(join(images, 'restore.log'), 'utf8').split('\n').slice(-25).join('\n');
  t.equal(status, 0, 'criu-restore -d exits 0', status === 0 ? {} : { log: log() });
}

const CRED_KEYS = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs'];

/** What /proc shows of the state the core kind restores, per thread. */
const procState = (pid: number, tids: number[]): Record<string, string> => coreStateOf(pid, tids, CRED_KEYS);

t.test('core state: credentials, limits, scheduling, timers and pending signals come back', (t) => {
  const dir = scratchDir(t, 'criu-ts-rcore-');
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('rcore-state', dir));
  const worker = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
  const before = procState(pid, [pid, worker]);
  t.match(before[`${pid} Uid`], /^0\s+0\s+1000\s+0$/, 'the fixture runs with saved uid 1000');
  const images = dumpAndKill(t, dir, pid);
  const tc = readOne(images, 'core', pid).tc!;
  t.ok(tc.timers!.real.vsec > 0n || tc.timers!.real.vusec > 0n, 'ITIMER_REAL still armed in the images');
  t.equal(tc.timers!.posix!.length, 1, 'one POSIX timer in the images');
  t.same(tc.signals_s?.signals?.length, 2, 'two signals in the shared queue');
  restore(t, out, images);
  const after = procState(pid, [pid, worker]);
  for (const key of Object.keys(before)) t.equal(after[key], before[key], `/proc: ${key}`);
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /verify .*/, 30_000)[0], 'verify ok', 'the fixture verifies itself: state, signals, timers firing');
  t.end();
});

/** The shared mappings of /proc/PID/maps: range, perms, offset and name (not the inode, which is new). */
function sharedMaps(pid: number): string[] {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter((line) => /\/dev\/zero|\/memfd:/.test(line))
    .map((line) => {
      const [range, perms, offset, , , ...name] = line.split(/\s+/);
      return [range, perms, offset, name.join(' ')].join(' ');
    });
}

t.test('shared memory: parent and child still share anonymous and memfd memory', (t) => {
  const dir = scratchDir(t, 'criu-ts-rshm-');
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('rcore-shmem', dir));
  const child = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
  t.teardown(() => killAndReap(child));
  const before = [sharedMaps(pid), sharedMaps(child)];
  t.equal(before[0]!.length, 3, 'shared anonymous, shared memfd and private memfd mappings');
  const images = dumpAndKill(t, dir, pid);
  restore(t, out, images);
  t.same([sharedMaps(pid), sharedMaps(child)], before, '/proc/PID/maps: same ranges, flags and names ("/dev/zero (deleted)", "/memfd:...")');
  const inode = (line: string): string => readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').find((l) => l.startsWith(line.split(' ')[0]!))!.split(/\s+/)[4]!;
  const childInode = (line: string): string => readFileSync(`/proc/${child}/maps`, 'utf8').split('\n').find((l) => l.startsWith(line.split(' ')[0]!))!.split(/\s+/)[4]!;
  for (const line of before[0]!) t.equal(childInode(line), inode(line), `one object in both tasks: ${line.split(' ').at(-2)}`);
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /verify .*/, 20_000)[0], 'verify ok', 'contents intact; a write by one is seen by the other');
  t.end();
});

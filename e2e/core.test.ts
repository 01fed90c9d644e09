// The core kind end to end: the core-state fixture (handlers, a blocked and
// pending signal in each queue, alternate stacks, interval and POSIX timers,
// rlimits, nice, a second thread) is dumped by criu-dump with -R; its
// core-PID/core-TID/ids images must decode with Debian's crit and hold
// what /proc showed before the dump, and the fixture must go on unchanged.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { imagePath, readOne } from '@criu-ts/images';
import { criuDump } from './lib/criu.js';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { startWorkload, waitForOutput } from './lib/processes.js';
import { taskState } from './lib/task-state.js';

const RLIMITS = ['Max cpu time', 'Max file size', 'Max data size', 'Max stack size', 'Max core file size', 'Max resident set',
  'Max processes', 'Max open files', 'Max locked memory', 'Max address space', 'Max file locks', 'Max pending signals',
  'Max msgqueue size', 'Max nice priority', 'Max realtime priority', 'Max realtime timeout'];
/** the 62 signals with an action, in the image's order */
const ACTION_SIGNALS = Array.from({ length: 64 }, (_, i) => i + 1).filter((sig) => sig !== 9 && sig !== 19);

function status(pid: number, tid = pid): Record<string, string> {
  const text = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  return Object.fromEntries(text.split('\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

const mask = (hex: string | undefined): bigint => BigInt(`0x${hex ?? '0'}`);

function limits(pid: number): [bigint, bigint][] {
  const lines = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n');
  const v = (s: string): bigint => (s === 'unlimited' ? 0xffffffffffffffffn : BigInt(s));
  return RLIMITS.map((name) => {
    const m = new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(lines.join('\n'));
    if (m === null) throw new Error(`no ${name} in /proc/${pid}/limits`);
    return [v(m[1]!), v(m[2]!)];
  });
}

const signo = (siginfo: Uint8Array): number => Buffer.from(siginfo).readInt32LE(0);

t.test('criu-dump -R of core-state: core and ids images', async (t) => {
  const dir = scratchDir(t, 'criu-ts-core-e2e-');
  const bin = compileFixture('core-state', dir);
  const w = startWorkload(t, 'sh', ['-c', 'exec "$0" 2>&1 | cat', bin]);
  const m = await waitForOutput(w, /^ready (\d+) (\d+) ([0-9a-f]+) ([0-9a-f]+)$/m);
  const pid = Number(m[1]);
  const worker = Number(m[2]);
  const before = { main: status(pid), worker: status(pid, worker), limits: limits(pid) };

  const run = await criuDump(['-t', String(pid), '-D', dir, '-v4', '-o', 'dump.log', '-R', '-j']);
  t.equal(run.exitCode, 0, `criu-dump succeeded: ${run.stderr}`);
  if (run.exitCode !== 0) t.comment(readFileSync(`${dir}/dump.log`, 'utf8').split('\n').slice(-30).join('\n'));

  for (const path of [imagePath(dir, 'core', pid), imagePath(dir, 'core', worker), imagePath(dir, 'ids', pid)]) {
    t.doesNotThrow(() => execFileSync('/usr/bin/crit', ['decode', '-i', path], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 }), `crit decodes ${path}`);
  }
  const core = readOne(dir, 'core', pid);
  const tc = core.tc!;
  t.equal(tc.blk_sigset, mask(before.main.SigBlk), 'signal mask = SigBlk');
  const caught = tc.sigactions!.reduce((acc, sa, i) => (sa.sigaction > 1n ? acc | (1n << BigInt(ACTION_SIGNALS[i]! - 1)) : acc), 0n);
  const ignored = tc.sigactions!.reduce((acc, sa, i) => (sa.sigaction === 1n ? acc | (1n << BigInt(ACTION_SIGNALS[i]! - 1)) : acc), 0n);
  t.same([caught, ignored], [mask(before.main.SigCgt), mask(before.main.SigIgn)], 'sigactions = SigCgt/SigIgn');
  t.same(tc.signals_s?.signals?.map((s) => signo(s.siginfo)), [42, 42], 'shared queue: both queued signals');
  t.same(core.thread_core!.signals_p?.signals?.map((s) => signo(s.siginfo)), [43], 'private queue of the main thread');
  t.same(tc.rlimits!.rlimits!.map((r) => [r.cur, r.max]), before.limits, 'rlimits = /proc/PID/limits');
  t.ok(tc.timers!.real.vsec > 900n && tc.timers!.real.vsec <= 1000n, 'ITIMER_REAL has ~1000 s left');
  t.match(tc.timers!.posix, [{ it_id: 0, si_signo: 44, clock_id: 1, sival_ptr: 0xabcdn, isec: 2n }], 'the POSIX timer');
  t.ok(tc.timers!.posix![0]!.vsec > 400n && tc.timers!.posix![0]!.vsec < 500n, 'POSIX timer ~500 s left');
  const [uid, euid, suid, fsuid] = before.main.Uid!.split(/\s+/).map(Number);
  t.match(core.thread_core!.creds, { uid, euid, suid, fsuid, cap_eff: [Number(mask(before.main.CapEff) & 0xffffffffn), Number(mask(before.main.CapEff) >> 32n)] });
  t.equal(core.thread_core!.sched_nice, 5);
  t.equal(core.thread_core!.sas?.ss_sp, BigInt(`0x${m[3]}`));
  t.equal(core.thread_info!.gpregs.orig_ax, 34n, 'main thread frozen in pause()');
  t.equal(core.thread_info!.gpregs.ax, 34n, '... to be re-executed after restore');

  const wcore = readOne(dir, 'core', worker);
  t.equal(wcore.thread_core!.blk_sigset, mask(before.worker.SigBlk), "worker's mask = its SigBlk");
  t.same(wcore.thread_core!.signals_p?.signals?.map((s) => signo(s.siginfo)), [46], "worker's private queue");
  t.equal(wcore.thread_core!.comm, 'worker');
  t.equal(wcore.thread_core!.sas?.ss_sp, BigInt(`0x${m[4]}`));

  const ids = readOne(dir, 'ids', pid);
  t.ok(ids.sighand_id > 0 && ids.pid_ns_id !== undefined && ids.mnt_ns_id !== undefined, 'ids: sighand and namespaces');
  t.equal(ids.vm_id > 0 && ids.files_id > 0 && ids.fs_id > 0, true, 'ids from the other kinds');

  t.match(taskState(pid), { tracerPid: 0 }, 'left running (-R), untraced');
  const after = status(pid);
  t.same([after.SigBlk, after.SigPnd, after.ShdPnd], [before.main.SigBlk, before.main.SigPnd, before.main.ShdPnd], 'mask and pending signals unchanged');
});

// The core kind on a live, frozen fixture: images compared with what /proc
// and ptrace said before the dump, decoded by crit, and the task left as it was.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imagePath, readOne } from '@criu-ts/images';
import { ERESTART, SYS, ptraceGetRegs, ptraceGetSigmask, signed64, unsigned64 } from '@criu-ts/kernel';
import { readStat, readStatus } from '@criu-ts/proc';
import { coreKind } from './core-kind.js';
import { coreSnapshotKind } from './core-snapshot.js';
import { FIXTURE, crit, freeze, killAndReap, limits, startInBackground, tempDir, testContext, waitLine } from './core-live.fixture.js';
import { criuNamespaceIds } from './kobj-ids.js';
import { handledMasks } from './sigactions.js';
import { ACTION_SIGNALS } from './task-calls.js';

const RLIMIT_NAMES = ['Max cpu time', 'Max file size', 'Max data size', 'Max stack size', 'Max core file size', 'Max resident set',
  'Max processes', 'Max open files', 'Max locked memory', 'Max address space', 'Max file locks', 'Max pending signals',
  'Max msgqueue size', 'Max nice priority', 'Max realtime priority', 'Max realtime timeout'];

function siginfoOf(bytes: Uint8Array): { signo: number; code: number; value: bigint } {
  const b = Buffer.from(bytes);
  return { signo: b.readInt32LE(0), code: b.readInt32LE(8), value: b.readBigUInt64LE(24) };
}

t.test('core images of a frozen two-thread task', async (t) => {
  const dir = tempDir(t);
  const exe = join(dir, 'core-state');
  execFileSync('gcc', ['-O1', '-g', '-Wall', '-o', exe, FIXTURE, '-lpthread'], { stdio: 'pipe' });
  const { pid, out } = startInBackground(t, dir, '"$1" >"$OUT" 2>&1 </dev/null & echo $!', [exe]);
  const ready = waitLine(out, /^ready (\d+) (\d+) ([0-9a-f]+) ([0-9a-f]+)$/m);
  const worker = Number(ready[2]);
  const statusBefore = readStatus(pid);
  const workerStatus = readStatus(pid, worker);
  const limitsBefore = limits(pid);
  const { task, regs, masks } = freeze(t, pid);
  const ctx = testContext(dir, [task]);
  const record = { ids: { vm_id: 11, files_id: 12, fs_id: 13 } as Record<string, number> };
  try {
    coreSnapshotKind.dump(ctx, task, record);
    ctx.injector(pid).syscall(SYS.getpid); // as another kind would: the leader now has every signal blocked
    coreKind.dump(ctx, task, record);
  } finally {
    ctx.release();
  }

  const core = readOne(dir, 'core', pid);
  const tc = core.tc!;
  const ti = core.thread_info!;
  const main = regs.get(pid)!;
  t.equal(core.mtype, 1, 'X86_64');
  t.equal(signed64(main.rax), -BigInt(ERESTART.NOHAND), 'frozen in pause(): -ERESTARTNOHAND');
  t.match(ti.gpregs, { ax: main.orig_rax, orig_ax: main.orig_rax, ip: main.rip - 2n, sp: main.rsp, bx: main.rbx, fs_base: main.fs_base, flags: main.eflags, mode: 1 });
  t.equal(ti.tls?.length, 3);
  t.same(ti.tls?.map((d) => d.entry_number), [12, 13, 14]);
  t.ok(ti.tls?.every((d) => d.seg_not_present), 'a 64-bit task keeps its TLS in fs_base: the GDT slots are empty');
  t.ok(ti.fpregs.xsave !== undefined && ti.fpregs.xsave.ymmh_space?.length === 64, 'xsave with the YMM upper halves');
  t.equal(ti.fpregs.mxcsr & 0xffc0, 0x1f80, 'default MXCSR mask bits');
  t.ok(ti.clear_tid_addr > 0n, 'clear_child_tid set by glibc');

  t.equal(tc.blk_sigset, statusBefore.SigBlk, 'leader mask = SigBlk');
  t.equal(tc.task_state, 1);
  t.equal(tc.comm, 'core-state');
  t.equal(tc.flags, readStat(pid).flags);
  t.equal(tc.sigactions?.length, 62);
  t.same(handledMasks(tc.sigactions!), { ignored: statusBefore.SigIgn, caught: statusBefore.SigCgt }, 'handlers match SigIgn/SigCgt');
  t.match(tc.sigactions![ACTION_SIGNALS.indexOf(10)], { mask: 1n << 11n }, 'SIGUSR1 masks SIGUSR2');
  t.ok((tc.sigactions![ACTION_SIGNALS.indexOf(10)]!.flags & 0x10000004n) === 0x10000004n, 'SA_SIGINFO|SA_RESTART');
  t.ok((tc.sigactions![ACTION_SIGNALS.indexOf(1)]!.flags & 0x08000000n) !== 0n, 'SIGHUP SA_ONSTACK');
  const shared = tc.signals_s?.signals?.map((s) => siginfoOf(s.siginfo)) ?? [];
  t.same(shared.map((s) => [s.signo, s.code, s.value]), [[42, -1, 0x1234n], [42, -1, 0x5678n]], 'shared queue: both sigqueue()s');
  t.equal(tc.rlimits?.rlimits?.length, 16);
  tc.rlimits!.rlimits!.forEach((rl, res) => t.same([rl.cur, rl.max], limitsBefore.get(RLIMIT_NAMES[res]!), `rlimit ${RLIMIT_NAMES[res]}`));
  t.equal(tc.rlimits!.rlimits![7]!.cur, 512n);
  const timers = tc.timers!;
  t.equal(timers.real.isec, 0n);
  t.ok(timers.real.vsec <= 1000n && timers.real.vsec > 980n, `ITIMER_REAL ~1000 s left (${timers.real.vsec})`);
  t.equal(timers.virt.isec, 7n);
  t.ok(timers.virt.vsec <= 100n && timers.virt.vsec > 90n, 'ITIMER_VIRTUAL ~100 s left');
  t.equal(timers.posix?.length, 1);
  t.match(timers.posix![0], { it_id: 0, clock_id: 1, si_signo: 44, it_sigev_notify: 0, sival_ptr: 0xabcdn, isec: 2n, insec: 0n });
  t.ok(timers.posix![0]!.vsec < 500n && timers.posix![0]!.vsec > 480n, 'POSIX timer ~500 s left');
  t.equal(tc.child_subreaper, true);
  t.equal(tc.oom_score_adj, Number(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8')));
  t.equal(tc.loginuid, Number(readFileSync(`/proc/${pid}/loginuid`, 'utf8')));
  t.equal(tc.personality, 0);

  const th = core.thread_core!;
  t.equal(th.blk_sigset, undefined, "the leader's mask lives in tc");
  t.equal(th.pdeath_sig, 28, 'SIGWINCH');
  t.equal(th.sched_nice, 5);
  t.equal(th.sched_policy, 0);
  t.same(th.sas, { ss_sp: BigInt(`0x${ready[3]}`), ss_size: 65536n, ss_flags: 0 });
  t.same(th.signals_p?.signals?.map((s) => siginfoOf(s.siginfo).signo), [43], 'private queue: the tgkill()ed signal');
  t.match(th.creds, { uid: statusBefore.Uid[0], euid: statusBefore.Uid[1], gid: statusBefore.Gid[0], secbits: 0 });
  t.same(th.creds?.groups ?? [], statusBefore.Groups, 'groups');
  t.equal(th.comm, 'core-state');
  t.ok(th.rseq_entry !== undefined, 'rseq entry');

  const wcore = readOne(dir, 'core', worker);
  const wregs = regs.get(worker)!;
  t.equal(wcore.tc, undefined, 'a thread has no task core');
  t.equal(signed64(wregs.rax), -BigInt(ERESTART.RESTARTBLOCK), 'worker frozen in nanosleep');
  t.match(wcore.thread_info!.gpregs, { ax: unsigned64(-4n), ip: wregs.rip, orig_ax: wregs.orig_rax, sp: wregs.rsp });
  t.equal(wcore.thread_core!.blk_sigset, workerStatus.SigBlk, 'worker mask = its SigBlk');
  t.equal(wcore.thread_core!.comm, 'worker');
  t.equal(wcore.thread_core!.pdeath_sig, undefined);
  t.equal(wcore.thread_core!.sas?.ss_sp, BigInt(`0x${ready[4]}`));
  t.same(wcore.thread_core!.signals_p?.signals?.map((s) => siginfoOf(s.siginfo).signo), [46]);

  const ids = readOne(dir, 'ids', pid);
  t.match(ids, { vm_id: 11, files_id: 12, fs_id: 13, ...criuNamespaceIds(ctx) });
  t.ok(ids.sighand_id >= 2, 'sighand id after criu’s own');
  t.equal(record.ids.sighand_id, ids.sighand_id, 'record updated');

  for (const path of [imagePath(dir, 'core', pid), imagePath(dir, 'core', worker), imagePath(dir, 'ids', pid)]) {
    t.doesNotThrow(() => crit(path), `crit decodes ${path}`);
  }
  for (const tid of [pid, worker]) {
    t.same(ptraceGetRegs(tid), regs.get(tid), `thread ${tid}: registers untouched`);
    t.equal(ptraceGetSigmask(tid), masks.get(tid), `thread ${tid}: mask untouched`);
  }
  t.equal(readStatus(pid).ShdPnd, statusBefore.ShdPnd, 'shared pending signals still queued');
  t.equal(readStatus(pid).SigPnd, statusBefore.SigPnd, 'private pending signals still queued');
});

t.test('a zombie: task_state DEAD and its exit status', async (t) => {
  const dir = tempDir(t);
  const python = "import os,sys,time\np=os.fork()\nif p==0: os._exit(3)\nopen(sys.argv[1],'w').write(str(p)+'\\n')\ntime.sleep(100)";
  const { pid: sleeper, out } = startInBackground(t, dir, '/usr/bin/python3 -c "$1" "$OUT" >/dev/null 2>&1 </dev/null & echo $!', [python]);
  const zombie = Number(waitLine(out, /^(\d+)$/m)[1]);
  t.teardown(() => killAndReap(zombie));
  for (let i = 0; i < 200 && readStat(zombie).state !== 'Z'; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(readStat(zombie).state, 'Z');
  const task = { pid: zombie, ppid: sleeper, pgid: 0, sid: 0, threads: [{ tid: zombie, pendingStopSignal: 0 }], zombie: true, wasStopped: false, exitCode: readStat(zombie).exit_code };
  const ctx = testContext(dir, [task]);
  coreKind.dumpZombie!(ctx, task, { ids: {} });
  const core = readOne(dir, 'core', zombie);
  t.same(core, { mtype: 1, tc: { task_state: 2, exit_code: 3 << 8, personality: 0, flags: 0, blk_sigset: 0n, comm: 'python3' } });
  t.doesNotThrow(() => crit(imagePath(dir, 'core', zombie)));
});

import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import {
  ERESTART, SIG, SYS, WAIT, kill, processVmReadv, ptraceDetach, ptraceGetRegs, ptraceGetSigmask, ptracePeekSiginfo, ptraceSetSigmask, ptraceSyscall,
  readTaskMemory, signed64, sleepSync, waitpidWithin, wstopsig,
} from '@criu-ts/kernel';
import { LogLevel, SyscallError, createLogger } from '@criu-ts/base';
import { seizeAndStop, startTarget, tempDir, type Target } from '../test/target.js';
import { TRAMPOLINE, callsChecked, findTrampolineSite, openInjector } from './index.js';

function statusMask(pid: number, field: string): bigint {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return BigInt(`0x${m[1]}`);
}

type Teardowns = Parameters<typeof startTarget>[0];

const pendingMask = (pid: number): bigint => statusMask(pid, 'SigPnd') | statusMask(pid, 'ShdPnd');

/** Polls (bounded) until sig is pending for pid. */
function waitPending(pid: number, sig: number): void {
  for (let i = 0; i < 300 && (pendingMask(pid) & (1n << BigInt(sig - 1))) === 0n; i++) sleepSync(10);
}

/** Polls (bounded) until the task's state letter is `state`; returns the last seen. */
function waitState(pid: number, state: string): string {
  let seen = '';
  for (let i = 0; i < 300; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    seen = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (seen === state) break;
    sleepSync(10);
  }
  return seen;
}

/** `kill -SIG pid` from a shell after `seconds`, so it lands while we are busy. */
function sendLater(t: Teardowns, pid: number, sig: string, seconds: number): number {
  const child = spawn('sh', ['-c', `sleep ${seconds}; kill -${sig} ${pid}`], { stdio: 'ignore' });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return child.pid ?? -1;
}

function mkfifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

function siteBytes(pid: number, site: bigint): Buffer {
  const buf = Buffer.alloc(TRAMPOLINE.length);
  readTaskMemory(pid, site, buf);
  return buf;
}

function stopped(t: Teardowns, args?: string[]): Target {
  const target = startTarget(t, args);
  seizeAndStop(target.pid);
  return target;
}

t.test('getpid and gettid run inside the task', async (t) => {
  const target = stopped(t);
  const injector = openInjector(target.pid);
  t.teardown(() => injector.release());
  t.equal(injector.syscall(SYS.getpid), BigInt(target.pid));
  t.equal(injector.syscall(SYS.gettid), BigInt(target.pid));
  t.equal(injector.pid, target.pid);
  t.equal(findTrampolineSite(target.pid).mapping, '[vdso]', 'the trampoline sits on the vDSO ELF header');
});

t.test('scratch memory: injected mmap, write, read back, unmapped on release', async (t) => {
  const target = stopped(t);
  const injector = openInjector(target.pid);
  const scratch = injector.scratch(10_000);
  t.equal(scratch.size, 12_288, 'rounded up to pages');
  const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 13) & 0xff));
  scratch.write(data);
  t.ok(scratch.read(10_000).equals(data));
  const direct = Buffer.alloc(10_000);
  t.equal(processVmReadv(target.pid, [direct], [{ addr: scratch.addr, len: 10_000 }]), 10_000);
  t.ok(direct.equals(data), 'the bytes are in the task');
  const hex = scratch.addr.toString(16);
  t.match(readFileSync(`/proc/${target.pid}/maps`, 'utf8'), new RegExp(`^${hex}-`, 'm'));
  t.throws(() => scratch.write(Buffer.alloc(8), scratch.size - 4), RangeError);
  injector.release();
  t.notMatch(readFileSync(`/proc/${target.pid}/maps`, 'utf8'), new RegExp(`^${hex}-`, 'm'), 'gone after release');
  t.throws(() => injector.syscall(SYS.getpid), { code: 'ERELEASED' });
});

t.test('batches in a fixed area run in trips that fit it, map nothing, and a checked batch names the call that failed', async (t) => {
  const target = stopped(t);
  const owner = openInjector(target.pid);
  // a read-write-execute area of the task's own, as the restore area is
  const area = owner.call('mmap', SYS.mmap, [0, 3 * 4096, 7, 0x22, -1, 0]);
  owner.release();
  const mapsBefore = readFileSync(`/proc/${target.pid}/maps`, 'utf8');
  const fixed = openInjector(target.pid, { batchArea: { code: area, codeSize: 4096, results: area + 8192n, resultsSize: 4096 } });
  const calls = Array.from({ length: 130 }, () => ({ nr: SYS.getpid }));
  t.same(fixed.batch(calls), calls.map(() => BigInt(target.pid)), '130 calls through a one-page code area (49 a trip) all ran');
  t.equal(readFileSync(`/proc/${target.pid}/maps`, 'utf8'), mapsBefore, 'nothing mapped for them');
  const [fd] = callsChecked(fixed, [{ name: 'dup(0)', nr: SYS.dup, args: [0] }]);
  t.throws(() => callsChecked(fixed, [{ name: 'close(fd)', nr: SYS.close, args: [fd!] }, { name: 'close(-1)', nr: SYS.close, args: [-1] }]), { code: 'EBADF', message: /close\(-1\)/ });
  fixed.release();
  t.equal(readFileSync(`/proc/${target.pid}/maps`, 'utf8'), mapsBefore, 'the area is the caller\'s: not unmapped on release');
});

t.test('rt_sigaction queried inside the task agrees with SigCgt and SigIgn', async (t) => {
  const target = stopped(t);
  const injector = openInjector(target.pid);
  t.teardown(() => injector.release());
  const act = injector.scratch(32);
  let caught = 0n;
  let ignored = 0n;
  for (let sig = 1; sig <= 64; sig++) {
    if (sig === SIG.KILL || sig === SIG.STOP) continue;
    injector.call('rt_sigaction', SYS.rt_sigaction, [sig, 0, act.addr, 8]);
    const handler = act.read(8).readBigUInt64LE();
    if (handler === 1n) ignored |= 1n << BigInt(sig - 1);
    else if (handler !== 0n) caught |= 1n << BigInt(sig - 1);
  }
  t.equal(caught, statusMask(target.pid, 'SigCgt'));
  t.equal(ignored, statusMask(target.pid, 'SigIgn'));
  t.ok(caught & (1n << BigInt(SIG.USR1 - 1)), 'the fixture handles SIGUSR1');
});

t.test('a task stopped in nanosleep finishes its sleep after injections', async (t) => {
  const target = stopped(t, ['nanosleep', '1500']);
  const before = ptraceGetRegs(target.pid);
  t.equal(signed64(before.rax), -BigInt(ERESTART.RESTARTBLOCK), 'stopped inside the sleep');
  const mask = ptraceGetSigmask(target.pid);
  const injector = openInjector(target.pid);
  const original = Buffer.alloc(TRAMPOLINE.length);
  t.ok(siteBytes(target.pid, injector.site).equals(TRAMPOLINE), 'trampoline written while open');
  injector.scratch(4096).write(Buffer.from('x'));
  t.equal(injector.syscall(SYS.getpid), BigInt(target.pid));
  t.equal(injector.syscall(SYS.close, 9999), -9n, 'raw result is -errno');
  t.throws(() => injector.call('close', SYS.close, [9999]), { code: 'EBADF', pid: target.pid, message: /^close pid \d+: Bad file descriptor/ });
  injector.release();
  readTaskMemory(target.pid, injector.site, original);
  t.ok(original.subarray(0, 3).equals(Buffer.from([0x7f, 0x45, 0x4c])), 'the vDSO ELF header is back');
  t.same(ptraceGetRegs(target.pid), before, 'registers are back, orig_rax and -ERESTART included');
  t.equal(ptraceGetSigmask(target.pid), mask, 'signal mask is back');
  ptraceDetach(target.pid);
  t.match(target.waitFor(/^slept .*$/m)[0], 'slept rc=0 elapsed_ok=1', 'the sleep completed, not cut short');
});

t.test('a task stopped in read() gets data written after detach', async (t) => {
  const fifo = mkfifo(`${tempDir(t)}/fifo`);
  const reader = startTarget(t, ['read', fifo]);
  seizeAndStop(reader.pid);
  const before = ptraceGetRegs(reader.pid);
  t.equal(before.orig_rax, BigInt(SYS.read));
  t.equal(signed64(before.rax), -BigInt(ERESTART.SYS));
  const injector = openInjector(reader.pid);
  for (let i = 0; i < 50; i++) injector.syscall(SYS.getppid);
  injector.release();
  t.same(ptraceGetRegs(reader.pid), before);
  ptraceDetach(reader.pid);
  writeFileSync(fifo, 'hello'); // the reader holds the FIFO open, so this does not block
  t.match(reader.waitFor(/^read .*$/m)[0], 'read n=5 data=hello');
});

t.test('an overdue call is taken back; signals arriving meanwhile stay pending', async (t) => {
  const target = stopped(t);
  const before = ptraceGetRegs(target.pid);
  const injector = openInjector(target.pid, { timeoutMs: 300 });
  t.teardown(() => injector.release());
  sendLater(t, target.pid, 'HUP', 0.1);
  t.throws(() => injector.syscall(SYS.pause), { code: 'ETIMEDOUT' });
  t.equal(injector.syscall(SYS.getpid), BigInt(target.pid), 'the injector still works');
  injector.release();
  t.same(ptraceGetRegs(target.pid), before);
  waitPending(target.pid, SIG.HUP);
  t.ok(pendingMask(target.pid) & (1n << BigInt(SIG.HUP - 1)), 'SIGHUP is pending, not lost');
});

t.test("a task's own SIGTRAP handler survives injected calls (their trap does not reset it)", async (t) => {
  const target = stopped(t);
  const trapBit = 1n << BigInt(SIG.TRAP - 1);
  t.ok(statusMask(target.pid, 'SigCgt') & trapBit, 'the fixture catches SIGTRAP');
  const injector = openInjector(target.pid);
  for (let i = 0; i < 3; i++) injector.syscall(SYS.getpid);
  injector.batch([{ nr: SYS.getpid }, { nr: SYS.gettid }]);
  injector.release();
  t.ok(statusMask(target.pid, 'SigCgt') & trapBit, 'still caught after injected calls and a batch');
});

t.test('a thread with a SIGTRAP pending is refused before anything is changed, and keeps it', async (t) => {
  const target = stopped(t);
  const before = ptraceGetRegs(target.pid);
  kill(target.pid, SIG.TRAP);
  waitPending(target.pid, SIG.TRAP);
  t.throws(() => openInjector(target.pid), { code: 'EBUSY', message: /SIGTRAP pending/ });
  t.ok(pendingMask(target.pid) & (1n << BigInt(SIG.TRAP - 1)), 'SIGTRAP is still pending');
  t.same(ptraceGetRegs(target.pid), before, 'registers untouched');
});

t.test('a SIGSTOP during an injected call is deferred, then sent', async (t) => {
  const target = stopped(t);
  const logPath = `${tempDir(t)}/log`;
  const logFd = openSync(logPath, 'w');
  t.teardown(() => closeSync(logFd));
  const log = createLogger({ fd: logFd, level: LogLevel.info, withPid: false, start: process.hrtime.bigint() }, 'inject');
  const injector = openInjector(target.pid, { log });
  t.teardown(() => injector.release());
  const ts = injector.scratch(16);
  ts.write(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // 1 s
  sendLater(t, target.pid, 'STOP', 0.1);
  t.equal(injector.syscall(SYS.nanosleep, ts.addr, 0), 0n, 'the injected sleep ran to the end');
  t.match(readFileSync(logPath, 'utf8'), `task ${target.pid}: signal ${SIG.STOP} arrived during an injected syscall`);
  injector.release();
  waitPending(target.pid, SIG.STOP);
  t.ok(pendingMask(target.pid) & (1n << BigInt(SIG.STOP - 1)), 'SIGSTOP is pending for the task');
  ptraceDetach(target.pid);
  t.equal(waitState(target.pid, 'T'), 'T', 'and stops it once detached');
});

t.test('a signal delivered during an injected call is queued again with its siginfo', async (t) => {
  const target = stopped(t);
  const injector = openInjector(target.pid);
  t.teardown(() => injector.release());
  const ts = injector.scratch(16);
  ts.write(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // 1 s
  const blocked = ptraceGetSigmask(target.pid);
  ptraceSetSigmask(target.pid, 0n); // defeat the injector's blocking, so SIGHUP is delivered mid-call
  const sender = sendLater(t, target.pid, 'HUP', 0.1);
  t.equal(injector.syscall(SYS.nanosleep, ts.addr, 0), 0n, 'the injected sleep ran to the end');
  ptraceSetSigmask(target.pid, blocked);
  injector.release();
  const queued = ptracePeekSiginfo(target.pid, { offset: 0, count: 4, shared: false });
  t.equal(queued.length, 1, 'one signal queued to the thread');
  t.equal(queued[0]?.readInt32LE(0), SIG.HUP, 'si_signo');
  t.equal(queued[0]?.readInt32LE(8), 0, 'si_code SI_USER, as kill(2) sent it');
  t.equal(queued[0]?.readInt32LE(16), sender, 'si_pid is the original sender');
});

t.test('a task at a syscall-entry stop runs that syscall after release', async (t) => {
  const target = stopped(t, ['nanosleep', '1500']);
  ptraceSyscall(target.pid); // on to the entry of restart_syscall, which resumes the sleep
  const status = waitpidWithin(target.pid, WAIT.__WALL, 5000).status;
  t.equal(wstopsig(status), SIG.TRAP);
  t.equal(ptraceGetRegs(target.pid).orig_rax, BigInt(SYS.restart_syscall));
  const injector = openInjector(target.pid, { timeoutMs: 3000 });
  t.teardown(() => injector.release());
  t.equal(injector.syscall(SYS.getpid), BigInt(target.pid), 'orig_rax = -1: the pending entry did not run instead');
  injector.release();
  ptraceDetach(target.pid);
  t.match(target.waitFor(/^slept .*$/m)[0], 'slept rc=0 elapsed_ok=1', 'the sleep was resumed, not failed with ENOSYS');
});

t.test('open fails cleanly on a task that is not stopped', async (t) => {
  const target = startTarget(t);
  t.throws(() => openInjector(target.pid), SyscallError);
});

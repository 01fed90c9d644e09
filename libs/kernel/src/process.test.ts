import t from 'tap';
import { closeSync, readFileSync, readSync } from 'node:fs';
import { deadPid, startTarget } from '../test/target.js';
import {
  KCMP, KCMP_RESULT, PR, RLIMIT, SIG, capget, getpgid, getpriority, getsid, gettid, kcmp, kill, pidfdGetfd, pidfdOpen,
  pidfdSendSignal, pipe2, prctl, prlimit, schedGetparam, schedGetscheduler, syscall, SYS, tee, trySyscall,
} from './index.js';

function statusField(pid: number, name: string): string {
  const m = new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no ${name} in /proc/${pid}/status`);
  return m[1]!;
}

t.test('pidfd_getfd copies a task pipe; tee peeks without consuming', async (t) => {
  const target = startTarget(t);
  const pidfd = pidfdOpen(target.pid);
  t.teardown(() => closeSync(pidfd));
  const copy = pidfdGetfd(pidfd, target.state.pipeR);
  t.teardown(() => closeSync(copy));
  const [r, w] = pipe2();
  t.teardown(() => {
    closeSync(r);
    closeSync(w);
  });
  t.equal(tee(copy, w, 1 << 16), 9, 'tee duplicated the queued bytes');
  const peeked = Buffer.alloc(64);
  t.equal(peeked.toString('utf8', 0, readSync(r, peeked)), 'pipe-data');
  const data = Buffer.alloc(64);
  t.equal(data.toString('utf8', 0, readSync(copy, data)), 'pipe-data', 'the task pipe still held its data');
  t.throws(() => pidfdGetfd(pidfd, 999), { code: 'EBADF' });
});

t.test('kcmp tells shared files and address spaces apart', async (t) => {
  const target = startTarget(t);
  const { fdA, fdB, fdC } = target.state;
  t.equal(kcmp(target.pid, target.pid, KCMP.FILE, BigInt(fdA), BigInt(fdB)), KCMP_RESULT.EQUAL, 'dup shares the file');
  t.not(kcmp(target.pid, target.pid, KCMP.FILE, BigInt(fdA), BigInt(fdC)), KCMP_RESULT.EQUAL, 'a second open does not');
  t.equal(kcmp(target.pid, target.pid, KCMP.VM), KCMP_RESULT.EQUAL);
  t.not(kcmp(target.pid, process.pid, KCMP.VM), KCMP_RESULT.EQUAL);
  t.throws(() => kcmp(target.pid, target.pid, KCMP.FILE, 999n, 0n), { code: 'EBADF' });
});

t.test('signals through pid and pidfd', async (t) => {
  const target = startTarget(t);
  const pidfd = pidfdOpen(target.pid);
  t.teardown(() => closeSync(pidfd));
  pidfdSendSignal(pidfd, SIG.USR2); // blocked in the fixture
  t.equal(BigInt(`0x${statusField(target.pid, 'ShdPnd')}`) & (1n << BigInt(SIG.USR2 - 1)), 1n << BigInt(SIG.USR2 - 1));
  kill(target.pid, 0);
  const gone = deadPid();
  t.throws(() => kill(gone, 0), { code: 'ESRCH', pid: gone, message: `kill pid ${gone}: No such process (ESRCH)` });
  t.throws(() => pidfdOpen(gone), { code: 'ESRCH' });
});

t.test('task attributes agree with /proc', async (t) => {
  const target = startTarget(t);
  const stat = readFileSync(`/proc/${target.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  t.equal(getpgid(target.pid), Number(fields[2]));
  t.equal(getsid(target.pid), Number(fields[3]));
  t.equal(getpriority(target.pid), Number(fields[16]), 'nice');
  t.equal(schedGetscheduler(target.pid), Number(fields[38]), 'policy');
  t.equal(schedGetparam(target.pid), Number(fields[37]), 'rt priority');
  const limits = readFileSync(`/proc/${target.pid}/limits`, 'utf8');
  const files = /^Max open files\s+(\d+)\s+(\d+)/m.exec(limits);
  t.same(prlimit(target.pid, RLIMIT.NOFILE), { cur: BigInt(files?.[1] ?? -1), max: BigInt(files?.[2] ?? -1) });
  const caps = capget(target.pid);
  t.equal(caps.effective, BigInt(`0x${statusField(target.pid, 'CapEff')}`));
  t.equal(caps.permitted, BigInt(`0x${statusField(target.pid, 'CapPrm')}`));
  t.equal(caps.inheritable, BigInt(`0x${statusField(target.pid, 'CapInh')}`));
});

t.test('own-process calls and the raw escape hatch', async (t) => {
  t.equal(Number(syscall(SYS.getpid)), process.pid);
  t.equal(gettid(), process.pid, 'the main thread is the tracer thread');
  t.equal(prctl(PR.GET_CHILD_SUBREAPER, Buffer.alloc(4)), 0n);
  t.throws(() => syscall(SYS.close, 999999), { code: 'EBADF', syscall: 'close' });
  t.same(trySyscall(SYS.close, 999999), { value: -1n, errno: 9 });
  t.throws(() => prctl(0x7fffffff), { code: 'EINVAL' });
});

import t from 'tap';
import { SyscallError } from '@criu-ts/base';
import { deadPid, seizeAndStop, startTarget } from '../test/target.js';
import {
  CLD, ERESTART, NT, P, PTRACE_EVENT, SI, SIG, SYS, USER_REGS_SIZE, WAIT,
  kill, ptraceCont, ptraceDetach, ptraceGetEventMsg, ptraceGetFpRegs, ptraceGetRegs, ptraceGetRegset,
  ptraceGetRseqConfiguration, ptraceGetSigmask, ptraceGetSyscallInfo, ptraceInterrupt, ptracePeekData,
  ptracePeekSiginfo, ptracePokeData, ptraceSeccompGetFilter, ptraceSeize, ptraceSetRegs, ptraceSetRegset,
  ptraceSetSigmask, ptraceEventOf, regsToBuffer, signed64, waitid, waitpid, waitpidWithin, wifstopped, wstopsig,
} from './index.js';

const bit = (sig: number): bigint => 1n << BigInt(sig - 1);

t.test('seize, interrupt and wait: a sleeping task stops inside clock_nanosleep', async (t) => {
  const target = startTarget(t);
  const status = seizeAndStop(target.pid);
  t.ok(wifstopped(status));
  t.equal(wstopsig(status), SIG.TRAP);
  t.equal(ptraceEventOf(status), PTRACE_EVENT.STOP);
  const regs = ptraceGetRegs(target.pid);
  t.equal(regs.orig_rax, BigInt(SYS.clock_nanosleep), 'orig_rax is the interrupted syscall');
  t.equal(signed64(regs.rax), -BigInt(ERESTART.RESTARTBLOCK), 'rax holds -ERESTART_RESTARTBLOCK');
  const syscallInsn = Buffer.alloc(8);
  syscallInsn.writeBigUInt64LE(ptracePeekData(target.pid, regs.rip - 2n));
  t.same([...syscallInsn.subarray(0, 2)], [0x0f, 0x05], 'rip is just after a syscall instruction');
  const info = ptraceGetSyscallInfo(target.pid);
  t.equal(info.instructionPointer, regs.rip);
  t.equal(info.stackPointer, regs.rsp);
  t.equal(waitpid(target.pid, WAIT.__WALL | WAIT.WNOHANG), null, 'nothing more to report while stopped');
});

t.test('setregs round trip and regsets', async (t) => {
  const target = startTarget(t);
  seizeAndStop(target.pid);
  const regs = ptraceGetRegs(target.pid);
  ptraceSetRegs(target.pid, { ...regs, r12: 0x1122334455667788n, r13: 0xfedcba9876543210n });
  const changed = ptraceGetRegs(target.pid);
  t.equal(changed.r12, 0x1122334455667788n);
  t.equal(changed.r13, 0xfedcba9876543210n);
  ptraceSetRegs(target.pid, regs);
  t.same(ptraceGetRegs(target.pid), regs, 'original registers are back');

  const prstatus = ptraceGetRegset(target.pid, NT.PRSTATUS, 4096);
  t.equal(prstatus.length, USER_REGS_SIZE, 'NT_PRSTATUS is cut to 216 bytes');
  t.ok(prstatus.equals(regsToBuffer(regs)), 'NT_PRSTATUS equals PTRACE_GETREGS');
  const xstate = ptraceGetRegset(target.pid, NT.X86_XSTATE, 64 * 1024);
  t.ok(xstate.length >= 576, `NT_X86_XSTATE holds legacy area + header (${xstate.length} bytes)`);
  // bytes 464-511 of the xstate regset carry the kernel's fx_sw_bytes instead
  t.ok(xstate.subarray(0, 464).equals(ptraceGetFpRegs(target.pid).subarray(0, 464)), 'it starts with the FXSAVE area');
  const prfpreg = ptraceGetRegset(target.pid, NT.PRFPREG, 4096);
  t.equal(prfpreg.length, 512);
  ptraceSetRegset(target.pid, NT.PRFPREG, prfpreg);
  t.ok(ptraceGetRegset(target.pid, NT.PRFPREG, 4096).equals(prfpreg), 'setregset writes what getregset read');
});

t.test('sigmask, pending signals and waitid', async (t) => {
  const target = startTarget(t);
  kill(target.pid, SIG.USR1); // blocked in the fixture: stays queued
  ptraceSeize(target.pid);
  ptraceInterrupt(target.pid);
  const stop = waitid(P.PID, target.pid, WAIT.WSTOPPED | WAIT.__WALL);
  t.equal(stop?.code, CLD.TRAPPED, 'waitid reports a ptrace stop');
  t.equal((stop?.status ?? 0) & 0xff, SIG.TRAP);
  t.equal(waitid(P.PID, target.pid, WAIT.WSTOPPED | WAIT.__WALL | WAIT.WNOHANG), null);

  const mask = ptraceGetSigmask(target.pid);
  t.equal(mask & (bit(SIG.USR1) | bit(SIG.USR2)), bit(SIG.USR1) | bit(SIG.USR2), 'USR1 and USR2 blocked');
  ptraceSetSigmask(target.pid, mask | bit(SIG.HUP));
  t.equal(ptraceGetSigmask(target.pid), mask | bit(SIG.HUP));
  ptraceSetSigmask(target.pid, mask);
  t.equal(ptraceGetSigmask(target.pid), mask);

  const shared = ptracePeekSiginfo(target.pid, { offset: 0, count: 8, shared: true });
  t.equal(shared.length, 1, 'one signal in the shared queue');
  t.equal(shared[0]!.readInt32LE(0), SIG.USR1, 'si_signo');
  t.equal(shared[0]!.readInt32LE(8), SI.USER, 'si_code');
  t.equal(shared[0]!.readInt32LE(16), process.pid, 'si_pid is the sender');
  t.same(ptracePeekSiginfo(target.pid, { offset: 0, count: 8, shared: false }), [], 'thread queue empty');
  t.same(ptracePeekSiginfo(target.pid, { offset: 0, count: 8, shared: true }).length, 1, 'peeking consumed nothing');
});

t.test('peek/poke data, rseq, seccomp, event message, detach', async (t) => {
  const target = startTarget(t);
  seizeAndStop(target.pid);
  const word = ptracePeekData(target.pid, target.state.buf + 8n);
  const expected = Buffer.from(Array.from({ length: 8 }, (_, i) => ((8 + i) * 7 + 3) & 0xff)).readBigUInt64LE();
  t.equal(word, expected, 'PEEKDATA reads the fixture pattern');
  ptracePokeData(target.pid, target.state.buf + 8n, 0x0102030405060708n);
  t.equal(ptracePeekData(target.pid, target.state.buf + 8n), 0x0102030405060708n);
  ptracePokeData(target.pid, target.state.buf + 8n, word);

  const rseq = ptraceGetRseqConfiguration(target.pid);
  t.ok(rseq.rseqAbiPointer > 0n, 'glibc registered rseq');
  t.equal(rseq.signature, 0x53053053, 'with the x86 rseq signature');
  t.equal(ptraceSeccompGetFilter(target.pid, 0), null, 'no seccomp filter');
  t.equal(typeof ptraceGetEventMsg(target.pid), 'bigint');

  ptraceDetach(target.pid);
  t.throws(() => ptraceGetRegs(target.pid), { code: 'ESRCH' }, 'a detached task cannot be read');
});

t.test('errors carry the call, the errno name and the pid', async (t) => {
  const gone = deadPid();
  const error = t.throws(() => ptraceSeize(gone)) as SyscallError;
  t.ok(error instanceof SyscallError);
  t.equal(error.code, 'ESRCH');
  t.equal(error.pid, gone);
  t.equal(error.message, `ptrace(PTRACE_SEIZE) pid ${gone}: No such process (ESRCH)`);

  const target = startTarget(t);
  t.throws(() => ptraceGetRegs(target.pid), { code: 'ESRCH', syscall: 'ptrace(PTRACE_GETREGS)' }, 'unseized task');
  t.throws(() => ptraceInterrupt(target.pid), { code: 'ESRCH' });
  ptraceSeize(target.pid);
  t.throws(() => ptraceGetRegs(target.pid), { code: 'ESRCH' }, 'seized but running');
  t.throws(() => ptraceSeize(target.pid), { code: 'EPERM' }, 'seizing twice');
  t.throws(() => waitpidWithin(target.pid, WAIT.__WALL, 50), { code: 'ETIMEDOUT' }, 'bounded wait gives up');
  ptraceInterrupt(target.pid);
  waitpidWithin(target.pid, WAIT.__WALL, 5000);
  ptraceCont(target.pid);
  t.throws(() => waitpidWithin(target.pid, WAIT.__WALL, 50), { code: 'ETIMEDOUT' }, 'running again after CONT');
});

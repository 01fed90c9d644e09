// ptrace(2) control and register requests as typed calls. Every request
// goes through the raw syscall (not glibc's variadic wrapper), and a
// failure throws SyscallError reading e.g.
//   ptrace(PTRACE_SEIZE) pid 4242: Operation not permitted (EPERM)
// All ptrace calls must come from the thread that seized the task: the main
// thread, where ffi-rs calls run synchronously.
import { bufferAddress, type RawArg } from './ffi.js';
import { PTRACE, USER_FPREGS_SIZE, USER_REGS_SIZE } from './ptrace-constants.js';
import { regsFromBuffer, regsToBuffer, type X86Regs } from './regs.js';
import { invoke } from './syscall.js';
import { SYS } from './sys-numbers.js';

const requestNames = new Map<number, string>(Object.entries(PTRACE).map(([name, nr]) => [nr, `PTRACE_${name}`]));

/** Any ptrace request: ptrace(request, pid, addr, data), raw kernel semantics. */
export function ptraceRaw(request: number, pid: number, addr: RawArg = 0, data: RawArg = 0): bigint {
  const name = requestNames.get(request) ?? `${request}`;
  return invoke(SYS.ptrace, [request, pid, addr, data], { call: `ptrace(${name})`, pid });
}

/** Attaches without stopping the task; `options` are PTRACE_O bits. */
export function ptraceSeize(pid: number, options = 0): void {
  ptraceRaw(PTRACE.SEIZE, pid, 0, options);
}

/** Asks a seized task to stop; wait for the PTRACE_EVENT_STOP with waitpid. */
export function ptraceInterrupt(pid: number): void {
  ptraceRaw(PTRACE.INTERRUPT, pid);
}

export function ptraceCont(pid: number, sig = 0): void {
  ptraceRaw(PTRACE.CONT, pid, 0, sig);
}

export function ptraceSyscall(pid: number, sig = 0): void {
  ptraceRaw(PTRACE.SYSCALL, pid, 0, sig);
}

export function ptraceSingleStep(pid: number, sig = 0): void {
  ptraceRaw(PTRACE.SINGLESTEP, pid, 0, sig);
}

export function ptraceDetach(pid: number, sig = 0): void {
  ptraceRaw(PTRACE.DETACH, pid, 0, sig);
}

/** Leaves a group-stopped seized task stopped but lets it report new events. */
export function ptraceListen(pid: number): void {
  ptraceRaw(PTRACE.LISTEN, pid);
}

export function ptraceSetOptions(pid: number, options: number): void {
  ptraceRaw(PTRACE.SETOPTIONS, pid, 0, options);
}

/** The event message: a new child's pid, an exit status, a seccomp ret data. */
export function ptraceGetEventMsg(pid: number): bigint {
  const out = Buffer.alloc(8);
  ptraceRaw(PTRACE.GETEVENTMSG, pid, 0, out);
  return out.readBigUInt64LE(0);
}

export function ptraceGetRegs(pid: number): X86Regs {
  const out = Buffer.alloc(USER_REGS_SIZE);
  ptraceRaw(PTRACE.GETREGS, pid, 0, out);
  return regsFromBuffer(out);
}

export function ptraceSetRegs(pid: number, regs: X86Regs): void {
  ptraceRaw(PTRACE.SETREGS, pid, 0, regsToBuffer(regs));
}

/** The legacy FXSAVE area (512 bytes); NT_X86_XSTATE holds the full state. */
export function ptraceGetFpRegs(pid: number): Buffer {
  const out = Buffer.alloc(USER_FPREGS_SIZE);
  ptraceRaw(PTRACE.GETFPREGS, pid, 0, out);
  return out;
}

export function ptraceSetFpRegs(pid: number, buf: Buffer): void {
  ptraceRaw(PTRACE.SETFPREGS, pid, 0, buf);
}

function iovecOf(buf: Buffer): Buffer {
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(bufferAddress(buf), 0);
  iov.writeBigUInt64LE(BigInt(buf.length), 8);
  return iov;
}

/** A register set by NT note, cut to the length the kernel wrote. */
export function ptraceGetRegset(pid: number, note: number, maxSize: number): Buffer {
  const out = Buffer.alloc(maxSize);
  const iov = iovecOf(out);
  ptraceRaw(PTRACE.GETREGSET, pid, note, iov);
  return out.subarray(0, Number(iov.readBigUInt64LE(8)));
}

export function ptraceSetRegset(pid: number, note: number, buf: Buffer): void {
  ptraceRaw(PTRACE.SETREGSET, pid, note, iovecOf(buf));
}

/** The blocked-signal mask, bit (n-1) for signal n. */
export function ptraceGetSigmask(pid: number): bigint {
  const out = Buffer.alloc(8);
  ptraceRaw(PTRACE.GETSIGMASK, pid, 8, out);
  return out.readBigUInt64LE(0);
}

export function ptraceSetSigmask(pid: number, mask: bigint): void {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(BigInt.asUintN(64, mask), 0);
  ptraceRaw(PTRACE.SETSIGMASK, pid, 8, buf);
}

// ptrace requests that read state a dump needs: queued and current
// siginfo, memory words, the syscall a task stopped in, its rseq
// registration and seccomp filters.
import { errnoName, SyscallError } from '@criu-ts/base';
import { PTRACE, PTRACE_PEEKSIGINFO_SHARED, SIGINFO_SIZE } from './ptrace-constants.js';
import { ptraceRaw } from './ptrace.js';

export interface PeekSiginfoOptions {
  /** index of the first queued signal to read */
  offset: number;
  /** at most this many */
  count: number;
  /** the process-wide queue instead of the thread's own */
  shared: boolean;
}

/** Queued signals without dequeuing them: one 128-byte siginfo each. */
export function ptracePeekSiginfo(pid: number, options: PeekSiginfoOptions): Buffer[] {
  const args = Buffer.alloc(16);
  args.writeBigUInt64LE(BigInt(options.offset), 0);
  args.writeUInt32LE(options.shared ? PTRACE_PEEKSIGINFO_SHARED : 0, 8);
  args.writeInt32LE(options.count, 12);
  const out = Buffer.alloc(options.count * SIGINFO_SIZE);
  const got = Number(ptraceRaw(PTRACE.PEEKSIGINFO, pid, args, out));
  return Array.from({ length: got }, (_, i) => out.subarray(i * SIGINFO_SIZE, (i + 1) * SIGINFO_SIZE));
}

/** The siginfo of the signal that caused the current stop. */
export function ptraceGetSiginfo(pid: number): Buffer {
  const out = Buffer.alloc(SIGINFO_SIZE);
  ptraceRaw(PTRACE.GETSIGINFO, pid, 0, out);
  return out;
}

export function ptraceSetSiginfo(pid: number, siginfo: Buffer): void {
  if (siginfo.length !== SIGINFO_SIZE) throw new RangeError(`siginfo must be ${SIGINFO_SIZE} bytes, got ${siginfo.length}`);
  ptraceRaw(PTRACE.SETSIGINFO, pid, 0, siginfo);
}

/** One 8-byte word of the task's memory (prefer processVmReadv for more). */
export function ptracePeekData(pid: number, addr: bigint): bigint {
  const out = Buffer.alloc(8);
  ptraceRaw(PTRACE.PEEKDATA, pid, addr, out);
  return out.readBigUInt64LE(0);
}

export function ptracePokeData(pid: number, addr: bigint, word: bigint): void {
  ptraceRaw(PTRACE.POKEDATA, pid, addr, BigInt.asIntN(64, word));
}

export type SyscallInfo =
  | { op: 'none'; arch: number; instructionPointer: bigint; stackPointer: bigint }
  | { op: 'entry' | 'seccomp'; arch: number; instructionPointer: bigint; stackPointer: bigint; nr: bigint; args: bigint[] }
  | { op: 'exit'; arch: number; instructionPointer: bigint; stackPointer: bigint; rval: bigint; isError: boolean };

const SYSCALL_INFO_SIZE = 88;

/** What the stopped task is doing in terms of system calls (PTRACE_GET_SYSCALL_INFO). */
export function ptraceGetSyscallInfo(pid: number): SyscallInfo {
  const out = Buffer.alloc(SYSCALL_INFO_SIZE);
  ptraceRaw(PTRACE.GET_SYSCALL_INFO, pid, SYSCALL_INFO_SIZE, out);
  const base = { arch: out.readUInt32LE(4), instructionPointer: out.readBigUInt64LE(8), stackPointer: out.readBigUInt64LE(16) };
  const op = out.readUInt8(0);
  if (op === 2) return { op: 'exit', ...base, rval: out.readBigInt64LE(24), isError: out.readUInt8(32) !== 0 };
  if (op === 1 || op === 3) {
    const args = Array.from({ length: 6 }, (_, i) => out.readBigUInt64LE(32 + i * 8));
    return { op: op === 1 ? 'entry' : 'seccomp', ...base, nr: out.readBigUInt64LE(24), args };
  }
  return { op: 'none', ...base };
}

export interface RseqConfiguration {
  /** address of the registered struct rseq, 0n if none */
  rseqAbiPointer: bigint;
  rseqAbiSize: number;
  signature: number;
  flags: number;
}

export function ptraceGetRseqConfiguration(pid: number): RseqConfiguration {
  const out = Buffer.alloc(24);
  ptraceRaw(PTRACE.GET_RSEQ_CONFIGURATION, pid, out.length, out);
  return {
    rseqAbiPointer: out.readBigUInt64LE(0),
    rseqAbiSize: out.readUInt32LE(8),
    signature: out.readUInt32LE(12),
    flags: out.readUInt32LE(16),
  };
}

/**
 * The classic-BPF program of the task's seccomp filter number `index`
 * (0 = most recently installed), 8 bytes per instruction; null when the
 * task has no filter at that index (ENOENT) or no filter at all (EINVAL:
 * its seccomp mode is not "filter").
 */
export function ptraceSeccompGetFilter(pid: number, index: number): Buffer | null {
  let count: number;
  try {
    count = Number(ptraceRaw(PTRACE.SECCOMP_GET_FILTER, pid, index, 0));
  } catch (error) {
    if (error instanceof SyscallError && (errnoName(error.errno) === 'ENOENT' || errnoName(error.errno) === 'EINVAL')) return null;
    throw error;
  }
  const out = Buffer.alloc(count * 8);
  const got = Number(ptraceRaw(PTRACE.SECCOMP_GET_FILTER, pid, index, out));
  return out.subarray(0, got * 8);
}

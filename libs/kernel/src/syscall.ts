// The typed layer's core: run a system call and turn -1 into a SyscallError
// that names the call, the errno and the task. Every wrapper goes through
// `invoke`; `syscall` is the raw escape hatch for calls without a wrapper.
import { SyscallError } from '@criu-ts/base';
import { rawSyscall, type RawArg } from './ffi.js';
import { SYS } from './sys-numbers.js';

const sysNames = new Map<number, string>(Object.entries(SYS).map(([name, nr]) => [nr, name]));

/** x86_64 syscall number → its name, e.g. 9 → 'mmap'; unknown → 'syscall(N)'. */
export function syscallName(nr: number): string {
  return sysNames.get(nr) ?? `syscall(${nr})`;
}

/** What a failure is reported as: the call shown to the user, the task, the object. */
export interface CallSite {
  /** e.g. 'ptrace(PTRACE_SEIZE)'; defaults to the syscall's name */
  call?: string;
  pid?: number;
  path?: string;
}

/** Runs syscall `nr`; throws SyscallError naming `site` when it fails. */
export function invoke(nr: number, args: readonly RawArg[], site: CallSite = {}): bigint {
  const { value, errno } = rawSyscall(nr, args);
  if (value === -1n) {
    throw new SyscallError({ syscall: site.call ?? syscallName(nr), errno, pid: site.pid, path: site.path });
  }
  return value;
}

/** Like invoke, but a number (fds, pids, counts). */
export function invokeInt(nr: number, args: readonly RawArg[], site: CallSite = {}): number {
  return Number(invoke(nr, args, site));
}

/**
 * Any system call by number: integers pass as 64-bit registers, Buffers as
 * pointers to their memory. Returns the kernel's result; throws
 * SyscallError (with the call's name and errno) if it fails.
 */
export function syscall(nr: number, ...args: (bigint | number | Buffer)[]): bigint {
  return invoke(nr, args);
}

/** A system call whose failure is an answer, not an error: the errno, or 0. */
export function trySyscall(nr: number, ...args: (bigint | number | Buffer)[]): { value: bigint; errno: number } {
  const { value, errno } = rawSyscall(nr, args);
  return value === -1n ? { value, errno } : { value, errno: 0 };
}

/** Reads a 64-bit value as signed: a syscall result or a register holding -errno. */
export function signed64(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

/** Reads a 64-bit value as unsigned: how registers and image fields hold it. */
export function unsigned64(value: bigint): bigint {
  return BigInt.asUintN(64, value);
}

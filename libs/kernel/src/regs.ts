// struct user_regs_struct (x86_64) as a typed object: 27 unsigned 64-bit
// registers in the kernel's order. Values are unsigned, as the kernel and
// CRIU's user_x86_regs_entry hold them; read rax/orig_rax through
// signed64() to see -errno or -1.
import { USER_REGS_SIZE } from './ptrace-constants.js';

/** Register names in struct user_regs_struct order (offset = index * 8). */
export const X86_REG_NAMES = [
  'r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8',
  'rax', 'rcx', 'rdx', 'rsi', 'rdi', 'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss',
  'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs',
] as const;

export type X86RegName = (typeof X86_REG_NAMES)[number];

/** A thread's general registers. */
export type X86Regs = Record<X86RegName, bigint>;

/** Decodes PTRACE_GETREGS / NT_PRSTATUS bytes (at least 216). */
export function regsFromBuffer(buf: Buffer): X86Regs {
  if (buf.length < USER_REGS_SIZE) {
    throw new RangeError(`user_regs_struct needs ${USER_REGS_SIZE} bytes, got ${buf.length}`);
  }
  const regs = {} as X86Regs;
  X86_REG_NAMES.forEach((name, index) => {
    regs[name] = buf.readBigUInt64LE(index * 8);
  });
  return regs;
}

/** Encodes registers for PTRACE_SETREGS / NT_PRSTATUS; accepts signed values too. */
export function regsToBuffer(regs: X86Regs): Buffer {
  const buf = Buffer.alloc(USER_REGS_SIZE);
  X86_REG_NAMES.forEach((name, index) => {
    buf.writeBigUInt64LE(BigInt.asUintN(64, regs[name]), index * 8);
  });
  return buf;
}

/** A copy of regs with some registers changed. */
export function withRegs(regs: X86Regs, changes: Partial<X86Regs>): X86Regs {
  return { ...regs, ...changes };
}

/** The x86_64 syscall argument registers, in order. */
export const SYSCALL_ARG_REGS = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'] as const satisfies readonly X86RegName[];

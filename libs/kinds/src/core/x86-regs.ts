// x86_64 general registers and GDT TLS slots as core-PID.img holds them
// (user_x86_regs_entry, user_desc_t in thread_info_x86). Pure conversions.
//
// Syscall restart: a thread frozen inside an interrupted system call has
// orig_rax = the syscall number and rax = -ERESTART*. Upstream CRIU (compel's
// get_task_regs) resolves that at dump time, and its restorer relies on it
// (the registers are loaded with rt_sigreturn, which never restarts):
// -ERESTARTSYS/-ERESTARTNOINTR/-ERESTARTNOHAND → rip -= 2 and rax = orig_rax,
// so the thread re-executes the `syscall` instruction; -ERESTART_RESTARTBLOCK
// → rax = -EINTR (the call returns EINTR: its restart block is kernel state
// that does not survive). We do the same, so images restore with upstream
// CRIU and with ours alike. orig_rax is kept as captured.
import type { Messages } from '@criu-ts/images';
import { SyscallError } from '@criu-ts/base';
import { ERESTART, PTRACE, ptraceRaw, signed64, unsigned64, type X86Regs } from '@criu-ts/kernel';

export type UserX86Regs = Messages['user_x86_regs_entry'];
export type UserDesc = Messages['user_desc_t'];

const EINTR = 4n;
/** user_x86_regs_mode NATIVE */
const MODE_NATIVE = 1;
/** GDT_ENTRY_TLS_MIN on x86_64, and the three TLS slots */
export const GDT_ENTRY_TLS_MIN = 12;
export const GDT_ENTRY_TLS_NUM = 3;
export const USER_DESC_SIZE = 16;
/** struct user_desc flag bit: seg_not_present */
const SEG_NOT_PRESENT = 0x20;

/** The registers a thread resumes with: restarts resolved as upstream does (see the file comment). */
export function resolveSyscallRestart(regs: X86Regs): X86Regs {
  if (signed64(regs.orig_rax) < 0n) return regs;
  const rax = signed64(regs.rax);
  if (rax === -BigInt(ERESTART.SYS) || rax === -BigInt(ERESTART.NOINTR) || rax === -BigInt(ERESTART.NOHAND)) {
    return { ...regs, rax: regs.orig_rax, rip: unsigned64(regs.rip - 2n) };
  }
  if (rax === -BigInt(ERESTART.RESTARTBLOCK)) return { ...regs, rax: unsigned64(-EINTR) };
  return regs;
}

/** user_x86_regs_entry (mode NATIVE) from registers as PTRACE_GETREGS gives them. */
export function gpregsEntry(captured: X86Regs): UserX86Regs {
  const r = resolveSyscallRestart(captured);
  return {
    r15: r.r15, r14: r.r14, r13: r.r13, r12: r.r12, bp: r.rbp, bx: r.rbx, r11: r.r11, r10: r.r10,
    r9: r.r9, r8: r.r8, ax: r.rax, cx: r.rcx, dx: r.rdx, si: r.rsi, di: r.rdi, orig_ax: r.orig_rax,
    ip: r.rip, cs: r.cs, flags: r.eflags, sp: r.rsp, ss: r.ss, fs_base: r.fs_base, gs_base: r.gs_base,
    ds: r.ds, es: r.es, fs: r.fs, gs: r.gs, mode: MODE_NATIVE,
  };
}

/** One struct user_desc (16 bytes) as user_desc_t. */
function userDesc(buf: Buffer, at: number): UserDesc {
  const bits = buf.readUInt32LE(at + 12);
  const contents = (bits >> 1) & 3;
  return {
    entry_number: buf.readUInt32LE(at),
    base_addr: buf.readUInt32LE(at + 4),
    limit: buf.readUInt32LE(at + 8),
    seg_32bit: (bits & 1) !== 0,
    contents_h: (contents & 2) !== 0,
    contents_l: (contents & 1) !== 0,
    read_exec_only: (bits & 8) !== 0,
    limit_in_pages: (bits & 16) !== 0,
    seg_not_present: (bits & 32) !== 0,
    usable: (bits & 64) !== 0,
  };
}

/** The three GDT TLS slots from 3 × struct user_desc (as get_thread_area(2) fills them). */
export function tlsEntries(regset: Buffer): UserDesc[] {
  if (regset.length < GDT_ENTRY_TLS_NUM * USER_DESC_SIZE) {
    throw new RangeError(`TLS slots: got ${regset.length} bytes, want ${GDT_ENTRY_TLS_NUM * USER_DESC_SIZE}`);
  }
  return Array.from({ length: GDT_ENTRY_TLS_NUM }, (_, i) => userDesc(regset, i * USER_DESC_SIZE));
}

/**
 * The thread's three GDT TLS slots as 3 × struct user_desc, read from
 * outside with PTRACE_GET_THREAD_AREA. A slot the kernel cannot describe
 * (no 32-bit emulation) is saved as upstream's parasite saves it then:
 * empty, entry number set, not present.
 */
export function readTlsSlots(tid: number): Buffer {
  const slots = Buffer.alloc(GDT_ENTRY_TLS_NUM * USER_DESC_SIZE);
  for (let i = 0; i < GDT_ENTRY_TLS_NUM; i++) {
    const desc = Buffer.alloc(USER_DESC_SIZE);
    try {
      ptraceRaw(PTRACE.GET_THREAD_AREA, tid, GDT_ENTRY_TLS_MIN + i, desc);
    } catch (error) {
      if (!(error instanceof SyscallError && (error.code === 'EIO' || error.code === 'EINVAL'))) throw error;
      desc.fill(0);
      desc.writeUInt32LE(GDT_ENTRY_TLS_MIN + i, 0);
      desc.writeUInt32LE(SEG_NOT_PRESENT, 12);
    }
    desc.copy(slots, i * USER_DESC_SIZE);
  }
  return slots;
}

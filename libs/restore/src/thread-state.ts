// A thread's CPU state from core-TID.img, set with ptrace(2) just before it
// is let go: general registers (PTRACE_SETREGS, with fs_base/gs_base for
// TLS), the FPU/SSE state (PTRACE_SETFPREGS) and, when the image has it,
// the extended state through NT_X86_XSTATE (AVX, AVX-512, MPX, PKRU: every
// component the core kind knows, at this CPU's offsets). An interrupted system call
// is set up to restart as the kernel would have done it: -ERESTARTSYS,
// -ERESTARTNOINTR, -ERESTARTNOHAND rewind rip onto the syscall
// instruction with rax = the call number; -ERESTART_RESTARTBLOCK (a sleep
// whose restart block does not survive) returns -EINTR, as criu(8) does.
// orig_rax is then -1 so the kernel does not adjust again. Upstream images
// carry registers already adjusted this way, which this leaves unchanged.
import { CriuError, ImageError } from '@criu-ts/base';
import {
  ERESTART, NT, ptraceGetRegset, ptraceSetFpRegs, ptraceSetRegs, ptraceSetRegset, USER_FPREGS_SIZE, type X86Regs,
} from '@criu-ts/kernel';
import { imageFileName, type Messages } from '@criu-ts/images';
import { nsTidOf } from '@criu-ts/inject';
import { putXsaveComponents, type XsaveLayout } from '@criu-ts/kinds';

type Gpregs = Messages['user_x86_regs_entry'];
type Fpregs = Messages['user_x86_fpregs_entry'];

const EINTR = 4n;
const XSTATE_MAX = 64 * 1024;
const XSAVE_HEADER = 512;
/** the legacy components: x87, SSE */
const LEGACY_FEATURES = 0b11n;

/** The registers to set, with any interrupted system call set up to restart. */
export function regsFromImage(gp: Gpregs): X86Regs {
  const regs: X86Regs = {
    r15: gp.r15, r14: gp.r14, r13: gp.r13, r12: gp.r12, rbp: gp.bp, rbx: gp.bx, r11: gp.r11, r10: gp.r10,
    r9: gp.r9, r8: gp.r8, rax: gp.ax, rcx: gp.cx, rdx: gp.dx, rsi: gp.si, rdi: gp.di, orig_rax: gp.orig_ax,
    rip: gp.ip, cs: gp.cs, eflags: gp.flags, rsp: gp.sp, ss: gp.ss, fs_base: gp.fs_base, gs_base: gp.gs_base,
    ds: gp.ds, es: gp.es, fs: gp.fs, gs: gp.gs,
  };
  return withSyscallRestart(regs);
}

/** Applies the kernel's syscall-restart rule to registers saved in a syscall. */
export function withSyscallRestart(regs: X86Regs): X86Regs {
  const inSyscall = BigInt.asIntN(64, regs.orig_rax) >= 0n;
  const out = { ...regs, orig_rax: BigInt.asUintN(64, -1n) };
  if (!inSyscall) return out;
  const ret = -BigInt.asIntN(64, regs.rax);
  if (ret === BigInt(ERESTART.SYS) || ret === BigInt(ERESTART.NOINTR) || ret === BigInt(ERESTART.NOHAND)) {
    return { ...out, rip: regs.rip - 2n, rax: regs.orig_rax };
  }
  if (ret === BigInt(ERESTART.RESTARTBLOCK)) return { ...out, rax: BigInt.asUintN(64, -EINTR) };
  return out;
}

function putWords(buf: Buffer, offset: number, words: readonly number[] | undefined, max: number, what: string): void {
  const list = words ?? [];
  if (list.length > max) throw new CriuError(`fpregs ${what} has ${list.length} words, at most ${max} fit`, { code: 'EIMAGE' });
  list.forEach((word, i) => buf.writeUInt32LE(word >>> 0, offset + i * 4));
}

/** The 512-byte FXSAVE area (struct user_fpregs_struct) of the image's fpregs. */
export function fxsaveArea(fp: Fpregs): Buffer {
  const buf = Buffer.alloc(USER_FPREGS_SIZE);
  buf.writeUInt16LE(fp.cwd & 0xffff, 0);
  buf.writeUInt16LE(fp.swd & 0xffff, 2);
  buf.writeUInt16LE(fp.twd & 0xffff, 4);
  buf.writeUInt16LE(fp.fop & 0xffff, 6);
  buf.writeBigUInt64LE(fp.rip, 8);
  buf.writeBigUInt64LE(fp.rdp, 16);
  buf.writeUInt32LE(fp.mxcsr >>> 0, 24);
  buf.writeUInt32LE(fp.mxcsr_mask >>> 0, 28);
  putWords(buf, 32, fp.st_space, 32, 'st_space');
  putWords(buf, 160, fp.xmm_space, 64, 'xmm_space');
  putWords(buf, 416, fp.padding, 24, 'padding');
  return buf;
}

/** The thread's current XSAVE buffer with the image's state written in (components at `layout`'s offsets). */
export function xstateFrom(current: Buffer, fp: Fpregs, layout: XsaveLayout): Buffer {
  const xsave = fp.xsave;
  const buf = Buffer.from(current);
  fxsaveArea(fp).copy(buf, 0);
  if (xsave === undefined || buf.length < XSAVE_HEADER + 64) return buf;
  let written: bigint;
  try {
    written = putXsaveComponents(buf, xsave, layout);
  } catch (error) {
    if (error instanceof RangeError) throw new CriuError(`fpregs ${error.message}`, { code: 'EIMAGE', cause: error });
    throw error;
  }
  buf.writeBigUInt64LE(BigInt.asUintN(64, xsave.xstate_bv) & (LEGACY_FEATURES | written), XSAVE_HEADER);
  buf.writeBigUInt64LE(0n, XSAVE_HEADER + 8);
  return buf;
}

/**
 * The FPU state to set for thread tid: the FXSAVE area, or — when the image
 * has extended state — `current` (the thread's XSAVE buffer) with the
 * image's components in. fpregs that do not fit are an ImageError naming
 * core-TID.img.
 */
export function fpuAreaFor(tid: number, fp: Fpregs, layout: XsaveLayout, current?: Buffer): Buffer {
  try {
    return current === undefined ? fxsaveArea(fp) : xstateFrom(current, fp, layout);
  } catch (error) {
    if (error instanceof CriuError && error.code === 'EIMAGE') {
      throw new ImageError(`thread ${tid}: ${error.message}`, { image: imageFileName('core', nsTidOf(tid)), offset: 0, cause: error });
    }
    throw error;
  }
}

/** Sets the thread's registers and FPU state from its core image (layout: this CPU's XSAVE offsets). */
export function setThreadState(tid: number, info: Messages['thread_info_x86'], layout: XsaveLayout): void {
  ptraceSetRegs(tid, regsFromImage(info.gpregs));
  if (info.fpregs.xsave === undefined) {
    ptraceSetFpRegs(tid, fpuAreaFor(tid, info.fpregs, layout));
    return;
  }
  const current = ptraceGetRegset(tid, NT.X86_XSTATE, XSTATE_MAX);
  ptraceSetRegset(tid, NT.X86_XSTATE, fpuAreaFor(tid, info.fpregs, layout, current));
}

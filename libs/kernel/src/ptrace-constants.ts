// ptrace(2) requests, options, event codes and regset notes for x86_64
// (<linux/ptrace.h>, <asm/ptrace-abi.h>, <linux/elf.h>). Data only.

export const PTRACE = {
  TRACEME: 0,
  PEEKTEXT: 1,
  PEEKDATA: 2,
  PEEKUSER: 3,
  POKETEXT: 4,
  POKEDATA: 5,
  POKEUSER: 6,
  CONT: 7,
  KILL: 8,
  SINGLESTEP: 9,
  GETREGS: 12,
  SETREGS: 13,
  GETFPREGS: 14,
  SETFPREGS: 15,
  ATTACH: 16,
  DETACH: 17,
  GETFPXREGS: 18,
  SETFPXREGS: 19,
  SYSCALL: 24,
  GET_THREAD_AREA: 25,
  SET_THREAD_AREA: 26,
  ARCH_PRCTL: 30,
  SYSEMU: 31,
  SYSEMU_SINGLESTEP: 32,
  SINGLEBLOCK: 33,
  SETOPTIONS: 0x4200,
  GETEVENTMSG: 0x4201,
  GETSIGINFO: 0x4202,
  SETSIGINFO: 0x4203,
  GETREGSET: 0x4204,
  SETREGSET: 0x4205,
  SEIZE: 0x4206,
  INTERRUPT: 0x4207,
  LISTEN: 0x4208,
  PEEKSIGINFO: 0x4209,
  GETSIGMASK: 0x420a,
  SETSIGMASK: 0x420b,
  SECCOMP_GET_FILTER: 0x420c,
  SECCOMP_GET_METADATA: 0x420d,
  GET_SYSCALL_INFO: 0x420e,
  GET_RSEQ_CONFIGURATION: 0x420f,
  SET_SYSCALL_USER_DISPATCH_CONFIG: 0x4210,
  GET_SYSCALL_USER_DISPATCH_CONFIG: 0x4211,
} as const;

/** PTRACE_SETOPTIONS / PTRACE_SEIZE option bits. */
export const PTRACE_O = {
  TRACESYSGOOD: 0x1,
  TRACEFORK: 0x2,
  TRACEVFORK: 0x4,
  TRACECLONE: 0x8,
  TRACEEXEC: 0x10,
  TRACEVFORKDONE: 0x20,
  TRACEEXIT: 0x40,
  TRACESECCOMP: 0x80,
  EXITKILL: 0x100000,
  SUSPEND_SECCOMP: 0x200000,
} as const;

/** The event in bits 16-23 of a ptrace-stop wait status (status >> 16). */
export const PTRACE_EVENT = {
  FORK: 1,
  VFORK: 2,
  CLONE: 3,
  EXEC: 4,
  VFORK_DONE: 5,
  EXIT: 6,
  SECCOMP: 7,
  /** group-stop or PTRACE_INTERRUPT stop of a seized task */
  STOP: 128,
} as const;

/** PTRACE_PEEKSIGINFO flag: read the process-wide (shared) queue. */
export const PTRACE_PEEKSIGINFO_SHARED = 1;

/** ptrace_syscall_info.op */
export const PTRACE_SYSCALL_INFO = {
  NONE: 0,
  ENTRY: 1,
  EXIT: 2,
  SECCOMP: 3,
} as const;

/** ELF note types naming PTRACE_GETREGSET register sets. */
export const NT = {
  PRSTATUS: 1,
  PRFPREG: 2,
  PRPSINFO: 3,
  TASKSTRUCT: 4,
  AUXV: 6,
  X86_TLS: 0x200,
  X86_IOPERM: 0x201,
  X86_XSTATE: 0x202,
  X86_SHSTK: 0x204,
} as const;

/** sizeof(struct user_regs_struct) on x86_64: what NT_PRSTATUS returns. */
export const USER_REGS_SIZE = 216;
/** sizeof(struct user_fpregs_struct): the legacy FXSAVE area (NT_PRFPREG). */
export const USER_FPREGS_SIZE = 512;
/** sizeof(siginfo_t) */
export const SIGINFO_SIZE = 128;

// Signals, wait flags, signal-action flags and the kernel's internal
// syscall-restart codes, for x86_64 (<asm/signal.h>, <linux/wait.h>,
// <linux/errno.h>). Data only.

export const SIG = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  PWR: 30,
  SYS: 31,
  /** the kernel's first real-time signal (glibc reserves 32 and 33) */
  RTMIN: 32,
  RTMAX: 64,
} as const;

/** Number of signals the kernel knows: sigset_t is 64 bits. */
export const NSIG = 64;

/** waitpid/waitid option bits. */
export const WAIT = {
  WNOHANG: 0x1,
  WUNTRACED: 0x2,
  WSTOPPED: 0x2,
  WEXITED: 0x4,
  WCONTINUED: 0x8,
  WNOWAIT: 0x01000000,
  __WNOTHREAD: 0x20000000,
  __WALL: 0x40000000,
  __WCLONE: 0x80000000,
} as const;

/** waitid idtype */
export const P = { ALL: 0, PID: 1, PGID: 2, PIDFD: 3 } as const;

/** si_code values of SIGCHLD (what waitid reports as code). */
export const CLD = {
  EXITED: 1,
  KILLED: 2,
  DUMPED: 3,
  TRAPPED: 4,
  STOPPED: 5,
  CONTINUED: 6,
} as const;

/** sa_flags of struct sigaction (kernel layout: handler, flags, restorer, mask). */
export const SA = {
  NOCLDSTOP: 0x1,
  NOCLDWAIT: 0x2,
  SIGINFO: 0x4,
  RESTORER: 0x04000000,
  ONSTACK: 0x08000000,
  RESTART: 0x10000000,
  NODEFER: 0x40000000,
  RESETHAND: 0x80000000,
} as const;

/** rt_sigprocmask how */
export const SIG_HOW = { BLOCK: 0, UNBLOCK: 1, SETMASK: 2 } as const;
/** special handler values */
export const SIG_DFL = 0n;
export const SIG_IGN = 1n;
/** sigaltstack ss_flags */
export const SS = { ONSTACK: 1, DISABLE: 2, AUTODISARM: 0x80000000 } as const;

/**
 * Errors a syscall interrupted by a signal leaves in rax, never seen by
 * user space: the kernel restarts the call (rewinding rip by 2) when the
 * task resumes, unless a handler runs (ERESTARTSYS without SA_RESTART,
 * ERESTARTNOHAND) or orig_rax says "no syscall".
 */
export const ERESTART = {
  SYS: 512,
  NOINTR: 513,
  NOHAND: 514,
  RESTARTBLOCK: 516,
} as const;

/** si_code values of a siginfo. */
export const SI = {
  USER: 0,
  KERNEL: 0x80,
  QUEUE: -1,
  TIMER: -2,
  MESGQ: -3,
  ASYNCIO: -4,
  SIGIO: -5,
  TKILL: -6,
} as const;

/** getitimer/setitimer which */
export const ITIMER = { REAL: 0, VIRTUAL: 1, PROF: 2 } as const;

// prctl, arch_prctl, clone, kcmp, rlimit, pidfd, capability and seccomp
// constants for x86_64 (<linux/prctl.h>, <asm/prctl.h>, <linux/sched.h>,
// <linux/kcmp.h>, <linux/resource.h>, <linux/capability.h>). Data only.

export const PR = {
  SET_PDEATHSIG: 1,
  GET_PDEATHSIG: 2,
  GET_DUMPABLE: 3,
  SET_DUMPABLE: 4,
  GET_KEEPCAPS: 7,
  SET_KEEPCAPS: 8,
  SET_NAME: 15,
  GET_NAME: 16,
  GET_SECCOMP: 21,
  SET_SECCOMP: 22,
  CAPBSET_READ: 23,
  CAPBSET_DROP: 24,
  GET_TSC: 25,
  SET_TSC: 26,
  GET_SECUREBITS: 27,
  SET_SECUREBITS: 28,
  SET_TIMERSLACK: 29,
  GET_TIMERSLACK: 30,
  SET_MM: 35,
  SET_CHILD_SUBREAPER: 36,
  GET_CHILD_SUBREAPER: 37,
  SET_NO_NEW_PRIVS: 38,
  GET_NO_NEW_PRIVS: 39,
  GET_TID_ADDRESS: 40,
  SET_THP_DISABLE: 41,
  GET_THP_DISABLE: 42,
  CAP_AMBIENT: 47,
  GET_SPECULATION_CTRL: 52,
  SET_SPECULATION_CTRL: 53,
  SET_IO_FLUSHER: 57,
  GET_IO_FLUSHER: 58,
  SET_SYSCALL_USER_DISPATCH: 59,
  SCHED_CORE: 62,
  SET_MDWE: 65,
  GET_MDWE: 66,
  SET_MEMORY_MERGE: 67,
  GET_MEMORY_MERGE: 68,
  GET_AUXV: 0x41555856,
  SET_VMA: 0x53564d41,
  SET_PTRACER: 0x59616d61,
} as const;

/** PR_SET_MM sub-operations (arg2). */
export const PR_SET_MM = {
  START_CODE: 1,
  END_CODE: 2,
  START_DATA: 3,
  END_DATA: 4,
  START_STACK: 5,
  START_BRK: 6,
  BRK: 7,
  ARG_START: 8,
  ARG_END: 9,
  ENV_START: 10,
  ENV_END: 11,
  AUXV: 12,
  EXE_FILE: 13,
  MAP: 14,
  MAP_SIZE: 15,
} as const;

/** sizeof(struct prctl_mm_map): 11 u64, the auxv pointer, auxv_size and exe_fd. */
export const PRCTL_MM_MAP_SIZE = 104;

/** PR_CAP_AMBIENT sub-operations */
export const PR_CAP_AMBIENT = { IS_SET: 1, RAISE: 2, LOWER: 3, CLEAR_ALL: 4 } as const;

/** arch_prctl(2) codes */
export const ARCH = {
  SET_GS: 0x1001,
  SET_FS: 0x1002,
  GET_FS: 0x1003,
  GET_GS: 0x1004,
  GET_CPUID: 0x1011,
  SET_CPUID: 0x1012,
  GET_XCOMP_SUPP: 0x1021,
  GET_XCOMP_PERM: 0x1022,
  REQ_XCOMP_PERM: 0x1023,
  MAP_VDSO_X32: 0x2001,
  MAP_VDSO_32: 0x2002,
  MAP_VDSO_64: 0x2003,
  SHSTK_ENABLE: 0x5001,
  SHSTK_DISABLE: 0x5002,
  SHSTK_LOCK: 0x5003,
  SHSTK_STATUS: 0x5005,
} as const;

/** clone/clone3/unshare flags; bigints, since clone3 flags pass 32 bits. */
export const CLONE = {
  NEWTIME: 0x00000080n,
  VM: 0x00000100n,
  FS: 0x00000200n,
  FILES: 0x00000400n,
  SIGHAND: 0x00000800n,
  PIDFD: 0x00001000n,
  PTRACE: 0x00002000n,
  VFORK: 0x00004000n,
  PARENT: 0x00008000n,
  THREAD: 0x00010000n,
  NEWNS: 0x00020000n,
  SYSVSEM: 0x00040000n,
  SETTLS: 0x00080000n,
  PARENT_SETTID: 0x00100000n,
  CHILD_CLEARTID: 0x00200000n,
  DETACHED: 0x00400000n,
  UNTRACED: 0x00800000n,
  CHILD_SETTID: 0x01000000n,
  NEWCGROUP: 0x02000000n,
  NEWUTS: 0x04000000n,
  NEWIPC: 0x08000000n,
  NEWUSER: 0x10000000n,
  NEWPID: 0x20000000n,
  NEWNET: 0x40000000n,
  IO: 0x80000000n,
  CLEAR_SIGHAND: 0x100000000n,
  INTO_CGROUP: 0x200000000n,
} as const;

/** sizeof(struct clone_args) versions: VER2 has set_tid and cgroup. */
export const CLONE_ARGS_SIZE = { VER0: 64, VER1: 80, VER2: 88 } as const;

/** kcmp(2) types */
export const KCMP = {
  FILE: 0,
  VM: 1,
  FILES: 2,
  FS: 3,
  SIGHAND: 4,
  IO: 5,
  SYSVSEM: 6,
  EPOLL_TFD: 7,
} as const;

/** kcmp(2) results: equal, less, greater, not ordered. */
export const KCMP_RESULT = { EQUAL: 0, LESS: 1, GREATER: 2, UNORDERED: 3 } as const;

export const RLIMIT = {
  CPU: 0,
  FSIZE: 1,
  DATA: 2,
  STACK: 3,
  CORE: 4,
  RSS: 5,
  NPROC: 6,
  NOFILE: 7,
  MEMLOCK: 8,
  AS: 9,
  LOCKS: 10,
  SIGPENDING: 11,
  MSGQUEUE: 12,
  NICE: 13,
  RTPRIO: 14,
  RTTIME: 15,
} as const;

export const RLIM_NLIMITS = 16;
export const RLIM_INFINITY = 0xffffffffffffffffn;

/** pidfd_open flags */
export const PIDFD = { NONBLOCK: 0o4000, THREAD: 0o200 } as const;

/** _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set. */
export const CAPABILITY_VERSION_3 = 0x20080522;

export const SECCOMP_MODE = { DISABLED: 0, STRICT: 1, FILTER: 2 } as const;
export const SECCOMP_SET_MODE = { STRICT: 0, FILTER: 1 } as const;

/** getpriority/setpriority which */
export const PRIO = { PROCESS: 0, PGRP: 1, USER: 2 } as const;

/** sched policies */
export const SCHED = {
  NORMAL: 0,
  FIFO: 1,
  RR: 2,
  BATCH: 3,
  IDLE: 5,
  DEADLINE: 6,
  RESET_ON_FORK: 0x40000000,
} as const;

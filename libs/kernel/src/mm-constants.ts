// Memory and file flags for x86_64 (<asm-generic/mman*.h>, <asm-generic/fcntl.h>,
// <linux/memfd.h>, <linux/fcntl.h>). Data only.

export const PROT = {
  NONE: 0x0,
  READ: 0x1,
  WRITE: 0x2,
  EXEC: 0x4,
  GROWSDOWN: 0x01000000,
  GROWSUP: 0x02000000,
} as const;

export const MAP = {
  SHARED: 0x01,
  PRIVATE: 0x02,
  SHARED_VALIDATE: 0x03,
  /** a private mapping whose pages the kernel may drop (zeroed) under pressure (6.11+) */
  DROPPABLE: 0x08,
  FIXED: 0x10,
  ANONYMOUS: 0x20,
  GROWSDOWN: 0x0100,
  DENYWRITE: 0x0800,
  EXECUTABLE: 0x1000,
  LOCKED: 0x2000,
  NORESERVE: 0x4000,
  POPULATE: 0x8000,
  NONBLOCK: 0x10000,
  STACK: 0x20000,
  HUGETLB: 0x40000,
  SYNC: 0x80000,
  FIXED_NOREPLACE: 0x100000,
  UNINITIALIZED: 0x4000000,
} as const;

export const MREMAP = { MAYMOVE: 1, FIXED: 2, DONTUNMAP: 4 } as const;

export const MADV = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  FREE: 8,
  REMOVE: 9,
  DONTFORK: 10,
  DOFORK: 11,
  MERGEABLE: 12,
  UNMERGEABLE: 13,
  HUGEPAGE: 14,
  NOHUGEPAGE: 15,
  DONTDUMP: 16,
  DODUMP: 17,
  WIPEONFORK: 18,
  KEEPONFORK: 19,
  COLD: 20,
  PAGEOUT: 21,
  POPULATE_READ: 22,
  POPULATE_WRITE: 23,
  DONTNEED_LOCKED: 24,
  COLLAPSE: 25,
  GUARD_INSTALL: 102,
  GUARD_REMOVE: 103,
} as const;

/** open(2) flags (octal as in the headers). */
export const O = {
  RDONLY: 0,
  WRONLY: 0o1,
  RDWR: 0o2,
  ACCMODE: 0o3,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DSYNC: 0o10000,
  ASYNC: 0o20000,
  DIRECT: 0o40000,
  LARGEFILE: 0o100000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  NOATIME: 0o1000000,
  CLOEXEC: 0o2000000,
  SYNC: 0o4010000,
  PATH: 0o10000000,
  TMPFILE: 0o20200000,
} as const;

export const AT = {
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  REMOVEDIR: 0x200,
  SYMLINK_FOLLOW: 0x400,
  EMPTY_PATH: 0x1000,
} as const;

/** renameat2(2) flags */
export const RENAME = { NOREPLACE: 1, EXCHANGE: 2, WHITEOUT: 4 } as const;

/** fcntl(2) commands */
export const F = {
  DUPFD: 0,
  GETFD: 1,
  SETFD: 2,
  GETFL: 3,
  SETFL: 4,
  GETLK: 5,
  SETLK: 6,
  SETLKW: 7,
  SETOWN: 8,
  GETOWN: 9,
  SETSIG: 10,
  GETSIG: 11,
  SETOWN_EX: 15,
  GETOWN_EX: 16,
  OFD_GETLK: 36,
  OFD_SETLK: 37,
  OFD_SETLKW: 38,
  SETLEASE: 1024,
  GETLEASE: 1025,
  NOTIFY: 1026,
  DUPFD_CLOEXEC: 1030,
  SETPIPE_SZ: 1031,
  GETPIPE_SZ: 1032,
  ADD_SEALS: 1033,
  GET_SEALS: 1034,
} as const;

export const FD_CLOEXEC = 1;

export const MFD = {
  CLOEXEC: 0x1,
  ALLOW_SEALING: 0x2,
  HUGETLB: 0x4,
  NOEXEC_SEAL: 0x8,
  EXEC: 0x10,
} as const;

/** splice/tee flags */
export const SPLICE_F = { MOVE: 1, NONBLOCK: 2, MORE: 4, GIFT: 8 } as const;

/** lseek whence */
export const SEEK = { SET: 0, CUR: 1, END: 2, DATA: 3, HOLE: 4 } as const;

/** The most iovecs one readv/process_vm_readv call takes (UIO_MAXIOV). */
export const IOV_MAX = 1024;

export const PAGE_SIZE = 4096;

// userfaultfd(2) ioctls and the PAGEMAP_SCAN ioctl of /proc/PID/pagemap, as
// typed calls over struct buffers (include/uapi/linux/userfaultfd.h,
// include/uapi/linux/fs.h). A userfaultfd acts on the address space of the
// process that created it, whoever holds the fd: the tool drives a tracker
// created inside a task through its own copy (pidfd_getfd). See
// userfaultfd(2), ioctl_userfaultfd(2), PAGEMAP_SCAN in
// Documentation/admin-guide/mm/pagemap.rst.
import { bufferAddress } from './ffi.js';
import { invoke, trySyscall } from './syscall.js';
import { SYS } from './sys-numbers.js';

export const UFFD_API = 0xaan;

export const UFFD_FEATURE = {
  PAGEFAULT_FLAG_WP: 1n << 0n,
  EVENT_FORK: 1n << 1n,
  EVENT_REMAP: 1n << 2n,
  EVENT_REMOVE: 1n << 3n,
  MISSING_HUGETLBFS: 1n << 4n,
  MISSING_SHMEM: 1n << 5n,
  EVENT_UNMAP: 1n << 6n,
  WP_UNPOPULATED: 1n << 13n,
  WP_ASYNC: 1n << 15n,
} as const;

/** userfaultfd(2) flags */
export const UFFD_USER_MODE_ONLY = 1;

export const UFFDIO = {
  /** _IOWR(0xAA, 0x3F, struct uffdio_api) */
  API: 0xc018aa3f,
  /** _IOWR(0xAA, 0x00, struct uffdio_register) */
  REGISTER: 0xc020aa00,
  /** _IOR(0xAA, 0x01, struct uffdio_range) */
  UNREGISTER: 0x8010aa01,
  /** _IOR(0xAA, 0x02, struct uffdio_range) */
  WAKE: 0x8010aa02,
  /** _IOWR(0xAA, 0x03, struct uffdio_copy) */
  COPY: 0xc028aa03,
  /** _IOWR(0xAA, 0x04, struct uffdio_zeropage) */
  ZEROPAGE: 0xc020aa04,
  /** _IOWR(0xAA, 0x06, struct uffdio_writeprotect) */
  WRITEPROTECT: 0xc018aa06,
} as const;

export const UFFDIO_REGISTER_MODE_MISSING = 1n;
export const UFFDIO_REGISTER_MODE_WP = 2n;
export const UFFDIO_WRITEPROTECT_MODE_WP = 1n;

/** _IOWR('f', 16, struct pm_scan_arg) */
export const PAGEMAP_SCAN = 0xc0606610;
export const PM_SCAN = { WP_MATCHING: 1n, CHECK_WPASYNC: 2n } as const;
export const PAGE_IS = {
  WPALLOWED: 1n << 0n,
  WRITTEN: 1n << 1n,
  FILE: 1n << 2n,
  PRESENT: 1n << 3n,
  SWAPPED: 1n << 4n,
  PFNZERO: 1n << 5n,
  HUGE: 1n << 6n,
  SOFT_DIRTY: 1n << 7n,
} as const;

/** A virtual address range [start, end). */
export interface AddressRange {
  start: bigint;
  end: bigint;
}

function words(values: readonly bigint[]): Buffer {
  const buf = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => buf.writeBigUInt64LE(value, i * 8));
  return buf;
}

/** UFFDIO_API: enable `features`; returns the features the kernel offers. */
export function uffdApi(fd: number, features: bigint): bigint {
  const api = words([UFFD_API, features, 0n]);
  invoke(SYS.ioctl, [fd, UFFDIO.API, api], { call: 'ioctl(UFFDIO_API)', path: `fd ${fd}` });
  return api.readBigUInt64LE(8);
}

/** UFFDIO_REGISTER of a range in `mode` (UFFDIO_REGISTER_MODE_*); returns the ioctls the range allows (a bit per _UFFDIO_* number). */
export function uffdRegister(fd: number, range: AddressRange, mode: bigint): bigint {
  const arg = words([range.start, range.end - range.start, mode, 0n]);
  invoke(SYS.ioctl, [fd, UFFDIO.REGISTER, arg], { call: 'ioctl(UFFDIO_REGISTER)', path: `fd ${fd} at 0x${range.start.toString(16)}` });
  return arg.readBigUInt64LE(24);
}

export function uffdUnregister(fd: number, range: AddressRange): void {
  const arg = words([range.start, range.end - range.start]);
  invoke(SYS.ioctl, [fd, UFFDIO.UNREGISTER, arg], { call: 'ioctl(UFFDIO_UNREGISTER)', path: `fd ${fd} at 0x${range.start.toString(16)}` });
}

/** UFFDIO_WRITEPROTECT: protect (true) or unprotect a range. */
export function uffdWriteProtect(fd: number, range: AddressRange, protect: boolean): void {
  const arg = words([range.start, range.end - range.start, protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0n]);
  invoke(SYS.ioctl, [fd, UFFDIO.WRITEPROTECT, arg], { call: 'ioctl(UFFDIO_WRITEPROTECT)', path: `fd ${fd} at 0x${range.start.toString(16)}` });
}

export interface PagemapScanRequest {
  range: AddressRange;
  flags?: bigint;
  categoryMask: bigint;
  categoryInverted?: bigint;
  returnMask: bigint;
}

/** A region PAGEMAP_SCAN reported, with its categories. */
export interface ScanRegion extends AddressRange {
  categories: bigint;
}

const REGION_BATCH = 512;

/**
 * PAGEMAP_SCAN on an open /proc/PID/pagemap over the whole range: the
 * matching regions (batches of REGION_BATCH, resumed at walk_end).
 */
export function pagemapScan(pagemapFd: number, request: PagemapScanRequest): ScanRegion[] {
  const regions: ScanRegion[] = [];
  const vec = Buffer.alloc(REGION_BATCH * 24);
  let start = request.range.start;
  while (start < request.range.end) {
    const arg = words([96n, request.flags ?? 0n, start, request.range.end, 0n, bufferAddress(vec), BigInt(REGION_BATCH), 0n, request.categoryInverted ?? 0n, request.categoryMask, 0n, request.returnMask]);
    const found = Number(invoke(SYS.ioctl, [pagemapFd, PAGEMAP_SCAN, arg], { call: 'ioctl(PAGEMAP_SCAN)', path: `at 0x${start.toString(16)}` }));
    for (let i = 0; i < found; i++) {
      regions.push({ start: vec.readBigUInt64LE(i * 24), end: vec.readBigUInt64LE(i * 24 + 8), categories: vec.readBigUInt64LE(i * 24 + 16) });
    }
    const walkEnd = arg.readBigUInt64LE(32);
    if (walkEnd <= start) break;
    start = walkEnd;
  }
  return regions;
}

/** What a UFFDIO_COPY or UFFDIO_ZEROPAGE did: bytes placed, or the errno that stopped it (EEXIST: already there; ENOENT/EAGAIN: the mm changed, retry; ESRCH/ENOSPC: the process is gone). */
export interface UffdFill {
  bytes: number;
  errno: number;
}

function fillResult(errno: number, reported: bigint, len: bigint): UffdFill {
  if (errno === 0) return { bytes: Number(len), errno: 0 };
  return { bytes: reported > 0n ? Number(reported) : 0, errno };
}

/** UFFDIO_COPY of len bytes from our address src to dst in the uffd's mm (wakes the faulting threads). */
export function uffdCopy(fd: number, dst: bigint, src: bigint, len: bigint): UffdFill {
  const arg = words([dst, src, len, 0n, 0n]);
  const { errno } = rawIoctl(fd, UFFDIO.COPY, arg);
  return fillResult(errno, arg.readBigInt64LE(32), len);
}

/** UFFDIO_ZEROPAGE of a range (the zero page mapped, read-only until written). */
export function uffdZeropage(fd: number, range: AddressRange): UffdFill {
  const arg = words([range.start, range.end - range.start, 0n, 0n]);
  const { errno } = rawIoctl(fd, UFFDIO.ZEROPAGE, arg);
  return fillResult(errno, arg.readBigInt64LE(24), range.end - range.start);
}

/** UFFDIO_WAKE: wake threads waiting on faults in the range (after a fill that found the page already there). */
export function uffdWake(fd: number, range: AddressRange): void {
  rawIoctl(fd, UFFDIO.WAKE, words([range.start, range.end - range.start]));
}

function rawIoctl(fd: number, request: number, arg: Buffer): { errno: number } {
  return { errno: trySyscall(SYS.ioctl, fd, request, arg).errno };
}

export const UFFD_EVENT = { PAGEFAULT: 0x12, FORK: 0x13, REMAP: 0x14, REMOVE: 0x15, UNMAP: 0x16 } as const;

/** One struct uffd_msg (32 bytes), decoded. */
export type UffdMessage =
  | { event: typeof UFFD_EVENT.PAGEFAULT; flags: bigint; address: bigint }
  | { event: typeof UFFD_EVENT.FORK; ufd: number }
  | { event: typeof UFFD_EVENT.REMAP; from: bigint; to: bigint; len: bigint }
  | { event: typeof UFFD_EVENT.REMOVE | typeof UFFD_EVENT.UNMAP; start: bigint; end: bigint }
  | { event: number };

export const UFFD_MSG_SIZE = 32;

export function decodeUffdMessage(buf: Buffer, offset = 0): UffdMessage {
  const event = buf.readUInt8(offset);
  const a = (i: number): bigint => buf.readBigUInt64LE(offset + 8 + i * 8);
  switch (event) {
    case UFFD_EVENT.PAGEFAULT:
      return { event, flags: a(0), address: a(1) };
    case UFFD_EVENT.FORK:
      return { event, ufd: buf.readUInt32LE(offset + 8) };
    case UFFD_EVENT.REMAP:
      return { event, from: a(0), to: a(1), len: a(2) };
    case UFFD_EVENT.REMOVE:
    case UFFD_EVENT.UNMAP:
      return { event, start: a(0), end: a(1) };
    default:
      return { event };
  }
}

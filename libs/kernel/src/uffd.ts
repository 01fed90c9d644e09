// userfaultfd(2) ioctls and the PAGEMAP_SCAN ioctl of /proc/PID/pagemap, as
// typed calls over struct buffers (include/uapi/linux/userfaultfd.h,
// include/uapi/linux/fs.h). A userfaultfd acts on the address space of the
// process that created it, whoever holds the fd: the tool drives a tracker
// created inside a task through its own copy (pidfd_getfd). See
// userfaultfd(2), ioctl_userfaultfd(2), PAGEMAP_SCAN in
// Documentation/admin-guide/mm/pagemap.rst.
import { bufferAddress } from './ffi.js';
import { invoke } from './syscall.js';
import { SYS } from './sys-numbers.js';

export const UFFD_API = 0xaan;

export const UFFD_FEATURE = {
  PAGEFAULT_FLAG_WP: 1n << 0n,
  EVENT_FORK: 1n << 1n,
  EVENT_REMAP: 1n << 2n,
  EVENT_REMOVE: 1n << 3n,
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
  /** _IOWR(0xAA, 0x06, struct uffdio_writeprotect) */
  WRITEPROTECT: 0xc018aa06,
} as const;

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

/** UFFDIO_REGISTER of a range in `mode` (UFFDIO_REGISTER_MODE_*). */
export function uffdRegister(fd: number, range: AddressRange, mode: bigint): void {
  const arg = words([range.start, range.end - range.start, mode, 0n]);
  invoke(SYS.ioctl, [fd, UFFDIO.REGISTER, arg], { call: 'ioctl(UFFDIO_REGISTER)', path: `fd ${fd} at 0x${range.start.toString(16)}` });
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

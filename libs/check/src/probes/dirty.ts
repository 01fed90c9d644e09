// Probes for memory tracking: soft-dirty bits in /proc/PID/pagemap, the
// PAGEMAP_SCAN ioctl, userfaultfd and its features (lazy pages,
// non-cooperative events, write-protect).
import { closeSync, openSync, readSync } from 'node:fs';
import { errnoName } from '@criu-ts/base';
import { PAGEMAP_SCAN, PAGE_IS, PAGE_SIZE, SYS, UFFDIO, UFFD_API, UFFD_FEATURE, bufferAddress, ioctl, trySyscall } from '@criu-ts/kernel';
import { missing, type Feature, type ProbeResult } from '../feature.js';

const PM_PRESENT = 1n << 63n;
const PM_SOFT_DIRTY = 1n << 55n;
const PM_SCAN_ARG_SIZE = 96;
const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;

/** A written page of our own memory and its address. */
function touchedPage(): { page: Buffer; addr: bigint } {
  const area = Buffer.alloc(3 * PAGE_SIZE, 0x5a);
  const base = bufferAddress(area);
  const skip = Number((BigInt(PAGE_SIZE) - (base % BigInt(PAGE_SIZE))) % BigInt(PAGE_SIZE));
  const page = area.subarray(skip, skip + PAGE_SIZE);
  page.fill(0xa5);
  return { page, addr: base + BigInt(skip) };
}

function withPagemap<T>(fn: (fd: number) => T): T {
  const fd = openSync('/proc/self/pagemap', 'r');
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

export function probeSoftDirty(): ProbeResult {
  const { page, addr } = touchedPage();
  const entry = Buffer.alloc(8);
  withPagemap((fd) => readSync(fd, entry, 0, 8, Number((addr / BigInt(PAGE_SIZE)) * 8n)));
  const bits = entry.readBigUInt64LE(0);
  page.fill(0); // keep the page alive until here
  if ((bits & PM_PRESENT) === 0n) return missing('a page just written is not present in /proc/self/pagemap');
  return (bits & PM_SOFT_DIRTY) !== 0n ? 'ok' : missing('a page just written has no soft-dirty bit (CONFIG_MEM_SOFT_DIRTY off?)');
}

export function probePagemapScan(): ProbeResult {
  const { page, addr } = touchedPage();
  const regions = Buffer.alloc(4 * 24);
  const arg = Buffer.alloc(PM_SCAN_ARG_SIZE);
  [BigInt(PM_SCAN_ARG_SIZE), 0n, addr, addr + BigInt(PAGE_SIZE), 0n, bufferAddress(regions), 4n, 0n, 0n, PAGE_IS.PRESENT, 0n, PAGE_IS.PRESENT]
    .forEach((value, i) => arg.writeBigUInt64LE(value, i * 8));
  const found = withPagemap((fd) => trySyscall(SYS.ioctl, fd, PAGEMAP_SCAN, arg));
  page.fill(0);
  if (found.errno !== 0) return missing(`ioctl(PAGEMAP_SCAN) failed: ${errnoName(found.errno)}`);
  const start = regions.readBigUInt64LE(0);
  return found.value >= 1n && start === addr ? 'ok' : missing(`PAGEMAP_SCAN did not report the present page (${found.value} regions)`);
}

export const pagemapScan: Feature = {
  name: 'pagemap_scan',
  category: 2,
  neededFor: 'finding written pages quickly with the PAGEMAP_SCAN ioctl (incremental dumps)',
  probe: probePagemapScan,
};

/** The features userfaultfd offers, or why it cannot be used. */
export function userfaultfdFeatures(): bigint | { missing: string } {
  const opened = trySyscall(SYS.userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (opened.errno !== 0) return { missing: `userfaultfd() failed: ${errnoName(opened.errno)}` };
  const fd = Number(opened.value);
  try {
    const api = Buffer.alloc(24);
    api.writeBigUInt64LE(UFFD_API, 0);
    ioctl(fd, UFFDIO.API, api);
    return api.readBigUInt64LE(8);
  } finally {
    closeSync(fd);
  }
}

function uffdHas(need: bigint, what: string): ProbeResult {
  const features = userfaultfdFeatures();
  if (typeof features !== 'bigint') return features;
  const lacking = need & ~features;
  return lacking === 0n ? 'ok' : missing(`userfaultfd lacks ${what} (features 0x${features.toString(16)}, missing 0x${lacking.toString(16)})`);
}

export const uffd: Feature = {
  name: 'uffd',
  category: 2,
  neededFor: 'lazy restore (--lazy-pages) with userfaultfd',
  probe: () => uffdHas(0n, ''),
};

export const uffdNoncoop: Feature = {
  name: 'uffd-noncoop',
  category: 2,
  neededFor: 'lazy restore of tasks that fork, mremap or unmap memory (userfaultfd events)',
  probe: () => uffdHas(UFFD_FEATURE.EVENT_FORK | UFFD_FEATURE.EVENT_REMAP | UFFD_FEATURE.EVENT_REMOVE | UFFD_FEATURE.EVENT_UNMAP, 'fork/remap/remove/unmap events'),
};

/**
 * What `criu restore --lazy-pages` with `criu lazy-pages` needs (as RPC
 * FEATURE_CHECK's lazy_pages asks upstream): userfaultfd with its
 * non-cooperative events.
 */
export const lazyPages: Feature = {
  name: 'lazy_pages',
  category: 2,
  neededFor: 'post-copy restore (restore --lazy-pages, criu lazy-pages, dump --lazy-pages)',
  probe: (ctx) => uffdNoncoop.probe(ctx),
};

const probeUffdWp = (): ProbeResult => uffdHas(UFFD_FEATURE.PAGEFAULT_FLAG_WP | UFFD_FEATURE.WP_ASYNC, 'write-protect (PAGEFAULT_FLAG_WP, WP_ASYNC)');

export const uffdWp: Feature = {
  name: 'uffd-wp',
  category: 2,
  neededFor: 'dirty-page tracking with userfaultfd write-protect (async mode)',
  probe: probeUffdWp,
};

/**
 * What pre-dump and --track-mem use: userfaultfd write-protect in async
 * mode read with PAGEMAP_SCAN (libs/kinds memory/dirty-track.ts). Soft-dirty
 * bits alone are not enough: that tracker is not built.
 */
export const memDirtyTrack: Feature = {
  name: 'mem_dirty_track',
  category: 2,
  neededFor: 'incremental dumps (pre-dump, --track-mem)',
  probe: () => {
    const wp = probeUffdWp();
    const scan = probePagemapScan();
    if (wp === 'ok' && scan === 'ok') return 'ok';
    const why = [wp, scan].filter((r) => r !== 'ok').map((r) => (r as { missing: string }).missing);
    return missing(`dirty tracking needs userfaultfd-WP (async) with PAGEMAP_SCAN: ${why.join('; ')}`);
  },
};

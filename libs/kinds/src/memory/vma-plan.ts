// From /proc/PID/smaps to vma_entry messages, classified the way upstream
// CRIU 4.x does it (criu/proc_parse.c): what the VMA is (status), what backs
// it (a file, a memfd, shared anonymous memory or nothing) and which of its
// pages go into pagemap-PID.img. Saved: every VMA, with the one-page stack
// guard gap below a MAP_GROWSDOWN area. Shared anonymous memory that some
// task of the tree maps privately too (a MAP_PRIVATE mmap of its
// /proc/PID/map_files link, whose written pages are the task's own) is
// saved as upstream saves every such object: as a memfd, each VMA a file
// mapping of it (AREA_MEMFD with FILE_SHARED or FILE_PRIVATE), so that one
// object comes back for all of them and the private mapping's own pages
// go into the task's pagemap. hugetlb memory (MAP_HUGETLB, shown as
// /anon_hugepage): a private mapping is private anonymous memory with
// MAP_HUGETLB and its page size (MAP_HUGE_*) in the flags, its pages in the
// task's pagemap; a shared one is saved as upstream saves it, as a hugetlb
// memfd. A file of a hugetlbfs mount is refused. A packet socket's mapped
// rings are AREA_SOCKET, shmid the socket's file id (its fd is dumped first).
// A SysV shared memory segment's mapping (status SYSVIPC, shmid its id, as
// upstream) when the segment is dumped with the tree's own IPC namespace
// (ns/ipc-sysv.ts). Not saved (UnsupportedError): SysV shm of criu's IPC
// namespace, hugetlbfs files, AIO rings, deleted files, [uprobes] and other
// special or VM_IO/VM_PFNMAP areas. See proc_pid_maps(5), proc_pid_smaps(5).
import { UnsupportedError } from '@criu-ts/base';
import type { VmaEntry } from '@criu-ts/images';
import { MAP, PAGE_SIZE, PROT } from '@criu-ts/kernel';
import type { MapsEntry, SmapsEntry } from '@criu-ts/proc';
import { VMA, fdflagsOf, isIoMapping, madvOf, mapFlagsOf, protOf } from './vma-flags.js';

/** What stands behind a VMA, and so what its shmid will name. */
export type VmaBacking =
  | 'none' // anonymous private memory, heap, stack, vDSO, vvar, vsyscall
  | 'file' // a regular file: shmid is a reg_file_entry id in files.img
  | 'memfd' // a memfd: shmid is a memfd file_entry id; its content is dumped once
  | 'shmem' // shared anonymous memory: shmid is the inode, content dumped once
  | 'socket' // a packet socket's rings (packet(7) PACKET_MMAP): shmid is the socket's file_entry id
  | 'sysv'; // a SysV shm segment: shmid is its id (the inode), content dumped with its IPC namespace

/** Which pages of the VMA go into pagemap-PID.img. */
export type VmaPages = 'private' | 'all' | 'none';

export interface VmaPlan {
  vma: VmaEntry;
  smaps: SmapsEntry;
  backing: VmaBacking;
  pages: VmaPages;
}

const PAGE = BigInt(PAGE_SIZE);

interface Classified {
  status: number;
  anonymous: boolean;
  backing: VmaBacking;
}

function unsupported(pid: number, vma: SmapsEntry, kind: string): UnsupportedError {
  return new UnsupportedError({ pid, address: vma.start, kind });
}

function anon(shared: boolean, extra = 0): Classified {
  return shared
    ? { status: VMA.AREA_REGULAR | VMA.ANON_SHARED | extra, anonymous: true, backing: 'shmem' }
    : { status: VMA.AREA_REGULAR | VMA.ANON_PRIVATE | extra, anonymous: true, backing: 'none' };
}

function fileStatus(shared: boolean): number {
  return VMA.AREA_REGULAR | (shared ? VMA.FILE_SHARED : VMA.FILE_PRIVATE);
}

/** A mapping of a socket's rings shows the socket's name */
const SOCKET_NAME = /^socket:\[\d+\]$/;

function classifyFile(pid: number, s: SmapsEntry): Classified {
  if (s.path === '/[aio]') throw unsupported(pid, s, 'AIO ring mapping');
  // as upstream: no FILE_* bit, no pages of its own (the rings are the socket's)
  if (SOCKET_NAME.test(s.path)) return { status: VMA.AREA_REGULAR | VMA.AREA_SOCKET, anonymous: false, backing: 'socket' };
  return { status: fileStatus(s.shared), anonymous: false, backing: 'file' };
}

const asMemfd = (shared: boolean): Classified => ({ status: fileStatus(shared) | VMA.AREA_MEMFD, anonymous: false, backing: 'memfd' });

const ANON_HUGEPAGE = '/anon_hugepage';
/** mmap(2) and memfd_create(2) take log2 of the huge page size in bits 26-31 (MAP_HUGE_SHIFT) */
export const MAP_HUGE_SHIFT = 26;

/** MAP_HUGE_<size> of a hugetlb VMA (its KernelPageSize), 0 for others. */
export function hugeSizeBits(s: SmapsEntry): number {
  const bytes = (s.kB.KernelPageSize ?? 0) * 1024;
  return s.VmFlags.has('ht') && bytes > PAGE_SIZE ? Math.round(Math.log2(bytes)) << MAP_HUGE_SHIFT : 0;
}

/** hugetlb memory: only the kernel's own (/anon_hugepage, MAP_HUGETLB or a hugetlb memfd's) */
function classifyHugetlb(pid: number, s: SmapsEntry): Classified {
  if (s.path !== ANON_HUGEPAGE && s.kind !== 'memfd') throw unsupported(pid, s, `mapping of hugetlbfs file ${s.path}`);
  return s.shared || s.kind === 'memfd' ? asMemfd(s.shared) : anon(false);
}

/**
 * Status bits, MAP_ANONYMOUS and backing for one VMA, by what maps says it
 * is; `memfdShmem`: inodes of shared anonymous objects saved as memfds.
 */
export function classifyVma(pid: number, s: SmapsEntry, memfdShmem: ReadonlySet<number> = new Set(), sysv = false): Classified {
  if (s.VmFlags.has('ht')) return classifyHugetlb(pid, s);
  switch (s.kind) {
    case 'anon':
    case 'named-anon':
    case 'stack':
      return anon(s.shared);
    case 'shared-anon':
      return memfdShmem.has(s.inode) ? asMemfd(s.shared) : anon(true);
    case 'heap':
      return anon(s.shared, VMA.AREA_HEAP);
    case 'vdso':
      return anon(false, (protOf(s) & (PROT.READ | PROT.EXEC)) === (PROT.READ | PROT.EXEC) ? VMA.AREA_VDSO : 0);
    case 'vvar':
    case 'vvar_vclock':
      return anon(false, s.read ? VMA.AREA_VVAR : 0);
    case 'vsyscall':
      return { status: VMA.AREA_VSYSCALL | VMA.ANON_PRIVATE, anonymous: true, backing: 'none' };
    case 'memfd':
      return asMemfd(s.shared);
    case 'file':
      return classifyFile(pid, s);
    case 'sysv-shm':
      if (!sysv || !s.shared) throw unsupported(pid, s, `SysV shared memory mapping${sysv ? '' : " (of criu's IPC namespace, which is not dumped)"}`);
      // as upstream writes it: shared anonymous memory that is a SysV segment (MAP_SHARED | MAP_ANONYMOUS)
      return { status: VMA.AREA_REGULAR | VMA.ANON_SHARED | VMA.AREA_SYSVIPC, anonymous: true, backing: 'sysv' };
    case 'special':
      throw unsupported(pid, s, `special mapping ${s.path}`);
  }
}

/** Which pages upstream dumps (criu/mem.c should_dump_page): vDSO all, vvar none, private areas theirs. */
export function pagesOf(status: number): VmaPages {
  if ((status & VMA.AREA_VDSO) !== 0) return 'all';
  if ((status & VMA.AREA_VVAR) !== 0) return 'none';
  if ((status & VMA.AREA_REGULAR) === 0) return 'none';
  return (status & (VMA.ANON_PRIVATE | VMA.FILE_PRIVATE)) !== 0 ? 'private' : 'none';
}

function checkFlags(pid: number, s: SmapsEntry, status: number): void {
  if (isIoMapping(s.VmFlags) && (status & VMA.AREA_VVAR) === 0) throw unsupported(pid, s, 'VM_IO/VM_PFNMAP mapping');
}

/** Inodes of shared anonymous objects that one of these mappings maps privately. */
export function privatelyMappedShmem(maps: readonly MapsEntry[]): Set<number> {
  return new Set(maps.filter((m) => m.kind === 'shared-anon' && !m.shared).map((m) => m.inode));
}

/**
 * One plan per VMA, in address order. prevEnd carries the end of the
 * previous VMA: a MAP_GROWSDOWN area gets the guard page below it when
 * there is room, as upstream records it.
 */
export function planVmas(pid: number, smaps: readonly SmapsEntry[], options: { memfdShmem?: ReadonlySet<number>; sysv?: boolean } = {}): VmaPlan[] {
  let prevEnd = 0n;
  return smaps.map((s) => {
    const { status, anonymous, backing } = classifyVma(pid, s, options.memfdShmem, options.sysv === true);
    checkFlags(pid, s, status);
    const flags = mapFlagsOf(s.shared, s.VmFlags) | (anonymous ? MAP.ANONYMOUS : 0) | hugeSizeBits(s);
    const start = (flags & MAP.GROWSDOWN) !== 0 && prevEnd < s.start ? s.start - PAGE : s.start;
    prevEnd = s.end;
    const madv = madvOf(s.VmFlags);
    const vma: VmaEntry = {
      start,
      end: s.end,
      pgoff: s.offset,
      shmid: backing === 'shmem' || backing === 'sysv' ? BigInt(s.inode) : 0n,
      prot: protOf(s),
      flags,
      status,
      fd: -1n,
      fdflags: fdflagsOf(s.VmFlags),
      ...(madv !== 0n ? { madv } : {}),
    };
    // droppable pages may be zero at any time: upstream dumps none of them
    return { vma, smaps: s, backing, pages: (flags & MAP.DROPPABLE) !== 0 ? 'none' : pagesOf(status) };
  });
}

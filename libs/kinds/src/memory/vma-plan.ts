// From /proc/PID/smaps to vma_entry messages, classified the way upstream
// CRIU 4.x does it (criu/proc_parse.c): what the VMA is (status), what backs
// it (a file, a memfd, shared anonymous memory or nothing) and which of its
// pages go into pagemap-PID.img. Saved: every VMA, with the one-page stack
// guard gap below a MAP_GROWSDOWN area; a SysV shared memory segment's
// mapping (status SYSVIPC, shmid its id, as upstream) when the segment is
// dumped with the tree's own IPC namespace (ns/ipc-sysv.ts). Not saved
// (UnsupportedError): SysV shm of criu's IPC namespace, hugetlb, AIO
// rings, deleted files, [uprobes] and other special or VM_IO/VM_PFNMAP
// areas. See proc_pid_maps(5), proc_pid_smaps(5).
import { UnsupportedError } from '@criu-ts/base';
import type { VmaEntry } from '@criu-ts/images';
import { MAP, PAGE_SIZE, PROT } from '@criu-ts/kernel';
import type { SmapsEntry } from '@criu-ts/proc';
import { VMA, fdflagsOf, isIoMapping, madvOf, mapFlagsOf, protOf } from './vma-flags.js';

/** What stands behind a VMA, and so what its shmid will name. */
export type VmaBacking =
  | 'none' // anonymous private memory, heap, stack, vDSO, vvar, vsyscall
  | 'file' // a regular file: shmid is a reg_file_entry id in files.img
  | 'memfd' // a memfd: shmid is a memfd file_entry id; its content is dumped once
  | 'shmem' // shared anonymous memory: shmid is the inode, content dumped once
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

function classifyFile(pid: number, s: SmapsEntry): Classified {
  if (s.path === '/[aio]') throw unsupported(pid, s, 'AIO ring mapping');
  return { status: fileStatus(s.shared), anonymous: false, backing: 'file' };
}

/** Status bits, MAP_ANONYMOUS and backing for one VMA, by what maps says it is. */
export function classifyVma(pid: number, s: SmapsEntry, sysv = false): Classified {
  switch (s.kind) {
    case 'anon':
    case 'named-anon':
    case 'stack':
      return anon(s.shared);
    case 'shared-anon':
      return anon(true);
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
      return { status: fileStatus(s.shared) | VMA.AREA_MEMFD, anonymous: false, backing: 'memfd' };
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
  if (s.VmFlags.has('ht')) throw unsupported(pid, s, 'hugetlb mapping');
}

/**
 * One plan per VMA, in address order. prevEnd carries the end of the
 * previous VMA: a MAP_GROWSDOWN area gets the guard page below it when
 * there is room, as upstream records it.
 */
export function planVmas(pid: number, smaps: readonly SmapsEntry[], options: { sysv?: boolean } = {}): VmaPlan[] {
  let prevEnd = 0n;
  return smaps.map((s) => {
    const { status, anonymous, backing } = classifyVma(pid, s, options.sysv === true);
    checkFlags(pid, s, status);
    const flags = mapFlagsOf(s.shared, s.VmFlags) | (anonymous ? MAP.ANONYMOUS : 0);
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

// How each dumped mapping (vma_entry of mm-PID.img) is made again: which
// mmap call, with which protection while its pages are read in, and which
// mappings are not mapped at all (the vDSO area, moved from the helper's;
// [vsyscall], fixed by the kernel). Shared anonymous and memfd mappings map
// the object the memory kind makes once (shmem), a packet socket's rings
// the socket (socketId). A SysV segment's mapping is attached again (shmat
// at its address; the segment was made in the tree's IPC namespace by then,
// ns/ipc-sysv.ts), whole and from its start, as it was mapped. Pure:
// decisions only, no kernel calls.
import { UnsupportedError } from '@criu-ts/base';
import { MAP, O, PROT } from '@criu-ts/kernel';
import type { Messages } from '@criu-ts/images';
import { VMA } from '@criu-ts/kinds';

type VmaEntry = Messages['vma_entry'];

/** vma_entry.status bits: one table, beside the memory kind's dump half. */
export { VMA };

/** MAP_HUGE_<size>: log2 of a hugetlb mapping's page size, bits 26-31 */
const MAP_HUGE_MASK = 0x3f << 26;
/** The mmap flags we pass on from the image; everything else is decided here. */
const KEPT_FLAGS = MAP.SHARED | MAP.PRIVATE | MAP.DROPPABLE | MAP.ANONYMOUS | MAP.GROWSDOWN | MAP.NORESERVE | MAP.LOCKED | MAP.HUGETLB | MAP_HUGE_MASK;

export type VmaAction =
  /** made by an mmap in the task */
  | {
      kind: 'map'; start: bigint; length: bigint; prot: number; fillProt: number; flags: number; fileId?: number; pgoff: bigint; shared: boolean;
      /** open(2) flags for the mapped file: the image's fdflags (a read-only view of a file opened O_RDWR may be mprotect'ed writable later) */
      openFlags?: number;
      /** a shared memory object (shared anonymous, memfd) made once by the memory kind: the entry to ask it for */
      shmem?: VmaEntry;
      /** a packet socket's rings: the socket's files.img id (its description, made early, is mapped) */
      socketId?: number;
    }
  /** a SysV shm segment, attached with shmat(2) at start (SHM_RDONLY without PROT_WRITE, SHM_EXEC with PROT_EXEC) */
  | { kind: 'sysv'; start: bigint; length: bigint; shmid: number; prot: number }
  /** one of the vDSO/vvar mappings: the helper's are moved there */
  | { kind: 'vdso'; start: bigint; length: bigint; vvar: boolean }
  /** left to the kernel ([vsyscall]) */
  | { kind: 'skip'; start: bigint };

function unsupported(pid: number, vma: VmaEntry, what: string): UnsupportedError {
  return new UnsupportedError({ pid, kind: what, address: vma.start });
}

function checkSupported(pid: number, vma: VmaEntry): void {
  const status = vma.status >>> 0;
  if ((status & VMA.UNSUPP) !== 0) throw unsupported(pid, vma, 'mapping marked unsupported by the dump');
  if ((status & VMA.AREA_AIORING) !== 0) throw unsupported(pid, vma, 'AIO ring mapping');
  if ((status & VMA.AREA_SHSTK) !== 0) throw unsupported(pid, vma, 'shadow stack mapping');
  if (vma.end <= vma.start || (vma.start & 0xfffn) !== 0n || (vma.end & 0xfffn) !== 0n) {
    throw unsupported(pid, vma, `mapping with bad bounds 0x${vma.start.toString(16)}-0x${vma.end.toString(16)}`);
  }
}

/** What to do for one dumped mapping of task `pid`. */
export function planVma(pid: number, vma: VmaEntry): VmaAction {
  const status = vma.status >>> 0;
  if ((status & VMA.AREA_VSYSCALL) !== 0) return { kind: 'skip', start: vma.start };
  if ((status & (VMA.AREA_VDSO | VMA.AREA_VVAR)) !== 0) {
    return { kind: 'vdso', start: vma.start, length: vma.end - vma.start, vvar: (status & VMA.AREA_VVAR) !== 0 };
  }
  checkSupported(pid, vma);
  if ((status & VMA.AREA_SOCKET) !== 0) return socketRings(vma);
  if ((status & VMA.AREA_SYSVIPC) !== 0) {
    if (vma.pgoff !== 0n) throw unsupported(pid, vma, `System V shared memory mapping of segment ${vma.shmid} from offset 0x${vma.pgoff.toString(16)} (only whole attaches are restored)`);
    return { kind: 'sysv', start: vma.start, length: vma.end - vma.start, shmid: Number(vma.shmid), prot: vma.prot };
  }
  const shmem = (status & (VMA.ANON_SHARED | VMA.AREA_MEMFD)) !== 0;
  const fileBacked = shmem || (status & (VMA.FILE_PRIVATE | VMA.FILE_SHARED)) !== 0;
  const shared = (status & (VMA.FILE_SHARED | VMA.ANON_SHARED)) !== 0;
  const flags = (vma.flags & KEPT_FLAGS) | MAP.FIXED | (fileBacked ? 0 : MAP.ANONYMOUS);
  // private mappings get their pages written in: make them writable until then
  const fillProt = shared ? vma.prot : vma.prot | PROT.READ | PROT.WRITE;
  const action: VmaAction = {
    kind: 'map',
    start: vma.start,
    length: vma.end - vma.start,
    prot: vma.prot,
    fillProt,
    flags: fileBacked ? flags & ~MAP.ANONYMOUS : flags,
    pgoff: fileBacked ? vma.pgoff : 0n,
    shared,
  };
  if (shmem) action.shmem = vma;
  else if (fileBacked) {
    action.fileId = Number(vma.shmid);
    action.openFlags = fileOpenFlags(vma, shared);
  }
  return action;
}

/** A packet socket's rings, mapped from the socket: no pages of their own to read in (as shared). */
function socketRings(vma: VmaEntry): VmaAction {
  const flags = (vma.flags & KEPT_FLAGS & ~MAP.ANONYMOUS) | MAP.FIXED;
  return { kind: 'map', start: vma.start, length: vma.end - vma.start, prot: vma.prot, fillProt: vma.prot, flags, pgoff: vma.pgoff, shared: true, socketId: Number(vma.shmid) };
}

/** How a mapped file is opened again: the dump's fdflags (access mode only), else by sharing and prot. */
export function fileOpenFlags(vma: VmaEntry, shared: boolean): number {
  if (vma.fdflags !== undefined) return (vma.fdflags & O.ACCMODE) === O.RDWR ? O.RDWR : O.RDONLY;
  return shared && (vma.prot & PROT.WRITE) !== 0 ? O.RDWR : O.RDONLY;
}

/** The madvise(2) advice numbers set in vma_entry.madv (bit n = advice n). */
export function madviceOf(vma: VmaEntry): number[] {
  const bits = vma.madv ?? 0n;
  const advice: number[] = [];
  for (let n = 0; n < 64; n++) if (((bits >> BigInt(n)) & 1n) !== 0n) advice.push(n);
  return advice;
}

/** Does [start, end) overlap any dumped mapping of any task? */
export function overlapsAny(start: bigint, end: bigint, vmas: readonly VmaEntry[]): boolean {
  return vmas.some((vma) => vma.start < end && start < vma.end);
}

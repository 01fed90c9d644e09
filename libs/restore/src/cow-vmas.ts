// Which private mappings a child inherits from its parent at restore, so
// that pages the two shared copy-on-write when dumped are shared again
// (fork(2): a private page stays one page until either side writes it).
// Each task's address space is rebuilt before its children are cloned from
// it; a child's mapping that the parent has too — same bounds, both
// private, same backing (anonymous, or the same file at the same offset),
// same grows-down flag, not hugetlb, not locked, not excluded from fork —
// is kept as the clone left it instead of mapped afresh. Whether each page
// in it is still shared is decided by content (cow-pages.ts), as upstream
// CRIU does (its "vma_inherited"). Tasks running different executables
// share nothing (exec(2) drops the address space). Pure: decisions only.
import { MADV, MAP } from '@criu-ts/kernel';
import type { Messages } from '@criu-ts/images';
import type { Range } from './task-area.js';
import { VMA, planVma } from './vma-plan.js';

type VmaEntry = Messages['vma_entry'];
type MmEntry = Messages['mm_entry'];

/** mmap flags that must agree for a mapping to be the same one after fork */
const SAME_FLAGS = MAP.GROWSDOWN | MAP.ANONYMOUS | MAP.HUGETLB | MAP.LOCKED | MAP.DROPPABLE;
/** madvise bits that keep a mapping (or its pages) from passing through fork */
const FORK_ADVICE = (1n << BigInt(MADV.DONTFORK)) | (1n << BigInt(MADV.WIPEONFORK));

/** A private mapping whose pages may be shared with a parent's or child's (the plan maps it privately). */
function forkable(vma: VmaEntry): boolean {
  const status = vma.status >>> 0;
  if ((status & (VMA.ANON_PRIVATE | VMA.FILE_PRIVATE)) === 0) return false;
  if ((status & (VMA.ANON_SHARED | VMA.FILE_SHARED | VMA.AREA_MEMFD | VMA.AREA_SYSVIPC | VMA.AREA_VDSO | VMA.AREA_VVAR | VMA.AREA_VSYSCALL)) !== 0) return false;
  if ((vma.flags & (MAP.HUGETLB | MAP.LOCKED)) !== 0) return false;
  if (((vma.madv ?? 0n) & FORK_ADVICE) !== 0n) return false;
  return planVma(0, vma).kind === 'map';
}

/** Is the child's mapping the one the parent's becomes in a fork? */
export function sameAfterFork(child: VmaEntry, parent: VmaEntry): boolean {
  if (child.start !== parent.start || child.end !== parent.end) return false;
  if (!forkable(child) || !forkable(parent)) return false;
  if (((child.flags ^ parent.flags) & SAME_FLAGS) !== 0) return false;
  const file = (child.status & VMA.FILE_PRIVATE) !== 0;
  if (file !== ((parent.status & VMA.FILE_PRIVATE) !== 0)) return false;
  return !file || (child.shmid === parent.shmid && child.pgoff === parent.pgoff);
}

/** The child's mappings to keep from the clone (address order); none when the executables differ. */
export function inheritedRanges(child: MmEntry, parent: MmEntry | undefined): Range[] {
  if (parent === undefined || child.exe_file_id !== parent.exe_file_id) return [];
  const byStart = new Map((parent.vmas ?? []).map((vma) => [vma.start, vma]));
  return (child.vmas ?? [])
    .filter((vma) => {
      const twin = byStart.get(vma.start);
      return twin !== undefined && sameAfterFork(vma, twin);
    })
    .map((vma) => ({ start: vma.start, end: vma.end }));
}

/** The ranges wholly inside what the task has mapped now (the clone's copy of its parent). */
export function presentRanges(wanted: readonly Range[], present: readonly Range[]): Range[] {
  return wanted.filter((r) => present.some((m) => m.start <= r.start && r.end <= m.end));
}

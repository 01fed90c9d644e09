// How a VMA is described in vma_entry (mm-PID.img), as upstream CRIU 4.x
// writes it: prot from the maps permissions, MAP_* flags from the sharing
// column plus the VmFlags that mmap(2) can set, madvise(2) advice as a bit
// per MADV_* value, and the VMA_AREA_* status bits (criu/include/image.h).
// Pure conversions, no I/O. See proc_pid_smaps(5), mmap(2), madvise(2).
import { MADV, MAP, O, PROT } from '@criu-ts/kernel';

/** vma_entry.status bits (part of the image ABI). */
export const VMA = {
  AREA_NONE: 0,
  AREA_REGULAR: 1 << 0,
  AREA_STACK: 1 << 1,
  AREA_VSYSCALL: 1 << 2,
  AREA_VDSO: 1 << 3,
  AREA_HEAP: 1 << 5,
  FILE_PRIVATE: 1 << 6,
  FILE_SHARED: 1 << 7,
  ANON_SHARED: 1 << 8,
  ANON_PRIVATE: 1 << 9,
  AREA_SYSVIPC: 1 << 10,
  AREA_SOCKET: 1 << 11,
  AREA_VVAR: 1 << 12,
  AREA_AIORING: 1 << 13,
  AREA_MEMFD: 1 << 14,
  AREA_SHSTK: 1 << 15,
  AREA_GUARD: 1 << 16,
  AREA_UPROBES: 1 << 17,
  /** a mapping the dumper could not save */
  UNSUPP: 1 << 31,
} as const;

/** VmFlags mnemonics that become MAP_* flags (what mmap can ask for). */
const MAP_BY_VMFLAG: Readonly<Record<string, number>> = {
  gd: MAP.GROWSDOWN,
  lo: MAP.LOCKED,
  nr: MAP.NORESERVE,
  ht: MAP.HUGETLB,
  dp: MAP.DROPPABLE,
};

/** VmFlags mnemonics that record madvise advice, by the MADV_* value. */
const MADV_BY_VMFLAG: Readonly<Record<string, number>> = {
  sr: MADV.SEQUENTIAL,
  rr: MADV.RANDOM,
  dc: MADV.DONTFORK,
  dd: MADV.DONTDUMP,
  mg: MADV.MERGEABLE,
  hg: MADV.HUGEPAGE,
  nh: MADV.NOHUGEPAGE,
  wf: MADV.WIPEONFORK,
};

/** PROT_* from the permission flags of a maps line. */
export function protOf(vma: { read: boolean; write: boolean; exec: boolean }): number {
  return (vma.read ? PROT.READ : 0) | (vma.write ? PROT.WRITE : 0) | (vma.exec ? PROT.EXEC : 0);
}

/**
 * MAP_SHARED or MAP_PRIVATE, plus the MAP_* flags the VmFlags show. A
 * droppable mapping is private by nature but mmap takes MAP_DROPPABLE as its
 * type instead of MAP_PRIVATE, so it replaces it (as upstream records it).
 */
export function mapFlagsOf(shared: boolean, vmFlags: ReadonlySet<string>): number {
  let flags = shared ? MAP.SHARED : MAP.PRIVATE;
  for (const flag of vmFlags) flags |= MAP_BY_VMFLAG[flag] ?? 0;
  if (!shared && (flags & MAP.DROPPABLE) !== 0) flags &= ~MAP.PRIVATE;
  return flags;
}

/** vma_entry.madv: bit (1 << MADV_x) for each advice the VmFlags show. */
export function madvOf(vmFlags: ReadonlySet<string>): bigint {
  let madv = 0n;
  for (const flag of vmFlags) {
    const advice = MADV_BY_VMFLAG[flag];
    if (advice !== undefined) madv |= 1n << BigInt(advice);
  }
  return madv;
}

/** vma_entry.fdflags: how the mapped file must be opened again (O_RDWR only for shared writable). */
export function fdflagsOf(vmFlags: ReadonlySet<string>): number {
  return vmFlags.has('sh') && vmFlags.has('mw') ? O.RDWR : O.RDONLY;
}

/** VM_IO / VM_PFNMAP areas: their pages cannot be read back (only vvar is expected to have them). */
export function isIoMapping(vmFlags: ReadonlySet<string>): boolean {
  return vmFlags.has('io') || vmFlags.has('pf');
}

const STATUS_NAMES = Object.entries(VMA).filter(([, bit]) => bit !== 0);

/** The status bits by name, as crit shows them: 'AREA_REGULAR | ANON_PRIVATE'. */
export function describeStatus(status: number): string {
  return STATUS_NAMES.filter(([, bit]) => (status & bit) !== 0).map(([name]) => name).join(' | ');
}

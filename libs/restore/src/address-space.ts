// Rebuilding a task's address space from mm-PID.img (mmap(2), mprotect(2),
// madvise(2), mremap(2), proc(5) maps): drop what the helper left (all
// but the restore area, the vDSO pieces and [vsyscall]), map every dumped
// mapping at its address (anonymous ones fresh, file ones by reopening the
// file in the task), read the pages in, set the final protections and
// advice, and move the vDSO. Shared anonymous and memfd mappings map the
// object the memory kind made once (AddressSpaceInput.sharedFd). A task
// cloned from its restored parent keeps the private mappings it inherits
// (AddressSpaceInput.inherited, cow-vmas.ts) with the parent's pages in
// them, so pages shared copy-on-write stay shared (cow-pages.ts). Not yet:
// SysV, AIO and packet-ring mappings (refused in vma-plan.ts).
import { CriuError, type Logger } from '@criu-ts/base';
import { O, PROT, SYS } from '@criu-ts/kernel';
import type { Messages } from '@criu-ts/images';
import { closeSync } from 'node:fs';
import { callsChecked, takeOurFd, type Injector, type NamedCall } from '@criu-ts/inject';
import type { FileTable } from './file-paths.js';
import { fillPages, openAllInTask, type FillOptions } from './page-fill.js';
import { unregisterRseq } from './rseq.js';
import { normalize, subtract } from '@criu-ts/kinds';
import { presentRanges } from './cow-vmas.js';
import { scratchEndOf, type Range, type TaskArea } from './task-area.js';
import { isVdsoPiece, parkVdso, placeVdso, taskMappings, type Mapping } from './vdso-move.js';
import { VMA, madviceOf, planVma, type VmaAction } from './vma-plan.js';

type VmaEntry = Messages['vma_entry'];
type MapAction = Extract<VmaAction, { kind: 'map' }>;

export interface AddressSpaceInput {
  dir: string;
  vmas: readonly VmaEntry[];
  area: TaskArea;
  files: FileTable;
  fill: FillOptions;
  log: Logger;
  /** the task-side fd of the shared memory object a VMA maps (the caller closes it) */
  sharedFd?(injector: Injector, vma: VmaEntry): bigint;
  /**
   * Our fd on mapped file `fileId` when a remap stands for it (a deleted
   * file carried as a ghost, a linked copy): the task maps that description
   * instead of opening the path. undefined: open the path.
   */
  remappedFd?(fileId: number, flags: number, purpose: string): number | undefined;
  /** our fd of the packet socket (files.img id) whose rings a mapping maps, made before the task's fds */
  socketFd?(fileId: number, purpose: string): number;
  /** private mappings to keep as the clone from the parent left them (cow-vmas.ts inheritedRanges) */
  inherited?: readonly Range[];
}

/**
 * Ranges to unmap: every present mapping except the area, the vDSO pieces
 * and [vsyscall], adjacent ones merged, less the ranges kept.
 */
export function helperLeftovers(present: readonly Mapping[], area: TaskArea, kept: readonly Range[] = []): Range[] {
  const areaEnd = area.base + BigInt(area.size);
  const drop = present.filter((m) => !isVdsoPiece(m) && m.name !== '[vsyscall]' && !(m.start >= area.base && m.end <= areaEnd));
  const merged: Range[] = [];
  for (const m of drop) {
    const last = merged.at(-1);
    if (last !== undefined && last.end === m.start) last.end = m.end;
    else merged.push({ start: m.start, end: m.end });
  }
  return subtract(merged, normalize(kept));
}

function unmapLeftovers(injector: Injector, area: TaskArea, kept: readonly Range[]): void {
  const ranges = helperLeftovers(taskMappings(injector.pid), area, kept);
  callsChecked(injector, ranges.map((range) => ({ name: `munmap(0x${range.start.toString(16)})`, nr: SYS.munmap, args: [range.start, range.end - range.start] })));
}

const openFlagsOf = (action: MapAction): number => action.openFlags ?? (action.shared && (action.prot & PROT.WRITE) !== 0 ? O.RDWR : O.RDONLY);
const purposeOf = (injector: Injector, action: MapAction): string => `mapping at 0x${action.start.toString(16)} of pid ${injector.pid}`;
const fileKey = (action: MapAction): string => `${openFlagsOf(action)}:${action.fileId}`;

const socketKey = (id: number): string => `socket:${id}`;

/** The task's fd of a mapped packet socket (ours stays the files table's). */
function socketFdOf(injector: Injector, input: AddressSpaceInput, action: MapAction): bigint {
  if (input.socketFd === undefined) throw new CriuError(`task ${injector.pid}: no way to restore the socket rings mapped at 0x${action.start.toString(16)}`);
  return takeOurFd(injector, input.socketFd(action.socketId!, purposeOf(injector, action)));
}

/**
 * Opens every distinct file the mappings map; their task fds by fileKey,
 * added to `fds`. Files with a remap are opened by us and handed over;
 * the others by path, in one batch.
 */
function openMappedFiles(injector: Injector, input: AddressSpaceInput, actions: readonly MapAction[], fds: Map<string, bigint>): void {
  const byPath = new Map<string, { path: string; flags: number }>();
  for (const action of actions) {
    if (action.socketId !== undefined && !fds.has(socketKey(action.socketId))) fds.set(socketKey(action.socketId), socketFdOf(injector, input, action));
    if (action.shmem !== undefined || action.fileId === undefined || fds.has(fileKey(action))) continue;
    const flags = openFlagsOf(action);
    const ours = input.remappedFd?.(action.fileId, flags, purposeOf(injector, action));
    if (ours !== undefined) {
      try {
        fds.set(fileKey(action), takeOurFd(injector, ours, () => scratchEndOf(input.area)));
      } finally {
        closeSync(ours);
      }
      continue;
    }
    if (!byPath.has(fileKey(action))) byPath.set(fileKey(action), { path: input.files.path(action.fileId, purposeOf(injector, action)), flags });
  }
  const keys = [...byPath.keys()];
  openAllInTask(injector, input.area, [...byPath.values()]).forEach((fd, i) => fds.set(keys[i]!, fd));
}

function shmemFd(injector: Injector, input: AddressSpaceInput, vma: VmaEntry, fds: Map<string, bigint>): bigint {
  if (input.sharedFd === undefined) throw new CriuError(`task ${injector.pid}: no way to restore the shared memory mapped at 0x${vma.start.toString(16)}`);
  const key = `shmem:${vma.status & VMA.AREA_MEMFD}:${vma.shmid}`;
  let fd = fds.get(key);
  if (fd === undefined) {
    fd = input.sharedFd(injector, vma);
    fds.set(key, fd);
  }
  return fd;
}

/** The mmap of one mapping, its file (or shared memory object) opened in the task first. */
function mmapCall(injector: Injector, input: AddressSpaceInput, action: MapAction, fds: Map<string, bigint>): NamedCall {
  const fileFdOf = (): bigint => (action.socketId !== undefined ? fds.get(socketKey(action.socketId))! : action.fileId === undefined ? -1n : fds.get(fileKey(action))!);
  const fd = action.shmem !== undefined ? shmemFd(injector, input, action.shmem, fds) : fileFdOf();
  return { name: `mmap(0x${action.start.toString(16)})`, nr: SYS.mmap, args: [action.start, action.length, action.fillProt, action.flags, fd, action.pgoff] };
}

/** Every mapping at its address: the files opened, then the mmaps, in batches (one trip per batch). */
function mapAll(injector: Injector, input: AddressSpaceInput, actions: readonly MapAction[]): void {
  const fds = new Map<string, bigint>();
  try {
    openMappedFiles(injector, input, actions, fds);
    const calls = actions.map((action) => mmapCall(injector, input, action, fds));
    callsChecked(injector, calls).forEach((got, i) => {
      const { start } = actions[i]!;
      if (got !== start) throw new CriuError(`task ${injector.pid}: mapping 0x${start.toString(16)} landed at 0x${got.toString(16)}`);
    });
  } finally {
    callsChecked(injector, [...fds.values()].map((fd) => ({ name: `close(${fd})`, nr: SYS.close, args: [fd] })));
  }
}

const SHM_RDONLY = 0o10000;
const SHM_EXEC = 0o100000;

/** SysV segments attached again where they were (one batch); each must land at its address, as long as it was. */
function attachSysv(injector: Injector, attaches: readonly Extract<VmaAction, { kind: 'sysv' }>[]): void {
  const calls: NamedCall[] = attaches.map((a) => ({
    name: `shmat(${a.shmid}, 0x${a.start.toString(16)})`,
    nr: SYS.shmat,
    args: [a.shmid, a.start, ((a.prot & PROT.WRITE) === 0 ? SHM_RDONLY : 0) | ((a.prot & PROT.EXEC) !== 0 ? SHM_EXEC : 0)],
  }));
  callsChecked(injector, calls).forEach((got, i) => {
    const { start, shmid } = attaches[i]!;
    if (got !== start) throw new CriuError(`task ${injector.pid}: SysV segment ${shmid} attached at 0x${got.toString(16)}, not 0x${start.toString(16)}`);
  });
  const reprotect: NamedCall[] = attaches
    .filter((a) => a.prot !== (PROT.READ | ((a.prot & PROT.WRITE) !== 0 ? PROT.WRITE : 0) | (a.prot & PROT.EXEC)))
    .map((a) => ({ name: `mprotect(0x${a.start.toString(16)})`, nr: SYS.mprotect, args: [a.start, a.length, a.prot] }));
  callsChecked(injector, reprotect);
  const mapped = taskMappings(injector.pid);
  for (const a of attaches) {
    const m = mapped.find((one) => one.start === a.start);
    if (m === undefined || m.end - m.start !== a.length) throw new CriuError(`task ${injector.pid}: SysV segment ${a.shmid} at 0x${a.start.toString(16)} is not ${a.length} bytes long as dumped (a part of it was mapped)`);
  }
}

/** Final protections and advice, in batches. */
function finishMappings(injector: Injector, input: AddressSpaceInput, actions: readonly MapAction[]): void {
  const calls: NamedCall[] = [];
  for (const action of actions) {
    if (action.fillProt !== action.prot) calls.push({ name: `mprotect(0x${action.start.toString(16)})`, nr: SYS.mprotect, args: [action.start, action.length, action.prot] });
  }
  const mapped = new Set(actions.map((action) => action.start));
  for (const vma of input.vmas.filter((v) => mapped.has(v.start))) {
    for (const advice of madviceOf(vma)) calls.push({ name: `madvise(0x${vma.start.toString(16)}, ${advice})`, nr: SYS.madvise, args: [vma.start, vma.end - vma.start, advice] });
  }
  callsChecked(injector, calls);
}

/** Inherited mappings get their fill protection (the parent's final one is on them). */
function protectInherited(injector: Injector, kept: readonly MapAction[]): void {
  callsChecked(injector, kept.map((a) => ({ name: `mprotect(0x${a.start.toString(16)})`, nr: SYS.mprotect, args: [a.start, a.length, a.fillProt] })));
}

/** Rebuilds the address space of the task behind `injector`; returns the pages read. */
export function restoreAddressSpace(injector: Injector, input: AddressSpaceInput): number {
  const actions = input.vmas.map((vma) => planVma(injector.pid, vma));
  const maps = actions.filter((a): a is MapAction => a.kind === 'map');
  const vdso = actions.filter((a): a is Extract<VmaAction, { kind: 'vdso' }> => a.kind === 'vdso');
  const inherited = presentRanges(input.inherited ?? [], taskMappings(injector.pid));
  const isKept = (a: MapAction): boolean => !a.shared && inherited.some((r) => r.start === a.start && r.end === a.start + a.length);
  unregisterRseq(injector);
  unmapLeftovers(injector, input.area, inherited);
  const parked = parkVdso(injector, input.area);
  mapAll(injector, input, maps.filter((a) => !isKept(a)));
  protectInherited(injector, maps.filter(isKept));
  attachSysv(injector, actions.filter((a): a is Extract<VmaAction, { kind: 'sysv' }> => a.kind === 'sysv'));
  const ranges = (list: readonly { start: bigint; length: bigint }[]): { start: bigint; end: bigint }[] => list.map((a) => ({ start: a.start, end: a.start + a.length }));
  const pages = fillPages(injector, input.area, input.dir, {
    ...input.fill, private: ranges(maps.filter((action) => !action.shared)), shared: ranges(maps.filter((action) => action.shared)), skipped: ranges(vdso), inherited,
  });
  finishMappings(injector, input, maps);
  placeVdso(injector, parked, vdso);
  const kept = inherited.length === 0 ? '' : ` (${inherited.length} kept from the parent)`;
  input.log.debug(`pid ${injector.pid}: ${maps.length} mappings${kept}, ${pages} pages read`);
  return pages;
}

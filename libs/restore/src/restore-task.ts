// Restoring one live task: its address space as soon as it exists (its
// children are cloned from it after), the rest once the whole tree exists:
// mm fields, signal dispositions, the clear-tid and robust-list addresses
// of its leader, its other threads (clone3 with CLONE_THREAD and set_tid
// from the leader), then the kinds' restore halves (credentials last: the
// clones need CAP_SYS_ADMIN) and the threads' own addresses. Last, the
// trampoline moves to the restored code (the [vdso], or an executable
// private mapping) so the restore area can be unmapped.
import { CriuError, FAULT, faultPoint, type Logger } from '@criu-ts/base';
import { PR, PROT, SYS } from '@criu-ts/kernel';
import { imagePath, type Messages } from '@criu-ts/images';
import { batchOnThreads, callsChecked, checkResults, inThreadGroups, openInjector, type Injector, type NamedCall } from '@criu-ts/inject';
import { restoreAddressSpace } from './address-space.js';
import { THREAD_FLAGS, cloneTasks } from './clone-task.js';
import { inheritedRanges } from './cow-vmas.js';
import type { FileTable } from './file-paths.js';
import { restoreMmFields } from './mm-fields.js';
import { restoreSigactions } from './sigactions.js';
import { putScratch, type TaskArea } from './task-area.js';
import type { TaskImage, ThreadImage } from './tree-images.js';
import { VMA, planVma } from './vma-plan.js';
import { canBeLazy } from '@criu-ts/kinds';

export interface TaskRestoreInput {
  dir: string;
  area: TaskArea;
  files: FileTable;
  populate: boolean;
  log: Logger;
  timeoutMs: number;
  /** runs the kinds' restore halves for the task */
  runKinds(pid: number): void;
  /** the task-side fd of a shared memory object a VMA maps (the memory kind's) */
  sharedFd?(injector: Injector, vma: Messages['vma_entry']): bigint;
  /** our fd on a mapped (or exe) file that a remap stands for (address-space.ts) */
  remappedFd?(fileId: number, flags: number, purpose: string): number | undefined;
  /**
   * --lazy-pages: hands the task's lazy areas (private anonymous mappings,
   * their PE_LAZY runs left empty) to the lazy-pages daemon, once the whole
   * tree exists (no fork of a registered area during the restore) and
   * before anything may touch them (restoreTask's first step)
   */
  lazy?(injector: Injector, ranges: { start: bigint; end: bigint }[]): void;
  /** our fd of a packet socket whose rings a mapping maps (address-space.ts) */
  socketFd?(fileId: number, purpose: string): number;
  /** the task-side fd on the images directory, in a mount namespace of the tree's own (mnt-restore.ts) */
  imagesFd?(): number | undefined;
}

/** Where the trampoline goes once the task's own code is mapped. */
export function finalSite(pid: number, vmas: readonly Messages['vma_entry'][]): bigint {
  const vdso = vmas.find((vma) => (vma.status & VMA.AREA_VDSO) !== 0 && (vma.status & VMA.AREA_VVAR) === 0);
  if (vdso !== undefined) return vdso.start;
  for (const vma of vmas) {
    const action = planVma(pid, vma);
    if (action.kind === 'map' && !action.shared && (action.prot & PROT.EXEC) !== 0) return action.start;
  }
  throw new CriuError(`pid ${pid} has no [vdso] and no private executable mapping to run injected calls from`, { code: 'EUNSUPPORTED' });
}

/** SS_ONSTACK and SS_DISABLE describe the stack as read back; of the flags, only SS_AUTODISARM is set again. */
const SS_STATE_BITS = 0x1 | 0x2;

/** The thread's name (prctl PR_SET_NAME: /proc/PID/comm is writable only from inside the process). */
export function setComm(injector: Injector, area: TaskArea, comm: string | undefined): void {
  if (comm === undefined || comm === '') return;
  const name = Buffer.alloc(16);
  name.write(comm.slice(0, 15), 'utf8');
  injector.call('prctl(PR_SET_NAME)', SYS.prctl, [PR.SET_NAME, putScratch(injector.pid, area, name), 0, 0, 0]);
}

/** Scratch each thread's setup takes (its name at 0, its stack_t at 32) when threads are set up side by side. */
const THREAD_SETUP_BYTES = 64;

/**
 * Per-thread state set from inside — name, alternate signal stack,
 * parent-death signal, robust futex list, rseq area — as one batch, its
 * structs in the scratch from `base`.
 */
function threadSetupCalls(injector: Injector, area: TaskArea, task: TaskImage, thread: ThreadImage, base: number): NamedCall[] {
  const core = thread.core.thread_core;
  const calls: NamedCall[] = [];
  const comm = core?.comm ?? task.threads[0]!.core.tc?.comm;
  if (comm !== undefined && comm !== '') {
    const name = Buffer.alloc(16);
    name.write(comm.slice(0, 15), 'utf8');
    calls.push({ name: 'prctl(PR_SET_NAME)', nr: SYS.prctl, args: [PR.SET_NAME, putScratch(injector.pid, area, name, base), 0, 0, 0] });
  }
  const sas = core?.sas;
  if (sas !== undefined && sas.ss_size !== 0n) {
    const stack = Buffer.alloc(24);
    stack.writeBigUInt64LE(sas.ss_sp, 0);
    stack.writeInt32LE(sas.ss_flags & ~SS_STATE_BITS, 8);
    stack.writeBigUInt64LE(sas.ss_size, 16);
    calls.push({ name: 'sigaltstack', nr: SYS.sigaltstack, args: [putScratch(injector.pid, area, stack, base + 32), 0] });
  }
  if (core?.pdeath_sig) calls.push({ name: 'prctl(PR_SET_PDEATHSIG)', nr: SYS.prctl, args: [PR.SET_PDEATHSIG, core.pdeath_sig, 0, 0, 0] });
  if (core !== undefined && core.futex_rla !== 0n) calls.push({ name: 'set_robust_list', nr: SYS.set_robust_list, args: [core.futex_rla, core.futex_rla_len] });
  const rseq = core?.rseq_entry;
  if (rseq !== undefined && rseq.rseq_abi_pointer !== 0n) calls.push({ name: 'rseq', nr: SYS.rseq, args: [rseq.rseq_abi_pointer, rseq.rseq_abi_size, 0, rseq.signature] });
  return calls;
}

function makeThreads(injector: Injector, task: TaskImage, input: TaskRestoreInput): void {
  const requests = task.threads.slice(1).map((thread) => ({
    pid: thread.tid, nsPid: thread.nsTid, flags: THREAD_FLAGS, exitSignal: 0, childTid: thread.core.thread_info!.clear_tid_addr,
  }));
  cloneTasks(injector, input.area, requests, input.timeoutMs);
}

/**
 * Per-thread calls in each new thread, side by side (batchOnThreads): the
 * threads' injectors borrow the leader's trampoline and batch area, their
 * structs lie apart in the scratch, as many threads a group as it holds.
 */
function setupThreads(task: TaskImage, input: TaskRestoreInput): void {
  const threads = task.threads.slice(1);
  if (threads.length === 0) return;
  // the leader's injector (released by now) lends its trampoline and batch area to the threads'
  const leader = openInjector(task.pid, { site: input.area.site, batchArea: input.area.batch, log: input.log });
  try {
    setupThreadGroups(leader, task, threads, input);
  } finally {
    leader.release();
  }
}

function setupThreadGroups(leader: Injector, task: TaskImage, threads: readonly ThreadImage[], input: TaskRestoreInput): void {
  const perGroup = Math.floor(input.area.scratchSize / THREAD_SETUP_BYTES);
  inThreadGroups(leader, threads.map((thread) => thread.tid), perGroup, input.log, (injectors, first) => {
    const calls = injectors.map((injector, i) => threadSetupCalls(injector, input.area, task, threads[first + i]!, i * THREAD_SETUP_BYTES));
    const results = batchOnThreads(injectors.map((injector, i) => ({ injector, calls: calls[i]! })));
    injectors.forEach((injector, i) => checkResults(injector, calls[i]!, results[i]!));
  });
}

function dropArea(pid: number, site: bigint, area: TaskArea, log: Logger): void {
  const injector = openInjector(pid, { site, log });
  try {
    injector.call('munmap', SYS.munmap, [area.base, area.size]);
  } finally {
    injector.release();
  }
}

/**
 * Rebuilds a live task's address space (before its children are cloned
 * from it: they inherit its private pages, cow-vmas.ts); `parent` is its
 * parent's image, undefined for the root. Returns the pages read.
 */
export function restoreTaskMemory(injector: Injector, task: TaskImage, parent: TaskImage | undefined, input: TaskRestoreInput): number {
  const mm = task.mm!;
  const fill = { populate: input.populate, imagePid: task.nsPid, lazy: input.lazy !== undefined, imagesFd: input.imagesFd?.() };
  // lazily, every mapping is made afresh: one kept from the parent's clone would hold the parent's pages where the task's own are still to come
  const inherited = input.lazy !== undefined ? [] : inheritedRanges(mm, parent?.mm);
  const pages = restoreAddressSpace(injector, {
    dir: input.dir, vmas: mm.vmas ?? [], area: input.area, files: input.files, fill, log: input.log, sharedFd: input.sharedFd, remappedFd: input.remappedFd, socketFd: input.socketFd, inherited,
  });
  faultPoint(FAULT.RESTORE_MEMORY, String(task.pid));
  return pages;
}

/** The mappings restored lazily: private anonymous ones, as upstream's vma_entry_can_be_lazy. */
function lazyAreas(pid: number, vmas: readonly Messages['vma_entry'][]): { start: bigint; end: bigint }[] {
  return vmas.filter((vma) => canBeLazy(vma) && planVma(pid, vma).kind === 'map').map((vma) => ({ start: vma.start, end: vma.end }));
}

/** Restores the rest of a live task, its memory rebuilt, whose leader's injector (at the restore area) is open; releases it. */
export function restoreTask(injector: Injector, task: TaskImage, input: TaskRestoreInput): void {
  const mm = task.mm!;
  const vmas = mm.vmas ?? [];
  const leader = task.threads[0]!;
  input.lazy?.(injector, lazyAreas(task.pid, vmas));
  restoreMmFields(injector, input.area, mm, { files: input.files, remappedFd: input.remappedFd }, input.log);
  restoreSigactions(injector, input.area, leader.core.tc?.sigactions ?? [], imagePath(input.dir, 'core', task.nsPid));
  const clearTid = leader.core.thread_info!.clear_tid_addr;
  if (clearTid !== 0n) injector.call('set_tid_address', SYS.set_tid_address, [clearTid]);
  callsChecked(injector, threadSetupCalls(injector, input.area, task, leader, 0));
  makeThreads(injector, task, input);
  input.runKinds(task.pid);
  injector.release();
  setupThreads(task, input);
  dropArea(task.pid, finalSite(task.pid, vmas), input.area, input.log);
}

// The memory kind: a task's address space as upstream CRIU 4.x saves it.
// Saved: mm-PID.img (mm_entry with every VMA), pagemap-PID.img + pages-N.img
// (private and anonymous page contents, vDSO in full; private anonymous
// runs flagged PE_LAZY|PE_PRESENT as upstream flags them, page-runs.ts),
// files.img entries
// for mapped files and the exe, memfd.img + pagemap-shmem-SHMID.img for
// shared memory (once per object). Not saved: vvar/vsyscall contents, pages
// mapping the zero page, page-cache pages of private file mappings (the
// file has them); SysV shm, hugetlb, AIO rings and deleted mapped files are
// UnsupportedError. With --page-server (ctx.pageSink) page data and
// pagemaps go to the page server instead of pagemap/pages images; with
// --stream (ctx.pageStream) pages-N.img goes straight into the stream
// (page-tar-target.ts). Runs
// first: it reads memory before any injector has touched the task's code.
// Restore: the engine (libs/restore) maps every VMA and reads the private
// pages; shared anonymous and memfd objects come from shmem-restore.ts
// (sharedMappingFd). Incremental runs (tracking.ts): pre-dump writes only
// pagemap-PID.img and pages-N.img; with --track-mem and a parent, pages
// unchanged since the parent run go in as PE_PARENT entries (no data).
// See criu(8) "dump", "pre-dump", proc_pid_smaps(5).
import { createPagemap, imagePath, writeImage, PE_PARENT, PE_PRESENT } from '@criu-ts/images';
import { PAGE_SIZE, ptraceGetRegs } from '@criu-ts/kernel';
import { openPagemap, readMaps, readSmaps } from '@criu-ts/proc';
import { CriuError, FAULT, faultPoint } from '@criu-ts/base';
import { imagePid, type DumpContext, type DumpTask, type PageSink } from '../dump-context.js';
import type { TaskKind, TaskRecord } from '../kind.js';
import { dumpSharedAnon, mapFilesLink, mappedSocketId, memfdFileId, regFileId } from './mapped-files.js';
import { buildMmEntry } from './mm-entry.js';
import { spliceRuns } from './page-splice.js';
import { fileTarget, sinkTarget } from './page-targets.js';
import { streamPages } from './page-tar-target.js';
import { appendMerged, canBeLazy, markLazy, privateRuns, wholeRun, type DumpRun } from './page-runs.js';
import { copyRuns } from './page-copy.js';
import { pagesIn, splitRuns, type SplitRun } from './page-parent.js';
import { armTrackers, cleanSpans } from './tracking.js';
import { memoryTables } from './tables.js';
import { planVmas, privatelyMappedShmem, type VmaPlan } from './vma-plan.js';
import { treeNamespaces } from '../core/kobj-ids.js';
import { VMA } from './vma-flags.js';

const MEMFD_SHMEM_KEY = 'memory.memfd-shmem';
/** MAP_HUGE_<size> bits of a VMA's flags */
const HUGE_SIZE_MASK = 0x3f << 26;

/** Fills vma.shmid from what backs each VMA, writing file entries and shared objects. */
function resolveBacking(ctx: DumpContext, task: DumpTask, plans: readonly VmaPlan[]): void {
  const pid = task.pid;
  // a file mapped by several VMAs (text, data, bss of a library) is opened once: smaps names it by device and inode
  const seen = new Map<string, number>();
  for (const plan of plans) {
    const { smaps: s, vma } = plan;
    const file = { pid, link: mapFilesLink(pid, s.start, s.end), address: s.start };
    if (plan.backing === 'file') {
      const key = `${s.major}:${s.minor}:${s.inode}`;
      let id = seen.get(key);
      if (id === undefined) {
        id = regFileId(ctx, file);
        seen.set(key, id);
      }
      vma.shmid = BigInt(id);
    } else if (plan.backing === 'memfd') vma.shmid = BigInt(memfdFileId(ctx, { ...file, hugeSize: vma.flags & HUGE_SIZE_MASK }));
    else if (plan.backing === 'shmem') dumpSharedAnon(ctx, file, s.inode);
    else if (plan.backing === 'socket') vma.shmid = BigInt(mappedSocketId({ ctx, task, log: ctx.log.child('files') }, Number(/\d+/.exec(s.path)![0]), s.start));
  }
}

/**
 * Shared anonymous objects some task of the tree maps privately: saved as
 * memfds (vma-plan.ts), decided once per dump before any task's VMAs.
 */
function memfdShmem(ctx: DumpContext): ReadonlySet<number> {
  return ctx.shared(MEMFD_SHMEM_KEY, () => privatelyMappedShmem(ctx.tasks.filter((task) => !task.zombie).flatMap((task) => readMaps(task.pid))));
}

/** The page of each thread's stack pointer: upstream never marks those lazy. */
function stackPages(task: DumpTask): bigint[] {
  return task.threads.map((thread) => ptraceGetRegs(thread.tid).rsp & ~BigInt(PAGE_SIZE - 1));
}

/** Runs of pages to dump for the whole task, merged across VMAs; updates scan stats. */
function taskRuns(ctx: DumpContext, pid: number, plans: readonly VmaPlan[], eager: readonly bigint[]): DumpRun[] {
  const { zeroPfn } = memoryTables(ctx);
  const runs: DumpRun[] = [];
  const pagemap = openPagemap(pid);
  try {
    for (const { smaps: s, vma, pages } of plans) {
      if (pages === 'all') appendMerged(runs, wholeRun(s.start, s.end));
      if (pages !== 'private') continue;
      const found = privateRuns(pagemap.read(s.start, s.end), s.start, { zeroPfn, skipFilePages: (vma.status & VMA.FILE_PRIVATE) !== 0 });
      appendMerged(runs, canBeLazy(vma) ? markLazy(found.runs, eager) : found.runs);
      ctx.stats.pagesScanned += found.counts.scanned;
      ctx.stats.pagesZero += found.counts.zero;
    }
  } finally {
    pagemap.close();
  }
  return runs;
}

/** Copies the present runs into the pages image: vmsplice (the default) or process_vm_readv (pre-dump --pre-dump-mode read). */
function copyPresent(ctx: DumpContext, pid: number, present: readonly DumpRun[], at: { fd: number; offset: number }): number {
  const read = ctx.options.preDump && ctx.options.preDumpMode === 'read';
  const copied = read
    ? copyRuns(pid, present, at, memoryTables(ctx).buffer)
    : spliceRuns(ctx, { pid, runs: present, target: fileTarget(at.fd), offset: at.offset, log: ctx.log });
  ctx.stats.memwriteTime += Number(copied.writeNs / 1000n);
  return copied.bytes / 4096;
}

/** Writes pagemap-PID.img and pages-N.img (--stream: pages-N.img into the stream); returns the pages written. */
function dumpPages(ctx: DumpContext, pid: number, runs: readonly SplitRun[]): number {
  const present = runs.filter((run) => (run.flags & PE_PRESENT) !== 0);
  if (ctx.pageStream !== undefined) faultPoint(FAULT.DUMP_PAGES);
  if (ctx.pageStream !== undefined) return streamPages(ctx, ctx.pageStream, pid, present);
  const writer = createPagemap(ctx.options.imagesDir, imagePid(ctx, pid), ctx.nextId());
  try {
    let first: number | undefined;
    let next = 0;
    for (const run of runs) {
      const slot = writer.appendRun({ vaddr: run.vaddr, nrPages: run.pages, flags: run.flags });
      if ((run.flags & PE_PRESENT) === 0) continue;
      if (slot === undefined || (first !== undefined && slot.offset !== next)) {
        throw new CriuError(`pagemap-${pid}: page data slots are not contiguous`, { code: 'EINVAL' });
      }
      first ??= slot.offset;
      next = slot.offset + slot.length;
    }
    if (first === undefined) return 0;
    faultPoint(FAULT.DUMP_PAGES);
    return copyPresent(ctx, pid, present, { fd: writer.pagesFd, offset: first });
  } finally {
    writer.close();
  }
}

/** --page-server: the task's runs go to the page sink (which writes pagemap-PID.img there); returns the pages sent. */
function sendPages(ctx: DumpContext, sink: PageSink, pid: number, runs: readonly DumpRun[]): number {
  sink.open('pagemap', imagePid(ctx, pid));
  if (runs.length === 0) return 0;
  faultPoint(FAULT.DUMP_PAGES);
  const copied = spliceRuns(ctx, { pid, runs, target: sinkTarget(sink), offset: 0, log: ctx.log });
  ctx.stats.memwriteTime += Number(copied.writeNs / 1000n);
  return copied.bytes / 4096;
}

function dumpMemory(ctx: DumpContext, task: DumpTask, record: TaskRecord): void {
  const t0 = process.hrtime.bigint();
  const pid = task.pid;
  const preDump = ctx.options.preDump;
  // SysV segments are saved with the tree's own IPC namespace, and their mappings with them
  const plans = planVmas(pid, readSmaps(pid), { memfdShmem: memfdShmem(ctx), sysv: treeNamespaces(ctx).some((ns) => ns.kind.name === 'ipc') });
  if (!preDump) resolveBacking(ctx, task, plans);
  const runs = splitRuns(taskRuns(ctx, pid, plans, stackPages(task)), cleanSpans(ctx, pid, plans));
  const inParent = pagesIn(runs.filter((run) => (run.flags & PE_PARENT) !== 0));
  if (ctx.pageSink !== undefined && inParent > 0) {
    throw new CriuError(`pid ${pid}: --page-server with pages in a parent image is not supported yet`, { code: 'ENOTSUP' });
  }
  const written = ctx.pageSink === undefined ? dumpPages(ctx, pid, runs) : sendPages(ctx, ctx.pageSink, pid, runs);
  ctx.stats.pagesWritten += written;
  ctx.stats.pagesSkippedParent += inParent;
  const vmas = plans.map((plan) => plan.vma);
  if (!preDump) {
    writeImage(imagePath(ctx.options.imagesDir, 'mm', imagePid(ctx, pid)), 'mm', [buildMmEntry(ctx, pid, vmas)]);
    record.ids.vm_id = ctx.nextId();
  }
  ctx.stats.memdumpTime += Number((process.hrtime.bigint() - t0) / 1000n);
  ctx.log.info(`pid ${pid}: ${vmas.length} vma(s), ${written} page(s) written, ${inParent} in the parent images`);
}

export const memoryKind: TaskKind = {
  name: 'mm',
  images: ['mm', 'pagemap', 'pages', 'pagemap-shmem', 'files', 'memfd'],
  dump: dumpMemory,
  afterTasks: armTrackers,
};

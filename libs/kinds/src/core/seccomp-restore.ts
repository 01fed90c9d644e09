// Seccomp, restore half: each thread's filters (thread_core.seccomp_filter
// and the prev links from it in seccomp.img, in upstream's layout — see
// seccomp-filters.ts) installed again in that order with seccomp(2)
// SECCOMP_SET_MODE_FILTER and the saved flags, injected in that thread; a
// filter marked TSYNC gives every thread of the task the caller's filters,
// so threads that got theirs that way install nothing more; then strict
// mode (prctl PR_SET_SECCOMP) where it was set. Images with the old
// per-task fields (tc.old_seccomp_mode/old_seccomp_filter) give them to
// the leader and install its filters with TSYNC, as upstream does.
// Ordering: it runs in the core kind's restoreLast, before the
// credentials (installing a filter needs CAP_SYS_ADMIN or no_new_privs,
// which the dumped credentials may no longer give). The engine traces
// every task with PTRACE_O_SUSPEND_SECCOMP, so nothing injected after
// the filters (credentials, the engine's last calls) is filtered or, in
// strict mode, killed; detaching ends the suspension and the filters
// apply from the task's first instruction. Refused: filter flags other
// than TSYNC, LOG and SPEC_ALLOW (a user-notification listener cannot be
// handed back). See seccomp(2), prctl(2) PR_SET_SECCOMP, ptrace(2).
import { existsSync } from 'node:fs';
import { CriuError, ImageError, UnsupportedError } from '@criu-ts/base';
import { imagePath, readEntries, type Messages } from '@criu-ts/images';
import { PR, SECCOMP_MODE, SECCOMP_SET_MODE, SYS } from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';
import type { RestoreContext, RestoreTask, TaskScratch } from '../restore-context.js';
import { runChecked, type NamedCall } from './injected-batch.js';
import { SECCOMP_FILTER_FLAG, chainIndices, type SeccompFilterEntry } from './seccomp-filters.js';

type TaskCore = Messages['task_core_entry'];
type ThreadCore = Messages['thread_core_entry'];

/** What a thread gets back: its mode and, in filter mode, its chain (image indices, in install order). */
export interface ThreadSeccompPlan {
  tid: number;
  mode: number;
  chain: number[];
  /** old per-task image: every filter is installed with TSYNC */
  forceTsync: boolean;
}

/** A task's seccomp restore, checked against the images before anything is changed. */
export interface TaskSeccompPlan {
  /** threads with a mode, leader first */
  threads: ThreadSeccompPlan[];
  filters: readonly SeccompFilterEntry[];
}

export interface SeccompInput {
  tc: TaskCore;
  /** every thread, leader first, with its thread_core and the core image's path */
  threads: readonly { tid: number; core: ThreadCore | undefined; image: string }[];
}

const IMAGE_KEY = 'core.seccomp-image';
const RESTORABLE_FLAGS = SECCOMP_FILTER_FLAG.TSYNC | SECCOMP_FILTER_FLAG.LOG | SECCOMP_FILTER_FLAG.SPEC_ALLOW;
/** struct sock_fprog: u16 len, 6 bytes padding, u64 filter pointer */
const FPROG_BYTES = 16;

interface SeccompImage {
  filters: readonly SeccompFilterEntry[];
  image: string;
}

/** seccomp.img's filters (none when the image is absent: a dump without filters). */
function readSeccompImage(dir: string): SeccompImage {
  const image = imagePath(dir, 'seccomp');
  if (!existsSync(image)) return { filters: [], image };
  const entries = readEntries(dir, 'seccomp');
  if (entries.length > 1) throw new ImageError(`${entries.length} seccomp entries, expected one`, { image, offset: 0 });
  return { filters: entries[0]?.seccomp_filters ?? [], image };
}

function checkFlags(tid: number, filters: readonly SeccompFilterEntry[], chain: readonly number[]): void {
  for (const index of chain) {
    const flags = filters[index]!.flags ?? 0;
    if ((flags & ~RESTORABLE_FLAGS) !== 0) throw new UnsupportedError({ pid: tid, kind: `seccomp filter ${index} with flags 0x${flags.toString(16)}` });
  }
}

/** Mode and first filter of one thread; the leader's come from tc's old per-task fields when an old image has them. */
function threadFields(input: SeccompInput, i: number): { mode: number; first: number | undefined; old: boolean } {
  const core = input.threads[i]!.core;
  const { tc } = input;
  const old = i === 0 && tc.old_seccomp_filter !== undefined;
  const mode: number = i === 0 && tc.old_seccomp_mode !== undefined ? tc.old_seccomp_mode : core?.seccomp_mode ?? SECCOMP_MODE.DISABLED;
  return { mode, first: old ? tc.old_seccomp_filter : core?.seccomp_filter, old };
}

/** Reads and checks what the task's threads need; undefined when no thread had a seccomp mode. */
export function planTaskSeccomp(ctx: RestoreContext, input: SeccompInput): TaskSeccompPlan | undefined {
  const threads: ThreadSeccompPlan[] = [];
  let filters: readonly SeccompFilterEntry[] = [];
  input.threads.forEach(({ tid, image }, i) => {
    const { mode, first, old } = threadFields(input, i);
    if (mode === SECCOMP_MODE.DISABLED) return;
    if (mode === SECCOMP_MODE.STRICT) {
      threads.push({ tid, mode, chain: [], forceTsync: false });
      return;
    }
    if (mode !== SECCOMP_MODE.FILTER) throw new ImageError(`thread ${tid}: unknown seccomp mode ${mode}`, { image, offset: 0 });
    if (first === undefined) throw new ImageError(`thread ${tid}: seccomp filter mode without seccomp_filter`, { image, offset: 0 });
    const seccomp = ctx.shared(IMAGE_KEY, () => readSeccompImage(ctx.options.imagesDir));
    const chain = chainIndices(seccomp.filters, first, seccomp.image);
    checkFlags(tid, seccomp.filters, chain);
    filters = seccomp.filters;
    threads.push({ tid, mode, chain, forceTsync: old });
  });
  return threads.length === 0 ? undefined : { threads, filters };
}


function onThread(ctx: RestoreContext, task: RestoreTask, tid: number, fn: (injector: Injector) => void): void {
  if (tid === task.pid) return fn(ctx.injector(task.pid));
  if (ctx.withThread === undefined) throw new CriuError(`task ${task.pid}: the restore engine cannot inject into thread ${tid}`, { code: 'ENOSYS' });
  ctx.withThread(tid, fn);
}

/** Stages sock_fprog + program at offset; returns the fprog's address and the next free (8-aligned) offset. */
function stageFilter(scratch: TaskScratch, program: Uint8Array, offset: number): { addr: bigint; next: number } {
  const staged = Buffer.alloc(FPROG_BYTES + program.length);
  staged.writeUInt16LE(program.length / 8, 0);
  staged.writeBigUInt64LE(scratch.addr + BigInt(offset + FPROG_BYTES), 8);
  staged.set(program, FPROG_BYTES);
  const addr = scratch.write(staged, offset);
  return { addr, next: Math.ceil((offset + staged.length) / 8) * 8 };
}

/** seccomp(SECCOMP_SET_MODE_FILTER) of each filter in order (flags | extraFlags), as many per batch as the scratch holds. */
export function installFilters(injector: Injector, scratch: TaskScratch, filters: readonly SeccompFilterEntry[], indices: readonly number[], extraFlags = 0): void {
  let calls: NamedCall[] = [];
  let offset = 0;
  for (const index of indices) {
    const program = filters[index]!.filter;
    const flags = (filters[index]!.flags ?? 0) | extraFlags;
    if (offset + FPROG_BYTES + program.length > scratch.size) {
      runChecked(injector, calls);
      calls = [];
      offset = 0;
    }
    const staged = stageFilter(scratch, program, offset);
    offset = staged.next;
    const name = `seccomp(SECCOMP_SET_MODE_FILTER, filter ${index}, flags 0x${flags.toString(16)})`;
    calls.push({ name, nr: SYS.seccomp, args: [SECCOMP_SET_MODE.FILTER, flags, staged.addr], expect: 0n });
  }
  runChecked(injector, calls);
}

function startsWith(chain: readonly number[], prefix: readonly number[]): boolean {
  return prefix.length <= chain.length && prefix.every((index, i) => chain[i] === index);
}

/**
 * Installs each thread's missing filters, leader first. `have` tracks what
 * each thread holds: a TSYNC filter gives every thread the caller's chain
 * up to it.
 */
function restoreFilters(ctx: RestoreContext, task: RestoreTask, plan: TaskSeccompPlan): void {
  const have = new Map<number, readonly number[]>(task.threads.map((tid) => [tid, []]));
  for (const { tid, chain, forceTsync } of plan.threads.filter((thread) => thread.mode === SECCOMP_MODE.FILTER)) {
    const held = have.get(tid) ?? [];
    if (!startsWith(chain, held)) {
      throw new CriuError(`thread ${tid}: its seccomp filters [${chain.join(', ')}] do not extend [${held.join(', ')}], which a TSYNC filter of another thread gave it`, { code: 'EIMAGE' });
    }
    const todo = chain.slice(held.length);
    if (todo.length === 0) continue;
    const extra = forceTsync ? SECCOMP_FILTER_FLAG.TSYNC : 0;
    onThread(ctx, task, tid, (injector) => installFilters(injector, ctx.scratch(task.pid), plan.filters, todo, extra));
    have.set(tid, chain);
    const synced = (index: number): boolean => (((plan.filters[index]!.flags ?? 0) | extra) & SECCOMP_FILTER_FLAG.TSYNC) !== 0;
    const lastSync = chain.findLastIndex((index, i) => i >= held.length && synced(index));
    if (lastSync >= 0) for (const other of task.threads) if (other !== tid) have.set(other, chain.slice(0, lastSync + 1));
  }
}

/**
 * Installs the filters, then strict mode; see the file comment. The engine
 * traces every task with PTRACE_O_SUSPEND_SECCOMP, so what we inject later
 * is not filtered.
 */
export function restoreTaskSeccomp(ctx: RestoreContext, task: RestoreTask, plan: TaskSeccompPlan): void {
  restoreFilters(ctx, task, plan);
  const strict: NamedCall = { name: 'prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)', nr: SYS.prctl, args: [PR.SET_SECCOMP, SECCOMP_MODE.STRICT, 0, 0, 0] };
  for (const { tid } of plan.threads.filter((thread) => thread.mode === SECCOMP_MODE.STRICT)) {
    onThread(ctx, task, tid, (injector) => runChecked(injector, [strict]));
  }
  const summary = plan.threads.map(({ tid, mode, chain }) => `${tid}: mode ${mode}${chain.length > 0 ? ` (${chain.length} filters)` : ''}`);
  ctx.log.info(`core: task ${task.pid}: seccomp restored, ${summary.join('; ')}`);
}

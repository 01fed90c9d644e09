// Seccomp, dump half, as upstream CRIU 4.x saves it: each thread's mode
// (/proc/PID/task/TID/status "Seccomp:") in thread_core.seccomp_mode; in
// filter mode, every classic-BPF filter of the thread
// (PTRACE_SECCOMP_GET_FILTER: index 0 is the oldest, whatever ptrace(2)
// says, as the kernel's get_nth_filter counts and upstream reads it) with
// the flags the kernel reports for it (PTRACE_SECCOMP_GET_METADATA: only
// SECCOMP_FILTER_FLAG_LOG) go to seccomp.img; thread_core.seccomp_filter
// names the thread's oldest, each filter's prev the next one installed
// (seccomp-filters.ts). When every thread of a task has the same filters,
// upstream's rule applies: they are saved on the leader only, marked
// SECCOMP_FILTER_FLAG_TSYNC, the other threads get no seccomp fields, and
// restore installs them once for all threads (so the program's own later
// TSYNC calls keep working). Identical chains (or chain ends) are written
// once, whichever threads or tasks hold them. seccomp.img is written for
// every dump (one entry, maybe without filters), as upstream does.
// Not saved: SECCOMP_FILTER_FLAG_SPEC_ALLOW (the kernel does not report
// it), user-notification listeners (their fd is refused by the files kind).
// The dump's injected calls are not filtered: the engine seizes with
// PTRACE_O_SUSPEND_SECCOMP, which checkSeccompSuspended verifies before
// anything is injected. See seccomp(2), ptrace(2), proc_pid_status(5).
import { SyscallError, UnsupportedError } from '@criu-ts/base';
import { PTRACE, SECCOMP_MODE, ptraceRaw, ptraceSeccompGetFilter } from '@criu-ts/kernel';
import type { SeccompMode } from '@criu-ts/images';
import { procPath, readProcText } from '@criu-ts/proc';
import type { DumpContext, DumpTask } from '../dump-context.js';
import type { CoreEntry } from './core-kind.js';
import { SECCOMP_FILTER_FLAG, addChain, newSeccompTable, sameChain, type SeccompFilter, type SeccompTable } from './seccomp-filters.js';

/** A thread's seccomp state as read from the kernel. */
export interface ThreadSeccomp {
  tid: number;
  /** SECCOMP_MODE_DISABLED, STRICT or FILTER */
  mode: SeccompMode;
  /** filter mode: its filters, oldest first */
  chain: SeccompFilter[];
}

/** struct seccomp_metadata: u64 filter_off, u64 flags */
const METADATA_BYTES = 16;
/** More filters than the kernel's 32768-instruction budget per thread allows (each costs at least 5). */
const MAX_FILTERS = 8192;
const TABLE_KEY = 'core.seccomp-table';

function seccompTable(ctx: DumpContext): SeccompTable {
  return ctx.shared(TABLE_KEY, newSeccompTable);
}

function seccompMode(pid: number, tid: number): number {
  // only the Seccomp line (read for every thread, twice): the whole of status need not be parsed
  const m = /^Seccomp:\s*(\d+)$/m.exec(readProcText(pid, procPath(pid, 'status', tid)));
  return m === null ? SECCOMP_MODE.DISABLED : Number(m[1]);
}

/** Flags of filter `index` (0 oldest); 0 where the kernel has no PTRACE_SECCOMP_GET_METADATA (EIO). */
function filterFlags(tid: number, index: number): number {
  const meta = Buffer.alloc(METADATA_BYTES);
  meta.writeBigUInt64LE(BigInt(index), 0);
  try {
    ptraceRaw(PTRACE.SECCOMP_GET_METADATA, tid, METADATA_BYTES, meta);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'EIO') return 0;
    throw error;
  }
  return Number(meta.readBigUInt64LE(8));
}

function filterProgram(pid: number, tid: number, index: number): Buffer | null {
  try {
    return ptraceSeccompGetFilter(tid, index);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'EMEDIUMTYPE') {
      throw new UnsupportedError({ pid, kind: `seccomp filter ${index} of thread ${tid} (not a classic BPF program)` });
    }
    throw error;
  }
}

/** Every filter of a thread in filter mode, oldest (index 0) first. */
function readChain(pid: number, tid: number): SeccompFilter[] {
  const chain: SeccompFilter[] = [];
  for (let index = 0; index < MAX_FILTERS; index++) {
    const program = filterProgram(pid, tid, index);
    if (program === null) break;
    chain.push({ program, flags: filterFlags(tid, index) });
  }
  if (chain.length === 0) throw new UnsupportedError({ pid, kind: `seccomp filter mode without a readable filter on thread ${tid}` });
  return chain;
}

function isMode(mode: number): mode is SeccompMode {
  return mode === SECCOMP_MODE.DISABLED || mode === SECCOMP_MODE.STRICT || mode === SECCOMP_MODE.FILTER;
}

export function readThreadSeccomp(pid: number, tid: number): ThreadSeccomp {
  const mode = seccompMode(pid, tid);
  if (!isMode(mode)) throw new UnsupportedError({ pid, kind: `seccomp mode ${mode} on thread ${tid}` });
  return { tid, mode, chain: mode === SECCOMP_MODE.FILTER ? readChain(pid, tid) : [] };
}

/**
 * Upstream's TSYNC rule: if every thread is in filter mode with the
 * leader's filters, the leader keeps them, marked TSYNC, and the others
 * are saved as having none (the leader's TSYNC install gives them theirs).
 */
export function shareByTsync(threads: readonly ThreadSeccomp[]): ThreadSeccomp[] {
  const [leader, ...others] = threads;
  if (leader === undefined || leader.mode !== SECCOMP_MODE.FILTER) return [...threads];
  if (!others.every((thread) => thread.mode === SECCOMP_MODE.FILTER && sameChain(thread.chain, leader.chain))) return [...threads];
  const chain = leader.chain.map((filter) => ({ ...filter, flags: filter.flags | SECCOMP_FILTER_FLAG.TSYNC }));
  return [{ ...leader, chain }, ...others.map((thread) => ({ tid: thread.tid, mode: SECCOMP_MODE.DISABLED, chain: [] }))];
}

/**
 * Before anything is injected: a thread in a seccomp mode may only be
 * dumped if the engine could suspend its filters (PTRACE_O_SUSPEND_SECCOMP
 * needs what PTRACE_SECCOMP_GET_FILTER needs: CAP_SYS_ADMIN, and the
 * dumping process itself free of seccomp — EACCES otherwise).
 */
export function checkSeccompSuspended(pid: number, tid: number): void {
  const mode = seccompMode(pid, tid);
  if (mode === SECCOMP_MODE.DISABLED) return;
  try {
    ptraceSeccompGetFilter(tid, 0);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === 'EACCES')) throw error;
    throw new UnsupportedError({
      pid,
      kind: `seccomp (mode ${mode}) on thread ${tid} without CAP_SYS_ADMIN, or from a dumping process in seccomp mode`,
      hint: 'dump as root outside any seccomp filter: the filters must be suspended while calls are injected',
    });
  }
}

/** Reads the task's seccomp state, adds its filters to the dump's table and fills each thread's core fields. */
export function dumpTaskSeccomp(ctx: DumpContext, task: DumpTask, entries: ReadonlyMap<number, CoreEntry>): void {
  const threads = shareByTsync(task.threads.map((thread) => readThreadSeccomp(task.pid, thread.tid)));
  const table = seccompTable(ctx);
  for (const thread of threads) {
    if (thread.mode === SECCOMP_MODE.DISABLED) continue;
    const core = entries.get(thread.tid)?.thread_core;
    if (core === undefined) throw new RangeError(`thread ${thread.tid}: no thread_core to hold its seccomp mode`);
    core.seccomp_mode = thread.mode;
    if (thread.mode === SECCOMP_MODE.FILTER) core.seccomp_filter = addChain(table, thread.chain);
    ctx.log.info(`core: thread ${thread.tid}: seccomp mode ${thread.mode}${thread.chain.length > 0 ? `, ${thread.chain.length} filter(s)` : ''}`);
  }
}

/** seccomp.img: every filter of the dump, in one entry (written even when there is none, as upstream). */
export function writeSeccompImage(ctx: DumpContext): void {
  const table = seccompTable(ctx);
  ctx.image('seccomp').write({ message: { seccomp_filters: table.entries } });
  if (table.entries.length > 0) ctx.log.info(`core: ${table.entries.length} seccomp filter(s) saved`);
}

// Our compel: run system calls inside a seized, stopped thread and put it
// back exactly as it was.
//
// openInjector saves the thread's registers and signal mask, blocks every
// blockable signal but SIGTRAP (so nothing is delivered, and nothing lost,
// while we work; ALL_SIGNALS says why not SIGTRAP), and writes `syscall;
// int3` at the trampoline site (see trampoline-site.ts), saving the bytes it
// covers. Each injected call sets rip to the trampoline, rax and the
// argument registers, and orig_rax to -1 ("not in a syscall"): the kernel's
// restart logic, which runs when a stopped thread resumes and rewinds
// rip/rewrites rax if orig_rax names a syscall and rax holds -ERESTART*,
// leaves our registers alone; and at a syscall-entry stop the kernel skips
// the pending syscall instead of running it with our arguments (a test shows
// that case). release() puts back, in `finally`, the code bytes, the mask
// and the original registers — including orig_rax and the -ERESTART* rax —
// so the thread's own syscall restarts correctly when it resumes. Signals
// that arrived meanwhile are queued again before that (see run-to-trap.ts).
//
// After release the thread is in a ptrace stop (the trap's), still seized:
// the caller continues or detaches it as it would have. One injector per
// process at a time (they would share the trampoline).
//
// Caveats for callers:
//  - an injected fork/clone/clone3 child starts at the trampoline's int3:
//    trace it (PTRACE_O_TRACECLONE/TRACEFORK, see `events` for its tid) and
//    set its registers before it runs;
//  - the kernel keeps one restart block per thread: an injected call that
//    is itself interrupted and restarted through restart_syscall
//    (nanosleep, clock_nanosleep, poll, futex with timeout) overwrites it,
//    which would cut short the thread's own interrupted sleep of that kind
//    (rax -ERESTART_RESTARTBLOCK). Signals are blocked meanwhile, so only
//    SIGSTOP can cause that; avoid injecting sleeping calls.
import { readFileSync } from 'node:fs';
import { CriuError, LogLevel, SyscallError, defaultLogger, type Logger } from '@criu-ts/base';
import {
  SYS, openTaskMemory, ptraceCont, ptraceGetRegs, ptraceGetSigmask, ptraceSetRegs, ptraceSetSigmask, signed64, syscallName,
  type TaskMemory, type X86Regs,
} from '@criu-ts/kernel';
import { TRAMPOLINE, awaitTrap, runToTrap, type TrapContext } from './run-to-trap.js';
import { mapScratch, scratchAt, type Scratch } from './scratch.js';
import { requeueDeferred, restoreTask, type Saved } from './restore.js';
import { syscallStopOf } from './syscall-stop.js';
import { MAX_CALL_CODE_BYTES, assembleBatch, isResultRef, mapBatchCode, writeBatchCode, type BatchArea, type BatchArg, type BatchCall } from './syscall-batch.js';
import { findTrampolineSite } from './trampoline-site.js';

export type { Scratch } from './scratch.js';
export type { BatchCall } from './syscall-batch.js';

export interface InjectorOptions {
  log?: Logger;
  /** executable address for the trampoline; default: findTrampolineSite() */
  site?: bigint;
  /** bound on each injected call, in ms (default 10 s) */
  timeoutMs?: number;
  /**
   * An open injector on another thread of the same process, whose calls
   * do not overlap this one's (batchOnThreads lays their code apart): its batch area (same address space) runs this
   * injector's batches too, so this one maps nothing of its own. Without
   * a `site` of its own it also uses that injector's trampoline, which
   * stays in place while it is open: nothing is written, so any number of
   * a process's threads can be open at once (batchOnThreads).
   */
  sharesMemoryWith?: Injector;
  /**
   * Read-write-execute memory of the task's that batches use instead of
   * mappings of their own (the restore area, while the task's address
   * space is torn down and rebuilt around it): nothing is mapped or
   * unmapped, and a batch larger than it runs in several trips.
   */
  batchArea?: FixedBatchArea;
}

/** Where batches run: code (executable) and results (writable), both already mapped. */
export interface FixedBatchArea {
  code: bigint;
  codeSize: number;
  results: bigint;
  resultsSize: number;
}

export type SyscallArg = bigint | number;

export interface Injector {
  readonly tid: number;
  /** the thread group (process) id */
  readonly pid: number;
  readonly site: bigint;
  /** the registers at open, which release() puts back */
  readonly savedRegs: X86Regs;
  /** ptrace events seen during injected calls, e.g. PTRACE_EVENT_CLONE with the new tid */
  readonly events: readonly { event: number; msg: bigint }[];
  /** Runs syscall nr in the thread; the raw result (negative = -errno). */
  syscall(nr: number, ...args: SyscallArg[]): bigint;
  /** Like syscall, but throws SyscallError(name, errno, pid) on a -errno result. */
  call(name: string, nr: number, args?: SyscallArg[]): bigint;
  /**
   * Runs many syscalls in one trip into the task (see syscall-batch.ts);
   * their raw results in order (negative = -errno).
   */
  batch(calls: readonly BatchCall[]): bigint[];
  /** An anonymous read-write mapping in the task, unmapped on release. */
  scratch(size: number): Scratch;
  /** Puts code bytes, signal mask and registers back; the injector is unusable after. */
  release(): void;
}

const SIGTRAP_BIT = 1n << 4n;

/**
 * The mask while calls are injected: every signal but SIGTRAP (the kernel
 * ignores the SIGKILL and SIGSTOP bits). SIGTRAP stays open because the
 * int3 that ends each call raises it by force, and a forced signal that
 * is blocked has its handler reset to SIG_DFL: blocking it would take a
 * task's own SIGTRAP handler away. Our trap's delivery stops at the
 * tracer and is never delivered.
 */
const ALL_SIGNALS = 0xffffffffffffffffn & ~SIGTRAP_BIT;

/**
 * The thread's process, read from /proc/TID/status; refuses a thread with
 * a SIGTRAP pending (private or shared): our trap's SIGTRAP would merge
 * with it, and the task's own would be taken for ours and lost.
 */
function tgidOf(tid: number): number {
  const status = readFileSync(`/proc/${tid}/status`, 'utf8');
  const m = /^Tgid:\s*(\d+)/m.exec(status);
  if (m === null) throw new CriuError(`/proc/${tid}/status has no Tgid line`, { code: 'EPROC' });
  const pending = ['SigPnd', 'ShdPnd'].map((key) => new RegExp(`^${key}:\\s*([0-9a-f]+)`, 'm').exec(status)?.[1] ?? '0');
  if (pending.some((hex) => (BigInt(`0x${hex}`) & SIGTRAP_BIT) !== 0n)) {
    throw new CriuError(`thread ${tid} has a SIGTRAP pending: calls cannot be injected into it (the trap that ends each one would swallow it)`, { code: 'EBUSY' });
  }
  return Number(m[1]);
}

function installTrampoline(mem: TaskMemory, site: bigint): Buffer {
  const original = Buffer.alloc(TRAMPOLINE.length);
  if (mem.read(site, original) !== original.length) throw new CriuError(`task ${mem.pid}: cannot read trampoline site 0x${site.toString(16)}`);
  if (original.equals(TRAMPOLINE)) {
    throw new CriuError(`task ${mem.pid}: a trampoline is already at 0x${site.toString(16)} (another injector open?)`, { code: 'EBUSY' });
  }
  if (mem.write(site, TRAMPOLINE) !== TRAMPOLINE.length) throw new CriuError(`task ${mem.pid}: cannot write trampoline at 0x${site.toString(16)}`);
  return original;
}

function argRegs(nr: number, args: readonly SyscallArg[]): Partial<X86Regs> {
  if (args.length > 6) throw new RangeError(`a syscall takes at most 6 arguments, got ${args.length}`);
  const [rdi = 0n, rsi = 0n, rdx = 0n, r10 = 0n, r8 = 0n, r9 = 0n] = args.map((a) => BigInt.asUintN(64, BigInt(a)));
  return { rax: BigInt(nr), orig_rax: BigInt.asUintN(64, -1n), rdi, rsi, rdx, r10, r8, r9 };
}

function describe(nr: number, args: readonly BatchArg[], result: bigint): string {
  const shown = args.map((a) => (isResultRef(a) ? `[result ${a.result}]` : typeof a === 'bigint' && a > 0xffffn ? `0x${a.toString(16)}` : String(a)));
  return `${syscallName(nr)}(${shown.join(', ')}) = ${result}`;
}

/**
 * The registers release() writes back. Normally the saved ones. At a
 * syscall-entry stop the syscall has not run yet, but after our trap the
 * task resumes from a signal stop, where nothing would run it: rewind rip
 * onto the syscall instruction with rax = its number, so it runs then.
 */
function regsToRestore(tid: number, regs: X86Regs): X86Regs {
  if (syscallStopOf(tid) !== 'entry') return regs;
  return { ...regs, rip: regs.rip - 2n, rax: regs.orig_rax };
}

interface InjectorState {
  saved: Saved;
  /** the registers at open: the base every injected call's registers are made from */
  regs: X86Regs;
  mem: TaskMemory;
  ctx: TrapContext;
  log: Logger;
  scratches: Scratch[];
  /** the batch code and results areas, grown on demand */
  batch: BatchArea | undefined;
  /** the injector whose batch area this one uses (sharesMemoryWith) */
  lender: InjectorState | undefined;
  /** the batch area is the caller's (InjectorOptions.batchArea): never grown nor unmapped */
  fixedBatch: boolean;
  open: boolean;
  /** trips into the task so far (one per injected call or batch), logged at release (-v4) */
  trips: number;
}

/** Saves what we change, blocks signals and writes the trampoline; undoes it all on failure. */
function prepare(tid: number, options: InjectorOptions): InjectorState {
  const log = options.log ?? defaultLogger('inject');
  const lender = options.sharesMemoryWith === undefined ? undefined : injectorStates.get(options.sharesMemoryWith);
  if (options.sharesMemoryWith !== undefined && (lender === undefined || !lender.open)) {
    throw new CriuError(`thread ${tid}: the injector it would share memory with is not open`, { code: 'ERELEASED' });
  }
  const borrowsTrampoline = lender !== undefined && options.site === undefined;
  const regs = ptraceGetRegs(tid);
  const saved: Saved = {
    tid,
    pid: tgidOf(tid),
    regs: regsToRestore(tid, regs),
    sigmask: ptraceGetSigmask(tid),
    site: options.site ?? lender?.saved.site ?? findTrampolineSite(tid).addr,
    code: null,
    stops: 0,
  };
  if (lender !== undefined && lender.saved.pid !== saved.pid) {
    throw new CriuError(`thread ${tid} (process ${saved.pid}) cannot share the memory of process ${lender.saved.pid}'s injector`, { code: 'EINVAL' });
  }
  const mem = openTaskMemory(tid, { write: true });
  try {
    ptraceSetSigmask(tid, ALL_SIGNALS);
    if (!borrowsTrampoline) saved.code = installTrampoline(mem, saved.site);
  } catch (error) {
    try {
      restoreTask(saved, mem);
    } catch (undoError) {
      log.error(`task ${tid}: could not undo a failed injector open: ${String(undoError)}`);
    }
    throw error;
  }
  log.debug(`task ${tid}: trampoline at 0x${saved.site.toString(16)}${borrowsTrampoline ? ` (thread ${lender!.saved.tid}'s)` : ''}`);
  const ctx: TrapContext = { tid, site: saved.site, timeoutMs: options.timeoutMs ?? 10_000, log, deferred: [], events: [] };
  const fixed = options.batchArea;
  const batch = fixed === undefined ? undefined : { code: { addr: fixed.code, size: fixed.codeSize }, results: scratchAt(fixed.results, fixed.resultsSize, mem) };
  return { saved, regs, mem, ctx, log, scratches: [], batch, lender, fixedBatch: fixed !== undefined, open: true, trips: 0 };
}

function injectSyscall(state: InjectorState, nr: number, args: readonly SyscallArg[]): bigint {
  const { saved, log } = state;
  if (!state.open) throw new CriuError(`task ${saved.tid}: injector already released`, { code: 'ERELEASED' });
  ptraceSetRegs(saved.tid, { ...state.regs, rip: saved.site, ...argRegs(nr, args) });
  state.trips++;
  const result = signed64(runToTrap(state.ctx).rax);
  if (log.enabled(LogLevel.debug)) log.debug(`task ${saved.tid}: ${describe(nr, args, result)}`);
  return result;
}

function injectCall(state: InjectorState, name: string, nr: number, args: readonly SyscallArg[] = []): bigint {
  const result = injectSyscall(state, nr, args);
  if (result < 0n && result >= -4095n) throw new SyscallError({ syscall: name, errno: Number(-result), pid: state.saved.tid });
  return result;
}

/** A batch area for at least `calls` calls (code + results), mapped or grown on demand. */
function batchArea(state: InjectorState, calls: number): BatchArea {
  if (state.lender !== undefined) {
    if (!state.lender.open) throw new CriuError(`task ${state.saved.tid}: the injector it shares memory with is released`, { code: 'ERELEASED' });
    return batchArea(state.lender, calls);
  }
  const call = (name: string, nr: number, args?: SyscallArg[]): bigint => injectCall(state, name, nr, args);
  const current = state.batch;
  const fits = (area: BatchArea): boolean => area.results.size >= calls * 8 && area.code.size >= calls * MAX_CALL_CODE_BYTES + 1;
  if (current !== undefined && fits(current)) return current;
  if (current !== undefined) call('munmap', SYS.munmap, [current.code.addr, current.code.size]);
  const room = Math.max(calls, 64);
  const results = mapScratch(room * 8, call, state.mem);
  state.scratches.push(results);
  state.batch = { code: mapBatchCode(room * MAX_CALL_CODE_BYTES + 1, call), results };
  return state.batch;
}

/**
 * Calls first..first+count-1 as a batch of their own: a result reference to
 * a call before `first` becomes the number that call answered (in
 * `results`), one inside is shifted.
 */
function tripOf<T extends BatchCall>(calls: readonly T[], first: number, count: number, results: readonly bigint[]): T[] {
  return calls.slice(first, first + count).map((call) => ({
    ...call,
    args: call.args?.map((arg) => (!isResultRef(arg) ? arg : arg.result < first ? results[arg.result]! : { result: arg.result - first })),
  }));
}

/** How many calls one trip through a fixed batch area can run. */
function fixedCapacity(area: BatchArea): number {
  return Math.min(Math.floor(area.results.size / 8), Math.floor((area.code.size - 1) / MAX_CALL_CODE_BYTES));
}

function injectBatch(state: InjectorState, calls: readonly BatchCall[]): bigint[] {
  const { saved } = state;
  if (!state.open) throw new CriuError(`task ${saved.tid}: injector already released`, { code: 'ERELEASED' });
  if (calls.length === 0) return [];
  const owner = state.lender ?? state;
  if (!owner.fixedBatch) return injectBatchTrip(state, calls, batchArea(state, calls.length));
  const area = owner.batch!;
  const capacity = fixedCapacity(area);
  const results: bigint[] = [];
  for (let first = 0; first < calls.length; first += capacity) results.push(...injectBatchTrip(state, tripOf(calls, first, capacity, results), area));
  return results;
}

function injectBatchTrip(state: InjectorState, calls: readonly BatchCall[], area: BatchArea): bigint[] {
  const { saved, log } = state;
  const code = assembleBatch(calls, area.results.addr);
  writeBatchCode(state.mem, area, code);
  ptraceSetRegs(saved.tid, { ...state.regs, rip: area.code.addr, orig_rax: BigInt.asUintN(64, -1n) });
  state.trips++;
  runToTrap(state.ctx, { start: area.code.addr, end: area.code.addr + BigInt(code.length) });
  const raw = area.results.read(calls.length * 8);
  const results = calls.map((_, i) => signed64(raw.readBigUInt64LE(i * 8)));
  if (log.enabled(LogLevel.debug)) {
    calls.forEach((c, i) => log.debug(`task ${saved.tid}: [batch] ${describe(c.nr, c.args ?? [], results[i]!)}`));
  }
  return results;
}

function releaseInjector(state: InjectorState): void {
  if (!state.open) return;
  const call = (name: string, nr: number, args?: SyscallArg[]): bigint => injectCall(state, name, nr, args);
  try {
    requeueDeferred(state.ctx, state.saved, (size) => mapScratch(size, call, state.mem), call);
    for (const scratch of state.scratches) call('munmap', SYS.munmap, [scratch.addr, scratch.size]);
    if (state.batch !== undefined && !state.fixedBatch) call('munmap', SYS.munmap, [state.batch.code.addr, state.batch.code.size]);
  } finally {
    state.open = false;
    restoreTask(state.saved, state.mem);
    state.log.debug(`task ${state.saved.tid}: released after ${state.trips} injected round trip(s)`);
  }
}

const injectorStates = new WeakMap<Injector, InjectorState>();

/** Prepares a seized, stopped thread for injected syscalls (see the file comment). */
export function openInjector(tid: number, options: InjectorOptions = {}): Injector {
  const state = prepare(tid, options);
  const call = (name: string, nr: number, args?: SyscallArg[]): bigint => injectCall(state, name, nr, args);
  const injector: Injector = {
    tid,
    pid: state.saved.pid,
    site: state.saved.site,
    savedRegs: state.regs,
    events: state.ctx.events,
    syscall: (nr, ...args) => injectSyscall(state, nr, args),
    call,
    batch: (calls) => injectBatch(state, calls),
    scratch: (size) => {
      const scratch = mapScratch(size, call, state.mem);
      state.scratches.push(scratch);
      return scratch;
    },
    release: () => releaseInjector(state),
  };
  injectorStates.set(injector, state);
  return injector;
}

/** A call of a checked batch: its name for the error, its number and arguments. */
export interface NamedCall extends BatchCall {
  name: string;
}

/** Calls per trip of callsChecked: bounds the batch area (code and results) mapped in the task. */
const CHECKED_BATCH_CALLS = 256;

/** Throws SyscallError naming the first of `calls` whose result is an errno (-4095..-1). */
export function checkResults(injector: Injector, calls: readonly NamedCall[], results: readonly bigint[]): void {
  results.forEach((result, i) => {
    if (result < 0n && result >= -4095n) throw new SyscallError({ syscall: calls[i]!.name, errno: Number(-result), pid: injector.tid });
  });
}

/**
 * Runs `calls` in as few trips into the task as the batch area allows and
 * throws SyscallError naming the first that failed (the calls after it in
 * its trip have run too: use it for calls whose failure fails the whole
 * operation). Returns the results in order.
 */
export function callsChecked(injector: Injector, calls: readonly NamedCall[]): bigint[] {
  const results: bigint[] = [];
  for (let first = 0; first < calls.length; first += CHECKED_BATCH_CALLS) {
    const chunk = tripOf(calls, first, CHECKED_BATCH_CALLS, results);
    const single = chunk.length === 1 ? chunk[0]!.args?.every((arg) => !isResultRef(arg)) ?? true : false;
    const got = single ? [injector.syscall(chunk[0]!.nr, ...((chunk[0]!.args ?? []) as SyscallArg[]))] : injector.batch(chunk);
    checkResults(injector, chunk, got);
    results.push(...got);
  }
  return results;
}

/** batchOnThreads over groups of jobs that fit `capacity` calls each (a job larger than that runs alone). */
function inGroups(jobs: readonly ThreadBatch[], capacity: number): bigint[][] {
  const results: bigint[][] = [];
  let group: ThreadBatch[] = [];
  let calls = 0;
  const flush = (): void => {
    if (group.length > 0) results.push(...batchOnThreads(group));
    group = [];
    calls = 0;
  };
  for (const job of jobs) {
    if (job.calls.length > capacity) {
      flush();
      results.push(job.injector.batch(job.calls));
      continue;
    }
    if (calls + job.calls.length > capacity) flush();
    group.push(job);
    calls += job.calls.length;
  }
  flush();
  return results;
}

/** One thread's batch for batchOnThreads. */
export interface ThreadBatch {
  injector: Injector;
  calls: readonly BatchCall[];
}

/**
 * Runs one batch on each of several threads of one process at the same
 * time: every thread's code (its own results slots) goes into one batch
 * area of theirs, all threads are started, then each is waited for — one
 * trip's latency for all instead of one each. The injectors must share
 * one batch area (sharesMemoryWith the same one, or be it). If any thread
 * fails, every other is still waited for before the first error is thrown.
 * Results per thread, in order.
 */
export function batchOnThreads(jobs: readonly ThreadBatch[]): bigint[][] {
  const states = jobs.map((job) => {
    const state = injectorStates.get(job.injector);
    if (state === undefined || !state.open) throw new CriuError(`thread ${job.injector.tid}: injector not open`, { code: 'ERELEASED' });
    return state;
  });
  const owner = states[0]?.lender ?? states[0];
  if (owner === undefined) return [];
  if (states.some((state) => (state.lender ?? state) !== owner) || jobs.length === 1) return jobs.map((job) => job.injector.batch(job.calls));
  const total = jobs.reduce((sum, job) => sum + job.calls.length, 0);
  const area = owner.fixedBatch ? owner.batch! : batchArea(owner, total);
  if (owner.fixedBatch && total > fixedCapacity(area)) return inGroups(jobs, fixedCapacity(area));
  const blocks: { start: bigint; end: bigint; results: number }[] = [];
  const codes: Buffer[] = [];
  let codeAt = 0;
  let resultsAt = 0;
  for (const job of jobs) {
    const code = assembleBatch(job.calls, area.results.addr + BigInt(resultsAt));
    const start = area.code.addr + BigInt(codeAt);
    blocks.push({ start, end: start + BigInt(code.length), results: resultsAt });
    codes.push(code);
    codeAt += code.length;
    resultsAt += job.calls.length * 8;
  }
  writeBatchCode(owner.mem, area, Buffer.concat(codes));
  const started: number[] = [];
  let failure: unknown;
  states.forEach((state, i) => {
    if (failure !== undefined) return;
    try {
      ptraceSetRegs(state.saved.tid, { ...state.regs, rip: blocks[i]!.start, orig_rax: BigInt.asUintN(64, -1n) });
      state.trips++;
      ptraceCont(state.saved.tid);
      started.push(i);
    } catch (error) {
      failure = error;
    }
  });
  for (const i of started) {
    try {
      awaitTrap(states[i]!.ctx, { start: blocks[i]!.start, end: blocks[i]!.end });
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
  const raw = area.results.read(resultsAt);
  return jobs.map((job, i) => {
    const results = job.calls.map((_, k) => signed64(raw.readBigUInt64LE(blocks[i]!.results + k * 8)));
    const { log, saved } = states[i]!;
    if (log.enabled(LogLevel.debug)) job.calls.forEach((c, k) => log.debug(`task ${saved.tid}: [batch, beside ${jobs.length - 1} other thread(s)] ${describe(c.nr, c.args ?? [], results[k]!)}`));
    return results;
  });
}

/**
 * The threads `tids` of the leader's process, `perGroup` at a time (as
 * many as the caller's scratch holds answers for): each group's injectors
 * are opened on the leader's trampoline and batch area (sharesMemoryWith),
 * given to `fn` with the index in `tids` of the group's first thread, and
 * released whatever happens — ready for batchOnThreads.
 */
export function inThreadGroups(
  leader: Injector, tids: readonly number[], perGroup: number, log: Logger | undefined, fn: (injectors: readonly Injector[], first: number) => void,
): void {
  const size = Math.max(1, perGroup);
  for (let first = 0; first < tids.length; first += size) {
    const injectors: Injector[] = [];
    try {
      for (const tid of tids.slice(first, first + size)) injectors.push(openInjector(tid, { sharesMemoryWith: leader, log }));
      fn(injectors, first);
    } finally {
      for (const injector of injectors) injector.release();
    }
  }
}

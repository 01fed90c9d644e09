// Test support (not built): dump a process tree with the real
// freezer and memory kind, plus a minimal core-PID.img of our own (general
// registers, FXSAVE area, blocked signals, sigactions, clear-tid address),
// for restore tests that must not depend on the full core kind. Writes
// pstree.img and inventory.img like the dump driver; kills the original.
import { readFileSync } from 'node:fs';
import { SyscallError, createLogger, type Logger } from '@criu-ts/base';
import { freezeTree, killTasks, liveThreads } from '@criu-ts/dump';
import { CoreEntryMarch, createImage, imagePath, writeImage, type ImageWriter, type KindName, type Messages } from '@criu-ts/images';
import { openInjector, type Injector } from '@criu-ts/inject';
import {
  PR, SIG, SYS, WAIT, sleepSync, waitpid, ptraceGetFpRegs, ptraceGetRegs, ptraceGetSigmask, type X86Regs,
} from '@criu-ts/kernel';
import { emptyStats, memoryKind, type DumpContext, type DumpOptions, type DumpTask } from '@criu-ts/kinds';

export const quietLog = (): Logger => createLogger({ fd: 2, level: 0, withPid: false, start: process.hrtime.bigint() }, 'test');

function gpregs(r: X86Regs): Messages['user_x86_regs_entry'] {
  return {
    r15: r.r15, r14: r.r14, r13: r.r13, r12: r.r12, bp: r.rbp, bx: r.rbx, r11: r.r11, r10: r.r10, r9: r.r9, r8: r.r8,
    ax: r.rax, cx: r.rcx, dx: r.rdx, si: r.rsi, di: r.rdi, orig_ax: r.orig_rax, ip: r.rip, cs: r.cs, flags: r.eflags,
    sp: r.rsp, ss: r.ss, fs_base: r.fs_base, gs_base: r.gs_base, ds: r.ds, es: r.es, fs: r.fs, gs: r.gs,
  };
}

function words(buf: Buffer, offset: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => buf.readUInt32LE(offset + i * 4));
}

function fpregs(fx: Buffer): Messages['user_x86_fpregs_entry'] {
  return {
    cwd: fx.readUInt16LE(0), swd: fx.readUInt16LE(2), twd: fx.readUInt16LE(4), fop: fx.readUInt16LE(6),
    rip: fx.readBigUInt64LE(8), rdp: fx.readBigUInt64LE(16), mxcsr: fx.readUInt32LE(24), mxcsr_mask: fx.readUInt32LE(28),
    st_space: words(fx, 32, 32), xmm_space: words(fx, 160, 64), padding: words(fx, 416, 24),
  };
}

function sigactions(injector: Injector): Messages['sa_entry'][] {
  const page = injector.scratch(32);
  const entries: Messages['sa_entry'][] = [];
  for (let sig = 1; sig <= 64; sig++) {
    if (sig === SIG.KILL || sig === SIG.STOP) continue;
    injector.call('rt_sigaction', SYS.rt_sigaction, [sig, 0, page.addr, 8]);
    const act = page.read(32);
    entries.push({ sigaction: act.readBigUInt64LE(0), flags: act.readBigUInt64LE(8), restorer: act.readBigUInt64LE(16), mask: act.readBigUInt64LE(24) });
  }
  return entries;
}

interface ThreadState {
  regs: X86Regs;
  fx: Buffer;
  sigmask: bigint;
}

function threadState(tid: number): ThreadState {
  return { regs: ptraceGetRegs(tid), fx: ptraceGetFpRegs(tid), sigmask: ptraceGetSigmask(tid) };
}

function tidAddress(injector: Injector): bigint {
  const out = injector.scratch(8);
  injector.call('prctl', SYS.prctl, [PR.GET_TID_ADDRESS, out.addr, 0, 0, 0]);
  return out.read(8).readBigUInt64LE(0);
}

function threadCore(tid: number, state: ThreadState, injector: Injector): Messages['core_entry'] {
  return {
    mtype: CoreEntryMarch.X86_64,
    thread_info: { clear_tid_addr: tidAddress(injector), gpregs: gpregs(state.regs), fpregs: fpregs(state.fx) },
    thread_core: { futex_rla: 0n, futex_rla_len: 0, blk_sigset: state.sigmask, comm: readFileSync(`/proc/${tid}/comm`, 'utf8').trim() },
  };
}

function dumpContext(dir: string, log: Logger, tasks: DumpTask[], injectors: Map<number, Injector>, writers: Map<string, ImageWriter>): DumpContext {
  const options: DumpOptions = {
    imagesDir: dir, shellJob: false, ghostLimit: 1 << 20, linkRemap: false, fileLocks: false, tcpEstablished: false,
    extUnixSk: false, fileValidation: 'filesize', preDump: false,
  };
  const tables = new Map<string, unknown>();
  let id = 0;
  return {
    options, log, tasks,
    stats: emptyStats(),
    image: (kind: KindName, imageId?: number | bigint) => {
      const path = imagePath(dir, kind, imageId);
      if (!writers.has(path)) writers.set(path, createImage(path, kind));
      return writers.get(path)!;
    },
    nextId: () => ++id,
    injector: (tid) => {
      if (!injectors.has(tid)) injectors.set(tid, openInjector(tid, { log }));
      return injectors.get(tid)!;
    },
    shared: <T>(key: string, create: () => T): T => {
      if (!tables.has(key)) tables.set(key, create());
      return tables.get(key) as T;
    },
  };
}

/** Dumps the tree rooted at `pid` into dir (threads included), then kills it. */
export function harnessDump(pid: number, dir: string, log: Logger = quietLog()): void {
  const tree = freezeTree(pid, { log, timeoutMs: 10_000 });
  const states = new Map(liveThreads(tree).map((thread) => [thread.tid, threadState(thread.tid)]));
  const injectors = new Map<number, Injector>();
  const writers = new Map<string, ImageWriter>();
  const tasks = tree.tasks as DumpTask[];
  try {
    const ctx = dumpContext(dir, log, tasks, injectors, writers);
    for (const task of tasks) {
      memoryKind.dump(ctx, task, { ids: {} });
      for (const [i, thread] of task.threads.entries()) {
        const state = states.get(thread.tid)!;
        // one injector per process at a time: each thread's own, released before the next
        const injector = i === 0 ? ctx.injector(task.pid) : openInjector(thread.tid, { log });
        const core = threadCore(thread.tid, state, injector);
        if (i === 0) core.tc = { task_state: 1, exit_code: 0, personality: 0, flags: 0, blk_sigset: state.sigmask, comm: core.thread_core!.comm!, sigactions: sigactions(injector) };
        else injector.release();
        writeImage(imagePath(dir, 'core', thread.tid), 'core', [core]);
        if (i === 0) injectors.get(task.pid)?.release();
        injectors.delete(task.pid);
      }
    }
    const entries = tasks.map((t) => ({ pid: t.pid, ppid: t.ppid, pgid: t.pgid, sid: t.sid, threads: t.threads.map((th) => th.tid) }));
    writeImage(imagePath(dir, 'pstree'), 'pstree', entries);
    writeImage(imagePath(dir, 'inventory'), 'inventory', [{ img_version: 2, fdinfo_per_id: true, ns_per_id: true, lsmtype: 0 }]);
    for (const writer of writers.values()) writer.close();
  } finally {
    for (const injector of injectors.values()) injector.release();
  }
  const threads = liveThreads(tree);
  killTasks(tasks.map((t) => t.pid), threads, log);
  // as their tracer, we collect the killed threads (a traced thread's exit waits for its tracer)
  for (const thread of threads) reapTraced(thread.tid);
}

function reapTraced(tid: number): void {
  for (let i = 0; i < 500; i++) {
    try {
      if (waitpid(tid, WAIT.__WALL | WAIT.WNOHANG) !== null) return;
    } catch (error) {
      if (error instanceof SyscallError && error.errno === 10) return;
      throw error;
    }
    sleepSync(5);
  }
}

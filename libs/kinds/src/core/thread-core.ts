// One thread's part of core-TID.img: thread_info (registers, FPU/XSAVE
// state, GDT TLS slots, clear_child_tid address) and thread_core (robust
// futex list, scheduling policy/priority/nice, alternate signal stack,
// parent-death signal, private pending signals, credentials, thread name,
// rseq registration); seccomp fields: seccomp.ts. Not saved: LSM labels,
// cgroup set, timer slack.
// See ptrace(2), sigaltstack(2), set_robust_list(2), sched(7), rseq(2).
import { readFileSync } from 'node:fs';
import type { Messages } from '@criu-ts/images';
import {
  NT, PRIO, SCHED, SYS, getpriority, ptraceGetRegset, schedGetparam, schedGetscheduler, syscall, type X86Regs,
} from '@criu-ts/kernel';
import { readStatus } from '@criu-ts/proc';
import { credsEntry } from './creds.js';
import type { RseqEntry } from './rseq.js';
import { queueEntry } from './signals.js';
import type { TaskCalls } from './task-calls.js';
import { fpregsFromXstate, type XsaveLayout } from './x86-fpu.js';
import { gpregsEntry, readTlsSlots, tlsEntries } from './x86-regs.js';

export type ThreadCore = Messages['thread_core_entry'];
export type ThreadInfo = Messages['thread_info_x86'];

/** Large enough for any XSAVE area the kernel reports (AMX included). */
const XSTATE_MAX = 16384;

/** What was read from a thread before anything was injected into it. */
export interface ThreadBefore {
  tid: number;
  sigmask: bigint;
  /** the private queue, the caught-in-delivery signal first */
  pending: Buffer[];
}

function robustList(tid: number): { head: bigint; len: number } {
  const head = Buffer.alloc(8);
  const len = Buffer.alloc(8);
  syscall(SYS.get_robust_list, tid, head, len);
  return { head: head.readBigUInt64LE(0), len: Number(len.readBigUInt64LE(0)) };
}

function schedInfo(tid: number): Pick<ThreadCore, 'sched_policy' | 'sched_prio' | 'sched_nice'> {
  const policy = schedGetscheduler(tid);
  const info: Pick<ThreadCore, 'sched_policy' | 'sched_prio' | 'sched_nice'> = { sched_policy: policy, sched_nice: getpriority(tid, PRIO.PROCESS) };
  const base = policy & ~SCHED.RESET_ON_FORK;
  if (base === SCHED.FIFO || base === SCHED.RR) info.sched_prio = schedGetparam(tid);
  return info;
}

function threadComm(pid: number, tid: number): string {
  return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').replace(/\n$/, '');
}

/** The FPU state from the XSAVE regset (uncompacted format). */
function fpregs(tid: number, layout: XsaveLayout): ThreadInfo['fpregs'] {
  return fpregsFromXstate(ptraceGetRegset(tid, NT.X86_XSTATE, XSTATE_MAX), layout);
}

/** thread_info_x86 from the registers the injector saved (the thread's own, not an injected call's). */
export function threadInfo(tid: number, regs: X86Regs, calls: TaskCalls, layout: XsaveLayout): ThreadInfo {
  return {
    clear_tid_addr: calls.tidAddress(),
    gpregs: gpregsEntry(regs),
    fpregs: fpregs(tid, layout),
    tls: tlsEntries(readTlsSlots(tid)),
  };
}

function sasEntry(stack: Buffer): NonNullable<ThreadCore['sas']> {
  return { ss_sp: stack.readBigUInt64LE(0), ss_flags: stack.readInt32LE(8) >>> 0, ss_size: stack.readBigUInt64LE(16) };
}

export interface ThreadCoreParts {
  before: ThreadBefore;
  calls: TaskCalls;
  rseq: RseqEntry;
  /** non-leaders keep their signal mask here; the leader's is tc.blk_sigset */
  withSigmask: boolean;
}

/** thread_core_entry of one thread. */
export function threadCore(pid: number, parts: ThreadCoreParts): ThreadCore {
  const { before, calls } = parts;
  const { tid } = before;
  const futex = robustList(tid);
  const pdeath = calls.pdeathSignal();
  const core: ThreadCore = {
    futex_rla: futex.head,
    futex_rla_len: futex.len,
    ...schedInfo(tid),
    sas: sasEntry(calls.sigaltstack()),
    signals_p: queueEntry(before.pending),
    creds: credsEntry(readStatus(pid, tid), calls.securebits()),
    comm: threadComm(pid, tid),
    rseq_entry: parts.rseq,
  };
  if (pdeath !== 0) core.pdeath_sig = pdeath;
  if (parts.withSigmask) core.blk_sigset = before.sigmask;
  return core;
}

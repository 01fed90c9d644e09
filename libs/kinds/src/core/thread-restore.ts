// A thread's own part of thread_core_entry put back: scheduling policy,
// priority and nice (sched_setscheduler(2), setpriority(2), set from the
// tool), then, last of all, from inside the thread: its pending signals,
// personality, credentials (creds-restore.ts) and parent-death signal,
// which a change of credentials clears. Seccomp filters and modes are put
// back just before (seccomp-restore.ts).
// See sched(7), personality(2), prctl(2) PR_SET_PDEATHSIG.
import { readFileSync } from 'node:fs';
import { UnsupportedError, type Logger } from '@criu-ts/base';
import type { Messages } from '@criu-ts/images';
import { PR, PRIO, SCHED, SIGINFO_SIZE, SYS, syscall } from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';
import { readStatus } from '@criu-ts/proc';
import type { TaskScratch } from '../restore-context.js';
import { checkCreds, credsCalls, credsScratch } from './creds-restore.js';
import { runChecked, type NamedCall } from './injected-batch.js';
import { queueCalls, queueSignals, queuedSiginfos } from './signals-restore.js';

type CoreEntry = Messages['core_entry'];
type ThreadCore = Messages['thread_core_entry'];

/** Policy, real-time priority and nice of thread tid, set from the tool. */
export function restoreSched(tid: number, core: ThreadCore | undefined): void {
  if (core === undefined) return;
  const policy = core.sched_policy ?? SCHED.NORMAL;
  if ((policy & ~SCHED.RESET_ON_FORK) === SCHED.DEADLINE) throw new UnsupportedError({ pid: tid, kind: 'SCHED_DEADLINE scheduling' });
  if (core.sched_nice !== undefined) syscall(SYS.setpriority, PRIO.PROCESS, tid, core.sched_nice);
  const param = Buffer.alloc(4);
  param.writeInt32LE(core.sched_prio ?? 0, 0);
  syscall(SYS.sched_setscheduler, tid, policy, param);
}

/** /proc/sys/kernel/cap_last_cap */
export function readLastCap(): number {
  return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
}

export interface ThreadLastInput {
  injector: Injector;
  scratch: TaskScratch;
  log: Logger;
  /** the thread's core image and its path (for messages) */
  core: CoreEntry;
  image: string;
  personality: number;
  lastCap: number;
}

/** Personality, credentials and parent-death signal of the thread, their structs in the scratch from `offset`. */
function finalCalls(input: ThreadLastInput, thread: ThreadCore | undefined, offset: number): NamedCall[] {
  const { injector, scratch } = input;
  const calls: NamedCall[] = [{ name: 'personality', nr: SYS.personality, args: [input.personality] }];
  const creds = thread?.creds;
  if (creds !== undefined) {
    checkCreds(injector.tid, creds, readStatus(injector.pid, injector.tid).CapPrm, input.lastCap);
    const addr = scratch.write(credsScratch(creds).bytes, offset);
    calls.push(...credsCalls(creds, addr, input.lastCap));
  } else {
    input.log.debug(`thread ${injector.tid}: no credentials in ${input.image}; left as they are`);
  }
  if (thread?.pdeath_sig) calls.push({ name: 'prctl(PR_SET_PDEATHSIG)', nr: SYS.prctl, args: [PR.SET_PDEATHSIG, thread.pdeath_sig, 0, 0, 0] });
  return calls;
}

function credsBytes(thread: ThreadCore | undefined): number {
  return thread?.creds === undefined ? 0 : Math.ceil(credsScratch(thread.creds).bytes.length / 8) * 8;
}

/** The scratch bytes a thread's last calls need (threadLastCalls): its credentials' structs, then its own pending siginfos. */
export function threadLastBytes(core: CoreEntry, image: string): number {
  const thread = core.thread_core;
  return credsBytes(thread) + queuedSiginfos(thread?.signals_p, image).length * SIGINFO_SIZE;
}

/**
 * What comes last in a thread, as one batch: its own pending signals, then
 * personality, credentials, pdeath signal; the structs written into the
 * scratch from `offset` (threadLastBytes of them).
 */
export function threadLastCalls(input: ThreadLastInput, offset: number): NamedCall[] {
  const thread = input.core.thread_core;
  const signals = queueCalls(input.injector, input.scratch, queuedSiginfos(thread?.signals_p, input.image), false, offset + credsBytes(thread));
  return [...signals, ...finalCalls(input, thread, offset)];
}

/** What comes last in a thread: its own pending signals, then personality, credentials, pdeath signal. */
export function restoreThreadLast(input: ThreadLastInput): void {
  if (threadLastBytes(input.core, input.image) <= input.scratch.size) {
    runChecked(input.injector, threadLastCalls(input, 0));
    return;
  }
  const thread = input.core.thread_core;
  queueSignals(input.injector, input.scratch, queuedSiginfos(thread?.signals_p, input.image), false);
  runChecked(input.injector, finalCalls(input, thread, 0));
}

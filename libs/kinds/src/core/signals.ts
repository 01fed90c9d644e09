// Pending signals of a frozen task (signal_queue_entry: one raw 128-byte
// siginfo per queued signal, in queue order), read without dequeuing them
// with PTRACE_PEEKSIGINFO: each thread's private queue goes into its
// thread_core.signals_p, the process-wide queue into the leader's
// tc.signals_s. A signal the freezer caught in delivery (the thread's
// pendingStopSignal) was already dequeued; it is saved first in the
// thread's private queue so it is delivered again after restore. See
// ptrace(2) PTRACE_PEEKSIGINFO, signal(7).
import type { Messages } from '@criu-ts/images';
import { SIGINFO_SIZE, SI, ptraceGetSiginfo, ptracePeekSiginfo } from '@criu-ts/kernel';

export type SignalQueue = Messages['signal_queue_entry'];

/** How many siginfos one PTRACE_PEEKSIGINFO asks for. */
const BATCH = 32;

/** The whole private (shared = false) or process-wide queue of a thread, oldest first. */
export function peekQueue(tid: number, shared: boolean): Buffer[] {
  const all: Buffer[] = [];
  for (;;) {
    const got = ptracePeekSiginfo(tid, { offset: all.length, count: BATCH, shared });
    all.push(...got.map((si) => Buffer.from(si)));
    if (got.length < BATCH) return all;
  }
}

/** A siginfo for a signal of which only the number is known: as kill(2) from pid 0 would send it. */
export function plainSiginfo(signo: number): Buffer {
  const si = Buffer.alloc(SIGINFO_SIZE);
  si.writeInt32LE(signo, 0);
  si.writeInt32LE(0, 4);
  si.writeInt32LE(SI.USER, 8);
  return si;
}

/**
 * The siginfo of the signal a thread was stopped delivering: the real one
 * while the thread still sits in that signal-delivery stop (nothing was
 * injected into it yet), else a plain SI_USER one for the same signal.
 */
export function stopSignalSiginfo(tid: number, signo: number): Buffer {
  const current = ptraceGetSiginfo(tid);
  return current.readInt32LE(0) === signo ? Buffer.from(current) : plainSiginfo(signo);
}

export function queueEntry(siginfos: readonly Buffer[]): SignalQueue {
  return { signals: siginfos.map((siginfo) => ({ siginfo: new Uint8Array(siginfo) })) };
}

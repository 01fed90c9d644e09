// Queueing a task's pending signals again (signal_queue_entry: raw 128-byte
// siginfos, oldest first): the process-wide queue (tc.signals_s) with
// rt_sigqueueinfo(2) from the leader, each thread's own queue
// (thread_core.signals_p) with rt_tgsigqueueinfo(2) from that thread. As
// upstream CRIU does, the calls run inside the task itself: the kernel
// lets only a task send itself a siginfo with si_code >= 0 (SI_USER,
// SI_KERNEL), so the sender fields come back as they were. Signals stay
// blocked while the restore injects calls (the injector blocks them); the
// thread's own mask is set just before it is let go.
import { ImageError } from '@criu-ts/base';
import { SIGINFO_SIZE, SYS } from '@criu-ts/kernel';
import { nsTidOf, type Injector } from '@criu-ts/inject';
import type { TaskScratch } from '../restore-context.js';
import { runChecked, type NamedCall } from './injected-batch.js';
import type { SignalQueue } from './signals.js';

/** The queue's siginfos, checked (size, signal number). */
export function queuedSiginfos(queue: SignalQueue | undefined, image: string): Buffer[] {
  return (queue?.signals ?? []).map((entry, i) => {
    const si = Buffer.from(entry.siginfo);
    if (si.length !== SIGINFO_SIZE) throw new ImageError(`pending signal ${i}: siginfo of ${si.length} bytes, not ${SIGINFO_SIZE}`, { image, offset: 0 });
    const signo = si.readInt32LE(0);
    if (signo < 1 || signo > 64) throw new ImageError(`pending signal ${i}: bad signal number ${signo}`, { image, offset: 0 });
    return si;
  });
}

/**
 * Queues the siginfos on injector's thread: process-wide (shared) or to
 * the thread itself. As many per batch as the scratch holds.
 */
export function queueSignals(injector: Injector, scratch: TaskScratch, siginfos: readonly Buffer[], shared: boolean): void {
  const perBatch = Math.floor(scratch.size / SIGINFO_SIZE);
  for (let first = 0; first < siginfos.length; first += perBatch) {
    runChecked(injector, queueCalls(injector, scratch, siginfos.slice(first, first + perBatch), shared, 0));
  }
}

/**
 * The calls queueing siginfos on injector's thread, each siginfo written
 * into the scratch from `offset` (the caller makes sure they fit).
 */
export function queueCalls(injector: Injector, scratch: TaskScratch, siginfos: readonly Buffer[], shared: boolean, offset: number): NamedCall[] {
  // the calls run inside the task: its pid namespace's pids
  const [pid, tid] = [nsTidOf(injector.pid), nsTidOf(injector.tid)];
  return siginfos.map((si, i) => {
    const addr = scratch.write(si, offset + i * SIGINFO_SIZE);
    const signo = si.readInt32LE(0);
    return shared
      ? { name: `rt_sigqueueinfo(${signo})`, nr: SYS.rt_sigqueueinfo, args: [pid, signo, addr] }
      : { name: `rt_tgsigqueueinfo(${signo})`, nr: SYS.rt_tgsigqueueinfo, args: [pid, tid, signo, addr] };
  });
}

// Restartable sequences (rseq(2)): glibc registers a struct rseq per
// thread, which the kernel writes on every return to user space. A new
// task inherits the helper's registration (a fork keeps it), pointing
// into the helper's memory: it is unregistered before that memory goes,
// or the kernel's next write would kill the task with SIGSEGV. Each
// thread's dumped registration (thread_core_entry.rseq_entry) is made
// again once its memory is back.
import { SYS, ptraceGetRseqConfiguration } from '@criu-ts/kernel';
import type { Messages } from '@criu-ts/images';
import type { Injector } from '@criu-ts/inject';

const RSEQ_FLAG_UNREGISTER = 1;

/** Drops the task's inherited rseq registration, if any. */
export function unregisterRseq(injector: Injector): void {
  const rseq = ptraceGetRseqConfiguration(injector.tid);
  if (rseq.rseqAbiPointer === 0n) return;
  injector.call('rseq', SYS.rseq, [rseq.rseqAbiPointer, rseq.rseqAbiSize, RSEQ_FLAG_UNREGISTER, rseq.signature]);
}

/** Registers the thread's dumped rseq area again (nothing if it had none). */
export function registerRseq(injector: Injector, entry: Messages['rseq_entry'] | undefined): void {
  if (entry === undefined || entry.rseq_abi_pointer === 0n) return;
  injector.call('rseq', SYS.rseq, [entry.rseq_abi_pointer, entry.rseq_abi_size, 0, entry.signature]);
}

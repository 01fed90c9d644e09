// Signal handlers of a task (sigaction(2)), as upstream CRIU 4.x saves them:
// inside the leader's core (tc.sigactions, one sa_entry per signal 1..64
// without SIGKILL and SIGSTOP, in signal order), no longer in the old
// sigacts-PID.img. Handlers are shared by all threads of a thread group.
// Pure decoding of the kernel's struct sigaction (handler, flags, restorer,
// mask: four 64-bit words on x86_64).
import type { Messages } from '@criu-ts/images';
import { ACTION_SIGNALS, KSIGACTION_SIZE } from './task-calls.js';

export type SaEntry = Messages['sa_entry'];

/** One sa_entry from a kernel struct sigaction; native (not compat) task. */
export function saEntry(buf: Buffer, at = 0): SaEntry {
  return {
    sigaction: buf.readBigUInt64LE(at),
    flags: buf.readBigUInt64LE(at + 8),
    restorer: buf.readBigUInt64LE(at + 16),
    mask: buf.readBigUInt64LE(at + 24),
    compat_sigaction: false,
  };
}

/** The 62 sa_entries of TaskCalls.sigactions() output. */
export function saEntries(buf: Buffer): SaEntry[] {
  if (buf.length !== ACTION_SIGNALS.length * KSIGACTION_SIZE) {
    throw new RangeError(`want ${ACTION_SIGNALS.length} struct sigaction (${ACTION_SIGNALS.length * KSIGACTION_SIZE} bytes), got ${buf.length}`);
  }
  return ACTION_SIGNALS.map((_, i) => saEntry(buf, i * KSIGACTION_SIZE));
}

/** The signal numbers whose handler is SIG_IGN (1) or a function (> 1): /proc status SigIgn and SigCgt. */
export function handledMasks(entries: readonly SaEntry[]): { ignored: bigint; caught: bigint } {
  let ignored = 0n;
  let caught = 0n;
  entries.forEach((entry, i) => {
    const bit = 1n << BigInt(ACTION_SIGNALS[i]! - 1);
    if (entry.sigaction === 1n) ignored |= bit;
    else if (entry.sigaction > 1n) caught |= bit;
  });
  return { ignored, caught };
}

// Injected calls named for errors: a batch of system calls run in one trip
// into a thread (Injector.batch), each checked, the first failure thrown as
// a SyscallError naming the call and the thread. Used by the core kind's
// restore half.
import { CriuError, SyscallError } from '@criu-ts/base';
import type { BatchCall, Injector } from '@criu-ts/inject';

export interface NamedCall extends BatchCall {
  /** what an error calls it: 'setresuid', 'prctl(PR_CAPBSET_DROP, 12)', ... */
  name: string;
  /** a result other than this is an error too (setfsuid(-1) answers the current fsuid) */
  expect?: bigint;
}

/** Is a raw syscall result -errno? */
export function isErrno(result: bigint): boolean {
  return result < 0n && result >= -4095n;
}

/** Runs calls in one batch on injector's thread; returns their results; throws on the first failure. */
export function runChecked(injector: Injector, calls: readonly NamedCall[]): bigint[] {
  if (calls.length === 0) return [];
  const results = injector.batch(calls.map(({ nr, args }) => ({ nr, args })));
  checkNamed(injector, calls, results);
  return results;
}

/** Throws the first failure among the results of calls run on injector's thread (see runChecked). */
export function checkNamed(injector: Injector, calls: readonly NamedCall[], results: readonly bigint[]): void {
  results.forEach((result, i) => {
    const call = calls[i]!;
    if (isErrno(result)) throw new SyscallError({ syscall: call.name, errno: Number(-result), pid: injector.tid });
    if (call.expect !== undefined && result !== call.expect) {
      throw new CriuError(`${call.name} pid ${injector.tid}: answered ${result}, not ${call.expect}`, { code: 'EMISMATCH' });
    }
  });
}

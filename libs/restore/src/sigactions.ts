// Signal dispositions (sigaction(2)) from core-PID.img's task_core_entry:
// one sa_entry per signal 1..64 except SIGKILL and SIGSTOP, in that order,
// as criu(8) writes them. A new task has every disposition at its default,
// so only the others are set, with injected rt_sigaction calls (one batch,
// each k_sigaction at its own place in the scratch). The
// extended mask (compat, > 64 signals) does not exist on x86_64.
import { ImageError } from '@criu-ts/base';
import { SIG, SYS } from '@criu-ts/kernel';
import type { Messages } from '@criu-ts/images';
import { callsChecked, type Injector, type NamedCall } from '@criu-ts/inject';
import { putScratch, type TaskArea } from './task-area.js';

type SaEntry = Messages['sa_entry'];

const SIGMAX = 64;
const KSIGACTION_SIZE = 32;

/** The signal numbers sa_entry i stands for. */
export function sigactionSignals(): number[] {
  const signals: number[] = [];
  for (let sig = 1; sig <= SIGMAX; sig++) if (sig !== SIG.KILL && sig !== SIG.STOP) signals.push(sig);
  return signals;
}

/** struct k_sigaction for rt_sigaction(2) on x86_64. */
export function kernelSigaction(sa: SaEntry): Buffer {
  const buf = Buffer.alloc(KSIGACTION_SIZE);
  buf.writeBigUInt64LE(BigInt.asUintN(64, sa.sigaction), 0);
  buf.writeBigUInt64LE(BigInt.asUintN(64, sa.flags), 8);
  buf.writeBigUInt64LE(BigInt.asUintN(64, sa.restorer), 16);
  buf.writeBigUInt64LE(BigInt.asUintN(64, sa.mask), 24);
  return buf;
}

const isDefault = (sa: SaEntry): boolean => sa.sigaction === 0n && sa.flags === 0n && sa.mask === 0n;

/** Sets the task's non-default signal dispositions; returns how many. */
export function restoreSigactions(injector: Injector, area: TaskArea, entries: readonly SaEntry[], image: string): number {
  const signals = sigactionSignals();
  if (entries.length > signals.length) {
    throw new ImageError(`task_core_entry has ${entries.length} sigactions, more than the ${signals.length} signals that have one`, { image, offset: 0 });
  }
  const calls: NamedCall[] = [];
  const actions: Buffer[] = [];
  entries.forEach((sa, i) => {
    if (isDefault(sa)) return;
    const act = area.scratch + BigInt(actions.length * KSIGACTION_SIZE);
    actions.push(kernelSigaction(sa));
    calls.push({ name: `rt_sigaction(${signals[i]!})`, nr: SYS.rt_sigaction, args: [signals[i]!, act, 0, 8] });
  });
  if (calls.length === 0) return 0;
  putScratch(injector.pid, area, Buffer.concat(actions));
  callsChecked(injector, calls);
  return calls.length;
}

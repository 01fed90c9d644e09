// SIGINT and SIGTERM during a dump or restore. A tool that calls
// watchInterrupts() is not killed by them: the signal is noted, and the
// engine fails at its next stage point (stagePoint) exactly as it fails at a
// fault point — a dump puts the tree back and removes its images, a restore
// kills what it made. The engine's work between stage points is synchronous
// (ptrace must come from the main thread), so the signal is seen when the
// current stage ends. SIGKILL cannot be caught: see the README for what it
// leaves.
import { CriuError } from './errors.js';
import { faultPoint, type FaultPointSpec } from './fault.js';

/** A dump or restore stopped by a signal. */
export class InterruptedError extends CriuError {
  readonly signal: NodeJS.Signals;

  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`, { code: 'EINTR', exitCode: 1 });
    this.name = 'InterruptedError';
    this.signal = signal;
  }
}

export interface InterruptWatch {
  /** the first signal received, if any */
  readonly received: NodeJS.Signals | undefined;
  /** stop watching (the default actions apply again) */
  dispose(): void;
}

let current: { received: NodeJS.Signals | undefined } | undefined;

/** Catch SIGINT and SIGTERM from now on; the next stagePoint fails with InterruptedError. */
export function watchInterrupts(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): InterruptWatch {
  const state: { received: NodeJS.Signals | undefined } = { received: undefined };
  const handler = (signal: NodeJS.Signals): void => {
    state.received ??= signal;
  };
  for (const signal of signals) process.on(signal, handler);
  current = state;
  return {
    get received() {
      return state.received;
    },
    dispose() {
      for (const signal of signals) process.off(signal, handler);
      if (current === state) current = undefined;
    },
  };
}

/** Throws InterruptedError if a watched signal has arrived. */
export function checkInterrupted(): void {
  if (current?.received !== undefined) throw new InterruptedError(current.received);
}

/** Lets pending signal handlers run, then fails if a watched signal arrived. */
export async function interruptionPoint(): Promise<void> {
  if (current !== undefined) await new Promise<void>((resolve) => setImmediate(resolve));
  checkInterrupted();
}

/**
 * A stage boundary of the dump or restore engine: lets pending signal
 * handlers run, then fails if a watched signal arrived or CRIU_FAULT selects
 * this point.
 */
export async function stagePoint(point: FaultPointSpec, what?: string): Promise<void> {
  await interruptionPoint();
  faultPoint(point, what);
}

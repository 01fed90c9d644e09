// Runs fuzz targets with fast-check: each target gets its share of the
// inputs, in a private scratch directory; reports inputs, time and the
// first (shrunk) finding of each target.
import fc from 'fast-check';
import { makeScratch, type FuzzTarget } from './target.js';

export interface TargetReport {
  name: string;
  inputs: number;
  /** inputs the reader refused with a typed error */
  rejected: number;
  ms: number;
  /** fast-check's report of the shrunk counterexample, if the target misbehaved */
  failure?: string;
}

export interface FuzzRunOptions {
  /** inputs over all targets */
  total: number;
  /** fast-check seed (a run is reproducible with its seed) */
  seed?: number;
  /** called after each target */
  onTarget?: (report: TargetReport) => void;
}

function runsFor<T>(target: FuzzTarget<T>, targets: readonly FuzzTarget[], total: number): number {
  const weights = targets.reduce((sum, t) => sum + t.weight, 0);
  return Math.max(1, Math.round((total * target.weight) / weights));
}

function describeFailure<T>(details: fc.RunDetails<[T]>): string {
  const error = details.errorInstance;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `\n  cause: ${error.cause.stack ?? error.cause.message}` : '';
  const example = fc.stringify(details.counterexample).slice(0, 400);
  return `  ${message}${cause}\n  replay: seed ${details.seed}, path "${details.counterexamplePath ?? ''}"\n  input: ${example}`;
}

export async function runTarget<T>(target: FuzzTarget<T>, runs: number, seed: number): Promise<TargetReport> {
  const scratch = makeScratch();
  const started = process.hrtime.bigint();
  let inputs = 0;
  let rejected = 0;
  try {
    const property = fc.asyncProperty(target.arbitrary, async (input) => {
      inputs += 1;
      if ((await target.check(input, scratch.dir)) === 'rejected') rejected += 1;
    });
    const details = await fc.check(property, { numRuns: runs, seed, endOnFailure: false });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const failure = details.failed ? describeFailure(details) : undefined;
    return { name: target.name, inputs, rejected, ms, ...(failure === undefined ? {} : { failure }) };
  } finally {
    scratch.remove();
  }
}

export async function runFuzz(targets: readonly FuzzTarget[], options: FuzzRunOptions): Promise<TargetReport[]> {
  const seed = options.seed ?? Date.now() % 0x7fffffff;
  const reports: TargetReport[] = [];
  for (const target of targets) {
    const report = await runTarget(target, runsFor(target, targets, options.total), seed);
    options.onTarget?.(report);
    reports.push(report);
  }
  return reports;
}

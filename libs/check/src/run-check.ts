// Running `criu check`: choose the features (categories from --extra,
// --experimental, --all; or the --feature names), run each probe once with
// a shared victim task that is always ended, and turn the results into the
// verdict. A probe that throws a CriuError or a system error counts as
// that feature missing, with the error as the reason.
import { CriuError, UsageError } from '@criu-ts/base';
import type { Category, Feature, ProbeResult } from './feature.js';
import { FEATURES } from './registry.js';
import { checkVerdict, featureVerdict, type CheckReport, type ProbeOutcome } from './verdict.js';
import { victimPool, type VictimPool } from './victim.js';

export interface CheckSelection {
  extra?: boolean;
  experimental?: boolean;
  all?: boolean;
  /** --feature NAME (each); ['list'] lists the names */
  features?: readonly string[];
}

export interface CheckDeps {
  /** the feature registry; tests pass descriptors with injected results */
  registry?: readonly Feature[];
  pool?: VictimPool;
}

export function categoriesOf(selection: CheckSelection): Category[] {
  const all = selection.all === true;
  return [1, ...(all || selection.extra === true ? [2 as const] : []), ...(all || selection.experimental === true ? [3 as const] : [])];
}

function isExpectedFailure(error: unknown): error is Error {
  return error instanceof CriuError || (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string');
}

function runProbe(feature: Feature, pool: VictimPool): ProbeResult {
  try {
    return feature.probe({ victim: pool.victim });
  } catch (error) {
    if (!isExpectedFailure(error)) throw error;
    return { missing: error.message };
  }
}

/** Runs the features' probes (sharing one victim, always released). */
export function probeFeatures(features: readonly Feature[], pool: VictimPool = victimPool()): ProbeOutcome[] {
  try {
    return features.map((f) => ({ name: f.name, category: f.category, neededFor: f.neededFor, result: runProbe(f, pool) }));
  } finally {
    pool.release();
  }
}

/** The features a selection asks for; UsageError for an unknown --feature name. */
export function selectFeatures(selection: CheckSelection, registry: readonly Feature[] = FEATURES): Feature[] {
  const names = selection.features ?? [];
  if (names.length === 0) {
    const categories = categoriesOf(selection);
    return registry.filter((f) => categories.includes(f.category));
  }
  return names.map((name) => {
    const found = registry.find((f) => f.name === name);
    if (found === undefined) throw new UsageError(`unknown feature ${name}`, { hint: "'--feature list' prints the feature names" });
    return found;
  });
}

/** `criu check`: the report to print, or the list of names for --feature list. */
export function runCheck(selection: CheckSelection, deps: CheckDeps = {}): CheckReport {
  const registry = deps.registry ?? FEATURES;
  if (selection.features?.includes('list') === true) {
    return { exitCode: 0, stdout: registry.map((f) => f.name), warnings: [] };
  }
  const features = selectFeatures(selection, registry);
  const outcomes = probeFeatures(features, deps.pool);
  return (selection.features?.length ?? 0) > 0 ? featureVerdict(outcomes) : checkVerdict(outcomes);
}

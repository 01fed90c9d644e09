// The verdict of `criu check` over probe results: a pure function, so
// tests inject any mix of results. Wording and exit codes follow criu(8)
// and criu's cr-check.c:
//   nothing missing          → "Looks good." on stdout, exit 0;
//   a Category 1 missing     → a warning per missing feature, then the
//                              warning "Does not look good.", exit 1;
//   only Category 2/3 missing (asked for with --extra/--experimental/--all)
//                            → warnings, then CHECK_MAYBE on stdout, exit 1.
// With --feature NAME: "NAME is supported" on stdout (exit 0), or a
// warning saying why not (exit 1).
import type { Category, ProbeResult } from './feature.js';

export const CHECK_GOOD = 'Looks good.';
export const CHECK_BAD = 'Does not look good.';
export const CHECK_MAYBE = 'Looks good but some kernel features are missing\nwhich, depending on your process tree, may cause\ndump or restore failure.';

export interface ProbeOutcome {
  name: string;
  category: Category;
  neededFor: string;
  result: ProbeResult;
}

export interface CheckReport {
  exitCode: 0 | 1;
  /** lines for stdout (the verdict) */
  stdout: string[];
  /** lines for the log at warning level */
  warnings: string[];
}

export function missingWarning(outcome: ProbeOutcome): string | undefined {
  if (outcome.result === 'ok') return undefined;
  return `${outcome.name} (category ${outcome.category}): ${outcome.result.missing}; ${outcome.neededFor} will not work`;
}

/** The verdict of a category run (`criu check [--extra] [--experimental] [--all]`). */
export function checkVerdict(outcomes: readonly ProbeOutcome[]): CheckReport {
  const warnings = outcomes.map(missingWarning).filter((w): w is string => w !== undefined);
  if (outcomes.some((o) => o.category === 1 && o.result !== 'ok')) {
    return { exitCode: 1, stdout: [], warnings: [...warnings, CHECK_BAD] };
  }
  return warnings.length === 0 ? { exitCode: 0, stdout: [CHECK_GOOD], warnings } : { exitCode: 1, stdout: [CHECK_MAYBE], warnings };
}

/** The verdict of `criu check --feature NAME...`. */
export function featureVerdict(outcomes: readonly ProbeOutcome[]): CheckReport {
  const stdout = outcomes.filter((o) => o.result === 'ok').map((o) => `${o.name} is supported`);
  const warnings = outcomes.map(missingWarning).filter((w): w is string => w !== undefined);
  return { exitCode: warnings.length === 0 ? 0 : 1, stdout, warnings };
}

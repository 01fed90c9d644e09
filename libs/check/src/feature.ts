// A kernel feature check: one descriptor per feature, gathered in one
// registry (registry.ts). Each probe really exercises the running kernel
// (calls the syscall, opens the /proc file, asks the diag family, seizes a
// throwaway task) and answers 'ok' or why the feature is missing.

/** criu(8): 1 absolutely required, 2 needed only for specific resources, 3 experimental. */
export type Category = 1 | 2 | 3;

export type ProbeResult = 'ok' | { missing: string };

/** A short-lived task, seized and stopped, for probes that need a victim. */
export interface Victim {
  readonly pid: number;
}

export interface ProbeContext {
  /** the shared victim, started (and seized) on first use; throws if that fails */
  victim(): Victim;
}

export interface Feature {
  /** criu's --feature name where criu has one (mem_dirty_track, uffd, timens, ...) */
  name: string;
  category: Category;
  /** what will not work without it, e.g. "dumping established TCP connections (--tcp-established)" */
  neededFor: string;
  probe(ctx: ProbeContext): ProbeResult;
}

export const missing = (reason: string): ProbeResult => ({ missing: reason });

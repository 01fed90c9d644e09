// Fault injection, as CRIU's CRIU_FAULT: the environment variable names one
// fault point (by number) and the tool fails there, on purpose, so tests can
// prove that a failure at that point leaves nothing broken (a dump: the tree
// runs on as before; a restore: nothing it made is left). CRIU_FAULT=N fires
// at point N; CRIU_FAULT=N:WHAT only where the point is reached for WHAT (a
// kind's name, a task's index in the tree). The table is the README's.
import { CriuError } from './errors.js';

/** How a fault point fails: a typed error (the normal failure path), SIGKILL of the tool itself, or abort(3) (SIGABRT). */
export type FaultAction = 'error' | 'kill-self' | 'abort';

export interface FaultPointSpec {
  readonly id: number;
  readonly name: string;
  readonly action: FaultAction;
  readonly what: string;
}

/**
 * Upstream's numbers (criu/include/fault-injection.h) where we have the code
 * path, then our own: 1001+ dump, 2001+ restore.
 */
export const FAULT = {
  DUMP_EARLY: { id: 1, name: 'dump-early', action: 'kill-self', what: 'dump: criu dies (SIGKILL) once the tree is frozen' },
  RESTORE_ROOT_ONLY: { id: 2, name: 'restore-root-only', action: 'error', what: 'restore: the root task dies (SIGKILL) once it is made, before its children' },
  DUMP_PAGES: { id: 3, name: 'dump-pages', action: 'error', what: "dump: dumping a task's pages fails" },
  RESTORE_OPEN_LINK_REMAP: { id: 4, name: 'restore-open-link-remap', action: 'error', what: 'restore: opening a link-remap file fails' },
  PARASITE_CONNECT: { id: 5, name: 'injector-connect', action: 'error', what: 'dump: seizing a task for injected calls (our compel connect) fails' },
  POST_RESTORE: { id: 6, name: 'post-restore', action: 'error', what: 'restore: fails once every task is restored, before it resumes' },
  DUMP_CRASH: { id: 136, name: 'dump-crash', action: 'abort', what: 'dump: a failed dump aborts (SIGABRT) instead of exiting (not fatal by itself)' },
  DUMP_FREEZE: { id: 1001, name: 'dump-freeze', action: 'error', what: 'dump: fails once every thread is seized and stopped' },
  DUMP_KIND: { id: 1002, name: 'dump-kind', action: 'error', what: 'dump: a kind fails dumping a task (WHAT: the kind, e.g. 1002:files)' },
  DUMP_WRITE: { id: 1003, name: 'dump-write', action: 'error', what: "dump: fails once the tasks' images are written, before pstree and inventory" },
  DUMP_SYNC: { id: 1004, name: 'dump-sync', action: 'error', what: 'dump: fails once every image is written, before they are synced' },
  DUMP_KILL: { id: 1005, name: 'dump-kill', action: 'error', what: 'dump: fails once the images are synced, just before the tree is killed' },
  RESTORE_HELPER: { id: 2001, name: 'restore-helper', action: 'error', what: 'restore: fails once the helper is started and seized' },
  RESTORE_CLONE: { id: 2002, name: 'restore-clone', action: 'error', what: "restore: fails once a task is cloned (WHAT: its pid)" },
  RESTORE_MEMORY: { id: 2003, name: 'restore-memory', action: 'error', what: "restore: fails once a task's memory is restored (WHAT: its pid)" },
  RESTORE_KIND: { id: 2004, name: 'restore-kind', action: 'error', what: 'restore: a kind fails restoring a task (WHAT: the kind)' },
  RESTORE_RESUME: { id: 2005, name: 'restore-resume', action: 'error', what: "restore: fails once every thread's registers are set, before the tree is let go" },
} as const satisfies Record<string, FaultPointSpec>;

export type FaultPoint = (typeof FAULT)[keyof typeof FAULT];

/** The fault CRIU_FAULT asks for. */
export interface FaultSetting {
  id: number;
  what: string | undefined;
}

/** A fault injected on purpose (CRIU_FAULT). */
export class FaultInjectedError extends CriuError {
  readonly point: number;

  constructor(point: FaultPointSpec, what: string | undefined) {
    super(`fault injected (CRIU_FAULT=${point.id}${what === undefined ? '' : `:${what}`}): ${point.name}`, { code: 'EFAULTINJECTED' });
    this.name = 'FaultInjectedError';
    this.point = point.id;
  }
}

/** Parses a CRIU_FAULT value: 'N' or 'N:WHAT'; undefined when unset or empty. */
export function parseFault(value: string | undefined): FaultSetting | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^(\d+)(?::(.+))?$/.exec(value);
  const id = match === null ? NaN : Number(match[1]);
  const known = Object.values(FAULT).some((point) => point.id === id);
  if (match === null || !known) {
    throw new CriuError(`CRIU_FAULT=${value}: not a fault point (see the README's fault table)`, { code: 'EINVAL', exitCode: 1 });
  }
  return { id, what: match[2] };
}

let setting: FaultSetting | undefined | null = null;

/** The process's CRIU_FAULT, read once. */
export function faultSetting(): FaultSetting | undefined {
  if (setting === null) setting = parseFault(process.env.CRIU_FAULT);
  return setting;
}

/** Whether CRIU_FAULT selects this point (for non-fatal points that change behaviour). */
export function faultInjected(point: FaultPointSpec, what?: string): boolean {
  const want = faultSetting();
  return want !== undefined && want.id === point.id && (want.what === undefined || want.what === what);
}

/** A fault point: throws FaultInjectedError (or SIGKILLs the tool) when CRIU_FAULT selects it. */
export function faultPoint(point: FaultPointSpec, what?: string): void {
  if (!faultInjected(point, what)) return;
  if (point.action === 'kill-self') process.kill(process.pid, 'SIGKILL');
  if (point.action === 'abort') process.abort();
  throw new FaultInjectedError(point, what);
}

// The descriptor every kind module exports. A registry (registry.ts) lists
// them in the order they run; nothing switches on kinds.
import type { KindName } from '@criu-ts/images';
import type { DumpContext, DumpTask } from './dump-context.js';
import type { RestoreContext, RestoreTask } from './restore-context.js';

/**
 * What the kinds found out about one task that other kinds need, filled in
 * as they run (in registry order) — e.g. the memory kind sets ids.vm_id and
 * the core kind, which runs last, writes them into core-PID.img.
 */
export interface TaskRecord {
  /** task_kobj_ids_entry fields (vm_id, files_id, fs_id, sighand_id, ...) */
  ids: Record<string, number>;
  /** thread id → the cg_set id of its cgroups (the cgroup kind), written in thread_core.cg_set */
  cgSets?: Map<number, number>;
}

/** A per-task kind: one part of a task's state (memory, fds, fs, core, ...). */
export interface TaskKind {
  /** short name, also the log prefix: 'mm', 'files', 'core' */
  readonly name: string;
  /** the images it writes */
  readonly images: readonly KindName[];
  /**
   * Before the tree is frozen: what the kind can learn without it (a probe
   * of this machine), so that it does not lengthen the frozen time. The
   * entries become the dump's shared tables (DumpContext.shared).
   */
  prepareDump?(): Record<string, unknown>;
  /** Dump this part of one live (non-zombie) task, which is frozen and seized. */
  dump(ctx: DumpContext, task: DumpTask, record: TaskRecord): void;
  /** Once every task is dumped: checks and images that need the whole tree (pty pairs, ...). */
  afterTasks?(ctx: DumpContext): void;
  /** Dump what there is of a zombie (exited, not reaped): most kinds have nothing. */
  dumpZombie?(ctx: DumpContext, task: DumpTask, record: TaskRecord): void;
  /**
   * Restore this part of one live task (see restore-context.ts for the
   * state it is in). 'retry' asks to be called again after the other kinds
   * of this round (a dependency on another task's object not made yet).
   */
  restore?(ctx: RestoreContext, task: RestoreTask): 'done' | 'retry';
  /**
   * Once every kind's restore of the task is done: what must come last in
   * it (pending signals, then credentials, which may take away the
   * privileges the other kinds' injected calls need).
   */
  restoreLast?(ctx: RestoreContext, task: RestoreTask): void;
  /**
   * Right after the engine made `task` a session leader (setsid), before it
   * creates any other task of the tree: what the session's members must
   * inherit from their leader when they are forked (its controlling
   * terminal). Other groups and tasks do not exist yet.
   */
  sessionCreated?(ctx: RestoreContext, task: RestoreTask): void;
  /**
   * Once the whole restore is over: ok = the tree runs (remove what only
   * served the restore, e.g. link-remap files), or not ok = it failed and
   * every task is killed (keep what a retry from the same images needs).
   */
  afterRestore?(ctx: RestoreContext, ok: boolean): void;
}

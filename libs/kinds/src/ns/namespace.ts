// The namespace framework: one NamespaceKind per namespace(7) kind that a
// dump may take along (pid, uts, ipc, time, cgroup here; mnt and net plug
// in the same way), listed in ns/registry.ts. The contract:
//
// - name: the /proc/PID/ns entry (`pid`, `uts`, `mnt`, ...); cloneFlag: its
//   CLONE_NEW* flag.
// - Dump. kobj-ids.ts numbers every namespace it sees (ids-PID.img,
//   inventory root_ids). A namespace of the tree's root that is not
//   criu's is the tree's own: dump(ctx, id, pid) runs once for it, after
//   every task is dumped and while the tree is still frozen, `pid` being
//   the root (the tool's pid for it: the outer one). A task in a namespace
//   that is neither criu's nor the root's (nested) is refused, as upstream
//   refuses it; so is any namespace of a kind with `refuse` (the reason,
//   named in the error) or of a kind not registered here.
// - Restore. The kinds whose id in the root's ids-PID.img differs from
//   inventory's root_ids are the tree's own. The root is cloned with the OR
//   of their cloneFlag (a kind with `unshared` makes its namespace in its
//   restore hook instead: a time namespace's offsets must be written before
//   a task enters it); right after that clone — before any other task, and
//   before the root's memory and files are made — restore(ctx, id, root)
//   runs for each, in registry order, with the root's injector open
//   (ctx.injector(root.pid)). Work the tool can do from inside the
//   namespace (sysctls, SysV objects, the hostname) runs on the tool's own
//   thread after setns(2) into it: withNamespace() below, which puts the
//   thread back.
import { closeSync, openSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { setns } from '@criu-ts/kernel';
import type { KindName } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';
import type { RestoreContext, RestoreTask } from '../restore-context.js';

export interface NamespaceKind {
  /** the /proc/PID/ns entry name */
  readonly name: string;
  /** CLONE_NEW* */
  readonly cloneFlag: bigint;
  /** the images it writes (ids named by namespace id) */
  readonly images: readonly KindName[];
  /** why a namespace of this kind of its own is refused (the dump says so and the tree runs on) */
  readonly refuse?: string;
  /** true: restore() makes the namespace itself; the root is not cloned with cloneFlag */
  readonly unshared?: boolean;
  /** the namespace `id` of the tree, which task `pid` (outer pid) lives in: write its images */
  dump?(ctx: DumpContext, id: number, pid: number): void;
  /** in the namespace's first task `root`, right after it was made: put the namespace's state back */
  restore?(ctx: RestoreContext, id: number, root: RestoreTask): void;
}

/**
 * Runs fn on the tool's thread inside the `kind` namespace of task pid
 * (setns(2) into /proc/PID/ns/KIND), then back in the thread's own. Only
 * for kinds whose setns affects the calling thread alone (uts, ipc, net,
 * time): Node's synchronous fs calls and our syscalls run on this thread.
 */
export function withNamespace<T>(kind: NamespaceKind, pid: number, fn: () => T): T {
  const own = openSync(`/proc/thread-self/ns/${kind.name}`, 'r');
  try {
    const theirs = openSync(`/proc/${pid}/ns/${kind.name}`, 'r');
    try {
      setns(theirs, Number(kind.cloneFlag));
    } finally {
      closeSync(theirs);
    }
    try {
      return fn();
    } finally {
      try {
        setns(own, Number(kind.cloneFlag));
      } catch (error) {
        // a tool thread left in the tree's namespace would act there from now on
        throw new CriuError(`could not return to criu's own ${kind.name} namespace: ${String(error)}`, { cause: error });
      }
    }
  } finally {
    closeSync(own);
  }
}

// The mount namespace kind: once, with the tree's root task, the mounts of
// its mount namespace when that is not criu's own (mnt-dump.ts); restore
// builds them in the root task right after it is cloned with CLONE_NEWNS
// (mnt-restore.ts, called by the engine, not per task). Other tasks must
// share the root's mount namespace (core/kobj-ids.ts refuses nested ones).
// See mount_namespaces(7).
import { readNamespaces } from '@criu-ts/proc';
import type { DumpContext } from '../dump-context.js';
import type { TaskKind } from '../kind.js';
import { taskNamespaceIds } from '../core/kobj-ids.js';
import { dumpMountNamespace, dumpTmpfsContents, type DumpedMountNs } from './mnt-dump.js';

const SHARED_KEY = 'mnt.namespace';

/** The tree's own mount namespace, once the root task is dumped; undefined if the tree lives in criu's. */
export function dumpedMountNs(ctx: DumpContext): DumpedMountNs | undefined {
  return ctx.shared<{ ns?: DumpedMountNs }>(SHARED_KEY, () => ({})).ns;
}

/**
 * Where the tool finds a path that task `pid` sees: under the namespace's
 * root (/proc/ROOT/root) when the tree has a mount namespace of its own.
 */
export function toolPathOf(ctx: DumpContext, path: string): string {
  const ns = dumpedMountNs(ctx);
  return ns === undefined || !path.startsWith('/') ? path : `/proc/${ns.pid}/root${path}`;
}

export const mntNsKind: TaskKind = {
  name: 'mnt',
  images: ['mountpoints'],
  dump(ctx, task) {
    if (task.pid !== ctx.tasks[0]?.pid) return;
    if (readNamespaces(task.pid).mnt === readNamespaces(process.pid).mnt) return;
    const id = taskNamespaceIds(ctx, task.pid).mnt_ns_id!;
    const ns = dumpMountNamespace(ctx, task.pid, id);
    ctx.shared<{ ns?: DumpedMountNs }>(SHARED_KEY, () => ({})).ns = ns;
  },
};

/** The files of the namespace's tmpfs mounts, saved after everything else of the tasks (late in the registry, as upstream's order). */
export const tmpfsContentsKind: TaskKind = {
  name: 'tmpfs',
  images: ['tmpfs-dev'],
  dump() {
    // nothing per task: the namespace's, once the tasks are dumped
  },
  afterTasks(ctx) {
    const ns = dumpedMountNs(ctx);
    if (ns !== undefined) dumpTmpfsContents(ctx, ns);
  },
};

// The mount namespace kind: once, with the tree's root task (before the
// kinds that resolve paths in it), the mounts of its mount namespace when
// that is not criu's own (mnt-dump.ts); the rest is the namespace
// framework's (mnt-namespace.ts): the tmpfs files after every task, and
// the mounts rebuilt in the root right after it is cloned with CLONE_NEWNS
// (mnt-restore.ts). Other tasks must share the root's mount namespace
// (core/kobj-ids.ts refuses nested ones).
// See mount_namespaces(7).
import { readNamespaces } from '@criu-ts/proc';
import type { TaskKind } from '../kind.js';
import { taskNamespaceIds } from '../core/kobj-ids.js';
import { dumpMountNamespace } from './mnt-dump.js';
import { setDumpedMountNs } from './mnt-state.js';
import { restoredImagesFd } from './mnt-ns.js';
import { SYS } from '@criu-ts/kernel';

export const mntNsKind: TaskKind = {
  name: 'mnt',
  images: ['mountpoints'],
  dump(ctx, task) {
    if (task.pid !== ctx.tasks[0]?.pid) return;
    if (readNamespaces(task.pid).mnt === readNamespaces(process.pid).mnt) return;
    const id = taskNamespaceIds(ctx, task.pid).mnt_ns_id!;
    setDumpedMountNs(ctx, dumpMountNamespace(ctx, task.pid, id));
  },
  restore(ctx, task) {
    // the fd on the images directory each task got from the root, done with once its memory is made, before its files
    const fd = restoredImagesFd(ctx);
    if (fd !== undefined) ctx.injector(task.pid).syscall(SYS.close, fd);
    return 'done';
  },
};


// Every per-task kind, in the order the dump runs them. Kinds that hand ids
// to others come first; core, which writes core-PID.img with them, last.
import type { TaskKind } from './kind.js';
import { memoryKind } from './memory/memory-kind.js';
import { filesKind } from './files/files-kind.js';
import { ttyTreeKind } from './files/tty/tty-tree-kind.js';
import { fsKind } from './fs/fs-kind.js';
import { coreKind } from './core/core-kind.js';
import { coreSnapshotKind } from './core/core-snapshot.js';
import { timensKind } from './ns/timens-kind.js';
import { mntNsKind } from './mounts/mnt-kind.js';
import { netNsKind } from './ns/net-ns-kind.js';
import { cgroupKind } from './cgroup/cgroup-kind.js';
import { namespacesKind } from './ns/namespaces-kind.js';

export const taskKinds: readonly TaskKind[] = [
  coreSnapshotKind, // reads what injection would change; writes nothing
  mntNsKind, // once, with the root: the tree's mount namespace, which the kinds after it resolve paths in
  memoryKind,
  filesKind,
  ttyTreeKind, // after the last task's fds: tty pairs, sessions, queued bytes
  fsKind,
  timensKind, // once, after the last task: timens-0.img, the clocks as upstream saves them
  netNsKind, // once, after the last task: the tree's own network namespace, if it has one
  cgroupKind, // each thread's cg_set for core; cgroup.img after the last task
  namespacesKind, // once, after the last task: the tree's own namespaces (uts, ipc, time, ...)
  coreKind,
];

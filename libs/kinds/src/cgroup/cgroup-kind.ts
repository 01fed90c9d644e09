// The cgroup kind: a task's cgroups — which cgroup of each hierarchy each
// of its threads is in (cg_set in thread_core), and the cgroup trees below
// them with their properties and permissions (cgroup.img), as upstream
// CRIU 4.2 writes them (criu/cgroup.c, images/cgroup.proto). Restore:
// cgroup-restore.ts, driven by the engine (it moves tasks as they are
// created). See cgroups(7), criu(8) --manage-cgroups.
import type { TaskKind } from '../kind.js';
import { threadCgSet, writeCgroupImage } from './cgroup-dump.js';

export const cgroupKind: TaskKind = {
  name: 'cgroup',
  images: ['cgroup'],
  dump(ctx, task, record) {
    record.cgSets ??= new Map();
    for (const thread of task.threads) record.cgSets.set(thread.tid, threadCgSet(ctx, task, thread.tid));
  },
  afterTasks: writeCgroupImage,
};

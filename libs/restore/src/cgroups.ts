// The restore engine's side of the cgroup kind: what it needs of the tree
// (each thread's cg_set from its core image — thread_core.cg_set, or the
// older task_core's — and inventory's root_cg_set, criu's set at dump).
import { readOne } from '@criu-ts/images';
import { prepareCgroupRestore, type CgroupRestore, type CgroupRestoreOptions } from '@criu-ts/kinds';
import type { Logger } from '@criu-ts/base';
import { TASK_STATE, type TreeImage } from './tree-images.js';

/** Reads cgroup.img and makes the cgroups the mode asks for; undefined: nothing to do. */
export function prepareCgroups(tree: TreeImage, options: CgroupRestoreOptions | undefined, log: Logger): CgroupRestore | undefined {
  const inventory = readOne(tree.dir, 'inventory');
  return prepareCgroupRestore({
    imagesDir: tree.dir,
    options: options ?? {},
    rootCgSet: inventory.root_cg_set ?? 0,
    tasks: tree.tasks.map((task) => ({
      pid: task.pid,
      ppid: task.ppid,
      threads: task.threads.map((thread) => ({
        tid: thread.tid,
        cgSet: task.state === TASK_STATE.DEAD ? undefined : (thread.core.thread_core?.cg_set ?? thread.core.tc?.cg_set),
      })),
    })),
    log,
  });
}

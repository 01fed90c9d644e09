// --freeze-cgroup: the tree's freezer cgroup stops every task in it at
// once; each thread in it is seized and interrupted while frozen, the
// cgroup is thawed, and only then is the tree frozen as usual (its threads
// already ours, waited for). Threads of the cgroup outside the tree are
// let go once stopped. If anything fails, every thread is let go and the
// cgroup is left thawed (or frozen again, if it was frozen before).
import { SyscallError, type Logger } from '@criu-ts/base';
import { ptraceDetach } from '@criu-ts/kernel';
import { freezeCgroup, type FrozenCgroup } from '@criu-ts/kinds';
import { freezeTree, seizeAndInterrupt } from './freeze.js';
import type { FrozenTree } from './task-tree.js';
import { liveThreads } from './task-tree.js';
import { waitForStop } from './thread-stop.js';

export interface CgroupFrozenTree {
  tree: FrozenTree;
  cgroup?: FrozenCgroup;
}

/** Lets a pre-seized thread go once it stops (it stops as soon as the cgroup thaws). */
function letGo(tid: number, deadline: number, log: Logger): void {
  try {
    const stop = waitForStop(tid, deadline);
    if (stop !== 'gone') ptraceDetach(tid, stop.deliverySignal);
  } catch (error) {
    if (!(error instanceof SyscallError && (error.code === 'ESRCH' || error.code === 'ECHILD'))) log.error(`could not let thread ${tid} go: ${String(error)}`);
  }
}

/** freezeTree, through the freezer cgroup at dir when one is given. */
export function freezeTreeVia(dir: string | undefined, rootPid: number, options: { log: Logger; timeoutMs: number }): CgroupFrozenTree {
  if (dir === undefined) return { tree: freezeTree(rootPid, options) };
  const { log } = options;
  const cgroup = freezeCgroup(dir, options.timeoutMs, log);
  const preSeized = new Set<number>();
  let tree: FrozenTree | undefined;
  try {
    for (const tid of cgroup.threads) {
      // a kernel thread or one gone already cannot be seized: skip it
      if (tid !== process.pid && seizeAndInterrupt(tid)) preSeized.add(tid);
    }
    cgroup.thaw();
    tree = freezeTree(rootPid, { ...options, preSeized });
  } catch (error) {
    // freezeTree released the threads it reached; the rest once they stop
    cgroup.thaw();
    const deadline = Date.now() + 5000;
    for (const tid of preSeized) letGo(tid, deadline, log);
    cgroup.restoreOrigin();
    throw error;
  } finally {
    if (tree !== undefined) {
      const inTree = new Set(liveThreads(tree).map((thread) => thread.tid));
      const deadline = Date.now() + 5000;
      for (const tid of preSeized) {
        if (inTree.has(tid)) continue;
        log.warn(`thread ${tid} is in the freezer cgroup ${dir} but not in the dumped tree: let go`);
        letGo(tid, deadline, log);
      }
    }
  }
  return { tree, cgroup };
}

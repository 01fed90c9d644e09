// The frozen process tree: tasks (thread groups) with their threads, as
// seen at the moment every thread was stopped under ptrace.

export interface FrozenThread {
  tid: number;
  /** its tid in the task's own pid namespace (NSpid's last), = tid in criu's */
  nsTid?: number;
  /** signal the thread was stopped by on delivery, to be given back on release */
  pendingStopSignal: number;
  /** the signal of the job-control stop it was in when seized, if any */
  groupStopSignal?: number;
}

export interface FrozenTask {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** pid, pgid and sid in the task's own pid namespace (NSpid, NSpgid, NSsid: the last of each; 0 = outside it) */
  ns?: { pid: number; pgid: number; sid: number };
  /** threads[0] is the thread-group leader (tid === pid) */
  threads: FrozenThread[];
  children: FrozenTask[];
  /** exited but not reaped: nothing to seize, only its exit status to save */
  zombie: boolean;
  /** job-control stopped (state T) before we came: restore it stopped */
  wasStopped: boolean;
  /** the signal that stopped it (its leader's group-stop, as seized), for the restore to stop it with */
  stopSignal?: number;
  /** exit status of a zombie (from /proc/PID/stat) */
  exitCode: number;
}

export interface FrozenTree {
  root: FrozenTask;
  /** every task, parents before children */
  tasks: FrozenTask[];
  /** when the first task was stopped (process.hrtime.bigint()) */
  frozenAt: bigint;
}

/** Parents before children, the order images and restore follow. */
export function walkTree(root: FrozenTask): FrozenTask[] {
  const out: FrozenTask[] = [];
  const queue = [root];
  for (let task = queue.shift(); task !== undefined; task = queue.shift()) {
    out.push(task);
    queue.push(...task.children);
  }
  return out;
}

/** All threads of every live task in the tree. */
export function liveThreads(tree: FrozenTree): FrozenThread[] {
  return tree.tasks.filter((task) => !task.zombie).flatMap((task) => task.threads);
}

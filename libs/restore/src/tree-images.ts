// Reading what the restore needs about the tree from the images directory:
// pstree.img (shape, pids, sessions), core-TID.img per thread and
// mm-PID.img per live task; every check that can fail before any task
// exists happens here (missing image, wrong architecture, a tree whose
// parents do not come first, an fd table shared other than with a parent).
import { existsSync } from 'node:fs';
import { CriuError, ImageError } from '@criu-ts/base';
import { CoreEntryMarch, imagePath, readEntries, readOne, type KindName, type Messages } from '@criu-ts/images';
import { planFdTables } from './fd-tables.js';
import { freePids, ownNamespaces, type OwnNamespace } from './tree-namespaces.js';

type CoreEntry = Messages['core_entry'];

/** task_core_entry.task_state (CRIU's TASK_*). */
export const TASK_STATE = { ALIVE: 1, DEAD: 2, STOPPED: 3, HELPER: 4, THREAD: 5 } as const;

export interface ThreadImage {
  tid: number;
  /** its tid in the images (in the tree's pid namespace) */
  nsTid: number;
  core: CoreEntry;
}

export interface TaskImage {
  /** the pid in criu's pid namespace (the tool's), which the engine names it by; ppid, pgid, sid and tids too */
  pid: number;
  /** its pid in the images: in the tree's pid namespace (= pid without one) */
  nsPid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** threads[0] is the leader */
  threads: ThreadImage[];
  state: number;
  /** the wait status the task had, for zombies */
  exitCode: number;
  /** the task's address space; absent for zombies */
  mm?: Messages['mm_entry'];
  /** its fd table's id (task_kobj_ids_entry.files_id); absent for zombies and images without ids */
  filesId?: number;
  /** set when it shares its parent's fd table (CLONE_FILES): the pid of the task that owns and restores that table */
  fdTableOwner?: number;
}

export interface TreeImage {
  dir: string;
  /** parents before children, the root first */
  tasks: TaskImage[];
  /** the namespaces the tree had of its own (the root is cloned into new ones) */
  own: OwnNamespace[];
}

function mustExist(dir: string, kind: KindName, id?: number): string {
  const path = imagePath(dir, kind, id);
  if (!existsSync(path)) throw new CriuError(`image ${path} is missing`, { code: 'ENOENT' });
  return path;
}

function readCore(dir: string, tid: number): CoreEntry {
  const path = mustExist(dir, 'core', tid);
  const core = readOne(dir, 'core', tid);
  if (core.mtype !== CoreEntryMarch.X86_64) {
    const arch = Object.entries(CoreEntryMarch).find(([, v]) => v === core.mtype)?.[0] ?? String(core.mtype);
    throw new ImageError(`dumped on ${arch}, this is x86_64`, { image: path, offset: 0 });
  }
  return core;
}

/** The entry's thread ids; upstream CRIU lists a zombie's only thread as 0. */
function threadIds(dir: string, entry: Messages['pstree_entry']): number[] {
  const tids = entry.threads ?? [];
  if (tids.length === 1 && tids[0] === 0 && readCore(dir, entry.pid).tc?.task_state === TASK_STATE.DEAD) return [entry.pid];
  return tids;
}

/** files_id of a live task: ids-PID.img, or (as upstream may write it) core-PID.img's ids; undefined if neither has it. */
function filesIdOf(dir: string, leader: CoreEntry, pid: number): number | undefined {
  if (existsSync(imagePath(dir, 'ids', pid))) return readOne(dir, 'ids', pid).files_id;
  return leader.ids?.files_id;
}

function readTask(dir: string, entry: Messages['pstree_entry']): TaskImage {
  const tids = threadIds(dir, entry);
  if (tids.length === 0 || tids[0] !== entry.pid) {
    throw new ImageError(`pstree entry of pid ${entry.pid} does not list it as its first thread`, { image: imagePath(dir, 'pstree'), offset: 0 });
  }
  const threads = tids.map((tid) => ({ tid, nsTid: tid, core: readCore(dir, tid) }));
  const tc = threads[0]!.core.tc;
  if (tc === undefined) throw new ImageError(`core of pid ${entry.pid} has no task_core_entry`, { image: imagePath(dir, 'core', entry.pid), offset: 0 });
  const task: TaskImage = {
    pid: entry.pid,
    nsPid: entry.pid,
    ppid: entry.ppid,
    pgid: entry.pgid,
    sid: entry.sid,
    threads,
    state: tc.task_state,
    exitCode: tc.exit_code,
  };
  if (tc.task_state === TASK_STATE.HELPER) {
    throw new CriuError(`pid ${entry.pid} is a helper task of the dump; restoring helpers is not supported`, { code: 'EUNSUPPORTED' });
  }
  if (tc.task_state !== TASK_STATE.DEAD) {
    // a zombie's core has only its task part; a live thread needs its registers
    const bare = threads.find((thread) => thread.core.thread_info === undefined);
    if (bare !== undefined) throw new ImageError('core_entry has no thread_info (x86 registers)', { image: imagePath(dir, 'core', bare.tid), offset: 0 });
    mustExist(dir, 'mm', entry.pid);
    task.mm = readOne(dir, 'mm', entry.pid);
    task.filesId = filesIdOf(dir, threads[0]!.core, entry.pid);
  }
  return task;
}

/** Checks that every task but the root has its parent earlier in the list. */
export function checkTreeOrder(tasks: readonly Pick<TaskImage, 'pid' | 'ppid'>[], image: string): void {
  const seen = new Set<number>();
  for (const [i, task] of tasks.entries()) {
    if (seen.has(task.pid)) throw new ImageError(`pid ${task.pid} appears twice`, { image, offset: 0 });
    if (i > 0 && !seen.has(task.ppid)) {
      throw new ImageError(`pid ${task.pid} comes before its parent ${task.ppid} (or its parent is not in the tree)`, { image, offset: 0 });
    }
    seen.add(task.pid);
  }
}

/** Reads and checks the tree's images in dir. */
export function readTreeImage(dir: string): TreeImage {
  const pstree = mustExist(dir, 'pstree');
  const entries = readEntries(dir, 'pstree');
  if (entries.length === 0) throw new ImageError('no tasks in the tree', { image: pstree, offset: 0 });
  checkTreeOrder(entries, pstree);
  const tasks = entries.map((entry) => readTask(dir, entry));
  const own = ownNamespaces(dir, tasks[0]!.pid, tasks.slice(1).filter((task) => task.state !== TASK_STATE.DEAD).map((task) => task.pid));
  if (own.some((ns) => ns.kind.name === 'pid')) givePidsHere(tasks, pstree);
  const owners = planFdTables(tasks);
  for (const task of tasks) {
    const owner = owners.get(task.pid);
    if (owner !== undefined) task.fdTableOwner = owner;
  }
  return { dir, tasks, own };
}

/**
 * A tree with its own pid namespace: its init must be pid 1 there; every
 * task and thread gets a free pid here (tree-namespaces.ts), and ppid,
 * pgid and sid follow (the root's parent is criu).
 */
function givePidsHere(tasks: TaskImage[], image: string): void {
  if (tasks[0]!.nsPid !== 1) throw new ImageError(`the root of a tree with its own pid namespace is pid ${tasks[0]!.nsPid}, not its init (1)`, { image, offset: 0 });
  const inner = tasks.flatMap((task) => task.threads.map((thread) => thread.nsTid));
  const outer = freePids(inner.length, new Set(inner));
  const here = new Map(inner.map((pid, i) => [pid, outer[i]!]));
  const map = (pid: number, what: string): number => {
    const got = here.get(pid);
    if (got === undefined) throw new ImageError(`${what} ${pid} is no task of the tree's pid namespace`, { image, offset: 0 });
    return got;
  };
  for (const [i, task] of tasks.entries()) {
    task.pid = map(task.nsPid, 'pid');
    if (i > 0) task.ppid = map(task.ppid, `parent of pid ${task.nsPid}:`);
    task.pgid = map(task.pgid, `process group of pid ${task.nsPid}:`);
    task.sid = map(task.sid, `session of pid ${task.nsPid}:`);
    for (const thread of task.threads) thread.tid = map(thread.nsTid, 'thread');
  }
}

/** Every thread id the tree will take. */
export function treeIds(tree: TreeImage): number[] {
  return tree.tasks.flatMap((task) => task.threads.map((thread) => thread.tid));
}

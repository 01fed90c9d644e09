// The restore driver (criu(8) "restore"): read and check the images,
// start the helper, create every task with its pid, session and group,
// restore each live task (memory, mm fields, signal dispositions, the
// kinds' parts, threads), then set every thread's registers and let the
// tree go. Any failure kills every task made so far and the helper:
// nothing half-restored stays behind.
import { existsSync } from 'node:fs';
import { CriuError, type Logger } from '@criu-ts/base';
import { getpgid, getsid } from '@criu-ts/kernel';
import { imagePath } from '@criu-ts/images';
import { openInjector } from '@criu-ts/inject';
import { sharedMappingFd, taskKinds, type RestoreContext, type RestoreOptions } from '@criu-ts/kinds';
import { createTree } from './create-tree.js';
import { readFileTable } from './file-paths.js';
import { DEFAULT_HELPER, killAndReap, startHelper } from './helper-process.js';
import { makeRestoreContext, runTaskKinds } from './restore-context.js';
import { restoreTask } from './restore-task.js';
import { resumeTree } from './resume.js';
import { planSessions } from './session-plan.js';
import { areaAt, chooseAreaBase, mapArea, type TaskArea } from './task-area.js';
import { killAll, newTaskSet, releaseInjector, type TaskSet } from './task-set.js';
import { TASK_STATE, readTreeImage, treeIds, type TreeImage } from './tree-images.js';
import { taskMappings } from './vdso-move.js';

export interface RestoreRequest extends RestoreOptions {
  log: Logger;
  /** -S/--restore-sibling: the root is not made criu's child */
  restoreSibling: boolean;
  /** the helper binary (default: native/build/criu-restore-helper) */
  helperPath?: string;
  /** MADV_POPULATE_WRITE before reading pages (default false: measured no gain, ~0.45 s/GiB either way) */
  populate?: boolean;
  /** bound on each wait, ms (default 10 s) */
  timeoutMs?: number;
}

export interface RestoreResult {
  /** the root task's pid */
  root: number;
  pids: number[];
  pagesRestored: number;
}

/** Refuses early, with a clear message, a pid that is already taken (clone3 would say EEXIST). */
function checkPidsFree(tree: TreeImage): void {
  const taken = treeIds(tree).filter((pid) => existsSync(`/proc/${pid}`));
  if (taken.length > 0) {
    throw new CriuError(`pid${taken.length > 1 ? 's' : ''} ${taken.join(', ')} already in use on this system: cannot restore`, { code: 'EEXIST' });
  }
}

/** Starts the helper with a pid the tree does not need (a pid is random; retry a few times). */
function startFreeHelper(request: RestoreRequest, ids: ReadonlySet<number>): number {
  for (let attempt = 0; attempt < 5; attempt++) {
    const pid = startHelper(request.helperPath ?? DEFAULT_HELPER, request.log, request.timeoutMs);
    if (!ids.has(pid)) return pid;
    request.log.info(`restore helper got pid ${pid}, which the tree needs; starting another`);
    killAndReap(pid);
  }
  throw new CriuError('could not start the restore helper with a pid the tree does not use');
}

function prepareArea(helper: number, tree: TreeImage): TaskArea {
  const dumped = tree.tasks.flatMap((task) => (task.mm?.vmas ?? []).map((vma) => ({ start: vma.start, end: vma.end })));
  const area = areaAt(chooseAreaBase([...dumped, ...taskMappings(helper)]));
  const injector = openInjector(helper);
  try {
    mapArea(injector, area);
  } finally {
    injector.release();
  }
  return area;
}

function restoreLiveTasks(set: TaskSet, tree: TreeImage, area: TaskArea, request: RestoreRequest, ctx: RestoreContext): number {
  const files = readFileTable(tree.dir);
  let pages = 0;
  for (const task of tree.tasks) {
    const injector = set.injectors.get(task.pid)!;
    if (task.state === TASK_STATE.DEAD) {
      releaseInjector(set, task.pid, request.log);
      continue;
    }
    pages += restoreTask(injector, task, {
      dir: tree.dir, area, files, populate: request.populate ?? false, log: request.log, timeoutMs: request.timeoutMs ?? 10_000,
      runKinds: (pid) => runTaskKinds(ctx, taskKinds, pid),
      sharedFd: (taskInjector, vma) => sharedMappingFd(ctx, taskInjector, vma),
    });
    set.injectors.delete(task.pid);
  }
  return pages;
}

function build(set: TaskSet, tree: TreeImage, helper: number, request: RestoreRequest): RestoreResult {
  const { log } = request;
  const area = prepareArea(helper, tree);
  const plan = planSessions(tree.tasks, { shellJob: request.shellJob, toolSid: getsid(0), toolPgid: getpgid(0) });
  const helperInjector = openInjector(helper, { site: area.site, log });
  try {
    createTree(set, { helper: helperInjector, area, tasks: tree.tasks, plan, rootAsSibling: request.restoreSibling, log, timeoutMs: request.timeoutMs ?? 10_000 });
  } finally {
    helperInjector.release();
  }
  const ctx = makeRestoreContext(request, tree, set, area);
  const pages = restoreLiveTasks(set, tree, area, request, ctx);
  resumeTree({ tasks: tree.tasks, area, leaveStopped: request.leaveStopped, log });
  return { root: tree.tasks[0]!.pid, pids: tree.tasks.map((task) => task.pid), pagesRestored: pages };
}

/** Restores the tree in request.imagesDir; returns once it runs (or is left stopped). */
export function restoreTree(request: RestoreRequest): RestoreResult {
  const { log } = request;
  if (!existsSync(imagePath(request.imagesDir, 'inventory'))) {
    throw new CriuError(`${imagePath(request.imagesDir, 'inventory')} is missing: is ${request.imagesDir} a dump?`, { code: 'ENOENT' });
  }
  const tree = readTreeImage(request.imagesDir);
  checkPidsFree(tree);
  const helper = startFreeHelper(request, new Set(treeIds(tree)));
  const set = newTaskSet();
  try {
    const result = build(set, tree, helper, request);
    log.info(`restored ${result.pids.length} task(s), root ${result.root}, ${result.pagesRestored} pages`);
    return result;
  } catch (error) {
    log.error(`restore failed: ${error instanceof Error ? error.message : String(error)}`);
    killAll(set, log);
    throw error;
  } finally {
    killAndReap(helper);
  }
}

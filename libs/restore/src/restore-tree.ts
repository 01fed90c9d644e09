// The restore driver (criu(8) "restore"): read and check the images,
// start the helper (with -S: have criu-launcher make the root, a child of
// criu's parent, sibling-root.ts), create every task with its pid,
// session and group, each live task's memory as soon as it exists (its
// children, cloned from it after, inherit its private pages copy-on-write),
// then the rest of each (mm fields, signal dispositions, the kinds' parts, threads), then set every thread's registers and let the
// tree go. Any failure kills every task made so far and the helper:
// nothing half-restored stays behind.
import { existsSync, readFileSync } from 'node:fs';
import { CriuError, FAULT, errnoOf, faultSetting, interruptionPoint, stagePoint, type Logger } from '@criu-ts/base';
import { F, FD_CLOEXEC, fcntl, getpgid, getsid, sleepSync } from '@criu-ts/kernel';
import { PE_LAZY, imagePath, writeImage } from '@criu-ts/images';
import { openInjector, type Injector } from '@criu-ts/inject';
import {
  closeNetNs, finishTcpRestore, restorePathOf, restoredImagesFd, inNetNs, mappedPacketSocketFd, namespaceKinds, netNsJoinPath, netNsPlan, netNsRootFlags, punchRuns, relockEmptyNetNs, remappedFileFd,
  restoreNetNs, setRestoredNetNs, sharedMappingFd, taskKinds, type CgroupRestore, type NetNsHandle, type NetNsPlan, type RestoreContext, type RestoreOptions,
} from '@criu-ts/kinds';
import { joinNetNsInTask, unshareNetNsInTask } from './net-ns-join.js';
import { resolveChain } from './parent-pages.js';
import { abandonLazy, connectLazyDaemon, finishLazy, handOverUffd, handOverZombie, type LazyChannel } from './lazy-handover.js';
import { createTree } from './create-tree.js';
import { prepareCgroups } from './cgroups.js';
import { readFileTable } from './file-paths.js';
import { DEFAULT_HELPER, killAndReap, startHelper } from './helper-process.js';
import { makeRestoreContext, runTaskKinds } from './restore-context.js';
import { restoreTask, restoreTaskMemory, setComm, type TaskRestoreInput } from './restore-task.js';
import { resumeTree } from './resume.js';
import { planSessions } from './session-plan.js';
import { areaAt, chooseAreaBase, mapArea, type TaskArea } from './task-area.js';
import { makeSiblingRoot } from './sibling-root.js';
import { killAll, newTaskSet, releaseInjector, type TaskSet } from './task-set.js';
import { TASK_STATE, readTreeImage, treeIds, type TreeImage } from './tree-images.js';
import { taskMappings } from './vdso-move.js';

export interface RestoreRequest extends RestoreOptions {
  log: Logger;
  /**
   * -S/--restore-sibling (RPC rst_sibling): the fd of criu-launcher's
   * channel, through which the root is made a child of criu's parent
   * (sibling-root.ts); undefined: the root is criu's child
   */
  siblingChannel?: number;
  /** the helper binary (default: native/build/criu-restore-helper) */
  helperPath?: string;
  /** MADV_POPULATE_WRITE before reading pages (default false: measured no gain, ~0.45 s/GiB either way) */
  populate?: boolean;
  /** bound on each wait, ms (default 10 s) */
  timeoutMs?: number;
  /** --auto-dedup: once the tree is restored, punch the pages it read out of the images */
  autoDedup?: boolean;
  /** --lazy-pages: the work dir where `criu lazy-pages` listens (lazy-handover.ts) */
  lazyPages?: { workDir: string };
  /** runs the --action-script hooks; a rejection before resume fails the restore */
  runAction?: (action: RestoreAction, env: { pid: number }) => Promise<void>;
}

export type RestoreAction = 'pre-restore' | 'post-restore' | 'pre-resume' | 'post-resume' | 'setup-namespaces' | 'post-setup-namespaces' | 'network-unlock';

export interface RestoreResult {
  /** the root task's pid */
  root: number;
  pids: number[];
  pagesRestored: number;
  /** microseconds creating the tasks, and restoring in all */
  forkingUs: number;
  restoreUs: number;
}

/** Tells every kind the restore is over (ok: the tree runs). */
function afterRestore(ctx: RestoreContext | undefined, ok: boolean): void {
  if (ctx === undefined) return;
  for (const kind of taskKinds) {
    try {
      kind.afterRestore?.(ctx, ok);
    } catch (error) {
      // after a failure the first error is the one to report; after success the tree runs anyway
      ctx.log.warn(`${kind.name}: cleaning up after the restore: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** stats-restore, as criu writes it after a restore. */
function writeRestoreStats(dir: string, result: RestoreResult, log: Logger): void {
  const restore = {
    pages_compared: 0n,
    pages_skipped_cow: 0n,
    forking_time: result.forkingUs,
    restore_time: result.restoreUs,
    pages_restored: BigInt(result.pagesRestored),
  };
  try {
    writeImage(imagePath(dir, 'stats', 'restore'), 'stats', [{ restore }]);
  } catch (error) {
    // the tree runs already: a read-only images dir costs the statistics, not the restore
    log.warn(`could not write stats-restore: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A zombie: exited, waiting for its parent (often init, after its own parent died) to reap it. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ESRCH') return false;
    throw error;
  }
}

/** How long a pid held only by a zombie may take to be reaped (a dump's killed tree, reparented to init) */
const ZOMBIE_REAP_MS = 3000;

/**
 * Refuses early, with a clear message, a pid that is already taken (clone3
 * would say EEXIST). Pids held only by zombies — the tasks of a tree just
 * dumped and killed, reparented to a reaper that takes its time — are
 * waited for, boundedly, before they count as taken.
 */
function checkPidsFree(tree: TreeImage): void {
  const live = (pid: number): boolean => existsSync(`/proc/${pid}`);
  const deadline = Date.now() + ZOMBIE_REAP_MS;
  while (Date.now() < deadline && treeIds(tree).some((pid) => live(pid) && isZombie(pid))) sleepSync(10);
  const taken = treeIds(tree).filter(live);
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

/** The restore area, mapped in the task every other is cloned from (the helper, or the root with -S). */
function prepareArea(origin: number, tree: TreeImage): TaskArea {
  const dumped = tree.tasks.flatMap((task) => (task.mm?.vmas ?? []).map((vma) => ({ start: vma.start, end: vma.end })));
  const area = areaAt(chooseAreaBase([...dumped, ...taskMappings(origin)]));
  const injector = openInjector(origin);
  try {
    mapArea(injector, area);
  } finally {
    injector.release();
  }
  return area;
}

/** What every live task's restore needs. */
function taskInput(tree: TreeImage, area: TaskArea, request: RestoreRequest, ctx: RestoreContext, made: Made): TaskRestoreInput {
  return {
    dir: tree.dir, area, files: readFileTable(tree.dir, (path) => restorePathOf(ctx, path)), populate: request.populate ?? false, log: request.log, timeoutMs: request.timeoutMs ?? 10_000,
    // the tasks' sockets are made by the tool: in the tree's network namespace, once it is set up
    runKinds: (pid) => (made.netns === undefined ? runTaskKinds(ctx, taskKinds, pid) : inNetNs(made.netns, () => runTaskKinds(ctx, taskKinds, pid))),
    sharedFd: (taskInjector, vma) => sharedMappingFd(ctx, taskInjector, vma),
    remappedFd: (fileId, flags, purpose) => remappedFileFd(ctx, fileId, flags, purpose),
    socketFd: (fileId, purpose) => mappedPacketSocketFd(ctx, fileId, purpose),
    lazy: made.lazy === undefined ? undefined : (taskInjector, ranges) => handOverUffd(made.lazy!, taskInjector, ranges),
    imagesFd: () => restoredImagesFd(ctx),
  };
}

/** Each live task's memory, rebuilt as soon as it exists (before its children are cloned from it); the pages read. */
function memoryOnCreate(tree: TreeImage, input: TaskRestoreInput, counter: { pages: number }): (pid: number, injector: Injector) => void {
  const byPid = new Map(tree.tasks.map((task) => [task.pid, task]));
  return (pid, injector) => {
    const task = byPid.get(pid);
    if (task === undefined || task.state === TASK_STATE.DEAD || task.mm === undefined) return;
    counter.pages += restoreTaskMemory(injector, task, byPid.get(task.ppid), input);
  };
}

function restoreLiveTasks(set: TaskSet, tree: TreeImage, input: TaskRestoreInput, log: Logger, lazy: LazyChannel | undefined): void {
  for (const task of tree.tasks) {
    const injector = set.injectors.get(task.pid)!;
    if (task.state === TASK_STATE.DEAD) {
      if (lazy !== undefined) handOverZombie(lazy, task.pid);
      // a zombie keeps its name (ps shows it), not the helper's
      setComm(injector, input.area, task.threads[0]!.core.tc?.comm);
      releaseInjector(set, task.pid, log);
      continue;
    }
    restoreTask(injector, task, input);
    set.injectors.delete(task.pid);
  }
}

/** Where the tree starts from: the helper, or (-S) the root itself, made by criu-launcher. */
interface Origin {
  pid: number;
  isRoot: boolean;
}

/** What a restore made that its end (success or failure) must see to. */
interface Made {
  ctx?: RestoreContext;
  lazy?: LazyChannel;
  netns?: NetNsHandle;
  cgroups?: CgroupRestore;
}

/** The root in its network namespace, before it makes any task (a new one takes CLONE_NEWNET as it is cloned). */
function rootNetNs(plan: NetNsPlan | undefined, area: TaskArea): (injector: Injector, made: boolean) => void {
  return (injector, made) => {
    const join = netNsJoinPath(plan);
    if (join !== undefined) joinNetNsInTask(injector, area, join);
    else if (made && netNsRootFlags(plan) !== 0n) unshareNetNsInTask(injector);
  };
}

/** The tree's network namespace once the tasks exist: restored from the images, then the setup-namespaces stages. */
async function setUpNetNs(plan: NetNsPlan, ctx: RestoreContext, request: RestoreRequest, root: number, made: Made): Promise<void> {
  const netns = restoreNetNs(request, plan, root, request.log.child('net'));
  made.netns = netns;
  setRestoredNetNs(ctx, plan, netns);
  await request.runAction?.('setup-namespaces', { pid: root });
  relockEmptyNetNs(plan, netns, request.log);
  await request.runAction?.('post-setup-namespaces', { pid: root });
}

async function build(set: TaskSet, tree: TreeImage, origin: Origin, request: RestoreRequest, made: Made, netPlan?: NetNsPlan): Promise<RestoreResult> {
  const { log } = request;
  const started = process.hrtime.bigint();
  await stagePoint(FAULT.RESTORE_HELPER);
  const area = prepareArea(origin.pid, tree);
  const plan = planSessions(tree.tasks, { shellJob: request.shellJob, toolSid: getsid(0), toolPgid: getpgid(0) });
  // the context looks injectors up lazily: kinds can act on a session leader as soon as it exists
  const ctx = makeRestoreContext(request, tree, set, area);
  made.ctx = ctx;
  const onSession = (pid: number): void => {
    const task = ctx.tasks.find((t) => t.pid === pid);
    if (task !== undefined) for (const kind of taskKinds) kind.sessionCreated?.(ctx, task);
  };
  const input = taskInput(tree, area, request, ctx, made);
  const memory = { pages: 0 };
  const onCreated = memoryOnCreate(tree, input, memory);
  const helper = origin.isRoot ? undefined : openInjector(origin.pid, { site: area.site, batchArea: area.batch, log });
  try {
    const onCloned = (pid: number, injector: Injector): void => made.cgroups?.taskCreated(pid, injector);
    const netRoot = rootNetNs(netPlan, area);
    // the root's namespaces first (pid, uts, ipc, time: their hooks), then its network namespace
    const onRoot = (injector: Injector, rootMade: boolean): void => {
      restoreNamespaces(ctx, tree, injector.pid);
      netRoot(injector, rootMade);
    };
    createTree(set, {
      helper, area, tasks: tree.tasks, plan, log, timeoutMs: request.timeoutMs ?? 10_000, onSession, onCreated, onCloned,
      rootFlags: rootCloneFlags(tree) | netNsRootFlags(netPlan), onRoot,
    });
  } finally {
    helper?.release();
  }
  const forkingUs = Number((process.hrtime.bigint() - started) / 1000n);
  const root = tree.tasks[0]!.pid;
  if (netPlan !== undefined) await setUpNetNs(netPlan, ctx, request, root, made);
  await interruptionPoint();
  restoreLiveTasks(set, tree, input, log, made.lazy);
  const pages = memory.pages;
  made.cgroups?.beforeResume();
  await stagePoint(FAULT.POST_RESTORE);
  // post-restore may still abort (the tasks are killed); pre-resume must not fail (criu(8))
  await request.runAction?.('post-restore', { pid: root });
  await request.runAction?.('pre-resume', { pid: root });
  // the network is unlocked and TCP repair turned off at the last moment, as upstream
  if (netPlan !== undefined) await request.runAction?.('network-unlock', { pid: root });
  finishTcpRestore(ctx, true);
  made.cgroups?.beforeDetach();
  resumeTree({ tasks: tree.tasks, area, leaveStopped: request.leaveStopped, log });
  if (made.lazy !== undefined) {
    finishLazy(made.lazy);
    made.lazy = undefined;
  }
  const restoreUs = Number((process.hrtime.bigint() - started) / 1000n);
  return { root, pids: tree.tasks.map((task) => task.pid), pagesRestored: pages, forkingUs, restoreUs };
}

/** CLONE_NEW* flags the root is cloned with: the tree's own namespaces but those whose kind makes them itself (time). */
function rootCloneFlags(tree: TreeImage): bigint {
  return tree.own.filter((ns) => ns.kind.unshared !== true).reduce((flags, ns) => flags | ns.kind.cloneFlag, 0n);
}

/** The tree's own namespaces, in the root just made (ns/namespace.ts): each kind's restore hook, in registry order. */
function restoreNamespaces(ctx: RestoreContext, tree: TreeImage, pid: number): void {
  const root = ctx.tasks.find((task) => task.pid === pid)!;
  for (const kind of namespaceKinds) {
    const ns = tree.own.find((own) => own.kind === kind);
    if (ns === undefined) continue;
    ctx.log.info(`restoring the tree's ${kind.name} namespace ${ns.id} in pid ${pid}`);
    kind.restore?.(ctx, ns.id, root);
  }
}

/**
 * --auto-dedup: the restored tasks' pages are punched out of every image of
 * the chain they came from (with --lazy-pages, not the lazy runs: the
 * daemon has yet to read them).
 */
function punchRestored(tree: TreeImage, log: Logger, lazy: boolean): void {
  let bytes = 0;
  for (const task of tree.tasks) {
    if (task.state === TASK_STATE.DEAD || !existsSync(imagePath(tree.dir, 'pagemap', task.nsPid))) continue;
    resolveChain(tree.dir, task.nsPid).forEach((level, depth) => {
      const runs = lazy && depth === 0 ? level.runs.filter((run) => (run.flags & PE_LAZY) === 0) : level.runs;
      bytes += punchRuns(level.dir, level.pagesId, runs);
    });
  }
  log.info(`--auto-dedup: ${bytes} bytes of restored pages punched out of the images`);
}

/** Restores the tree in request.imagesDir; resolves once it runs (or is left stopped). */
export async function restoreTree(request: RestoreRequest): Promise<RestoreResult> {
  const { log } = request;
  if (!existsSync(imagePath(request.imagesDir, 'inventory'))) {
    throw new CriuError(`${imagePath(request.imagesDir, 'inventory')} is missing: is ${request.imagesDir} a dump?`, { code: 'ENOENT' });
  }
  faultSetting();
  // the launcher's channel is for us alone, not for action scripts
  if (request.siblingChannel !== undefined) fcntl(request.siblingChannel, F.SETFD, FD_CLOEXEC);
  const tree = readTreeImage(request.imagesDir);
  checkPidsFree(tree);
  const rootPid = tree.tasks[0]!.pid;
  // the images name the root by its pid in its own pid namespace
  const netPlan = netNsPlan(request, tree.tasks[0]!.nsPid, log);
  await request.runAction?.('pre-restore', { pid: rootPid });
  const set = newTaskSet();
  const sibling = request.siblingChannel;
  const helper = sibling === undefined ? startFreeHelper(request, new Set(treeIds(tree))) : undefined;
  let result: RestoreResult;
  const made: Made = {};
  try {
    if (request.lazyPages !== undefined) made.lazy = connectLazyDaemon(request.lazyPages.workDir, log);
    made.cgroups = prepareCgroups(tree, request.cgroups, log);
    if (sibling !== undefined) {
      const ns = { flags: rootCloneFlags(tree), nsPid: tree.tasks[0]!.nsPid };
      makeSiblingRoot(sibling, rootPid, (pid) => set.processes.push(pid), log, request.timeoutMs ?? 10_000, ns);
    }
    result = await build(set, tree, helper === undefined ? { pid: rootPid, isRoot: true } : { pid: helper, isRoot: false }, request, made, netPlan);
    log.info(`restored ${result.pids.length} task(s), root ${result.root}, ${result.pagesRestored} pages`);
    writeRestoreStats(request.imagesDir, result, log);
    if (request.autoDedup === true) punchRestored(tree, log, request.lazyPages !== undefined);
    afterRestore(made.ctx, true);
    made.cgroups?.finish(true);
  } catch (error) {
    log.info('restore failed; every task made so far is killed');
    killAll(set, log);
    if (made.lazy !== undefined) abandonLazy(made.lazy);
    made.cgroups?.finish(false);
    if (made.ctx !== undefined) finishTcpRestore(made.ctx, false);
    afterRestore(made.ctx, false);
    throw error;
  } finally {
    if (helper !== undefined) killAndReap(helper);
    if (made.netns !== undefined) closeNetNs(made.netns);
  }
  // the tree runs now: a failing post-resume script is reported, it cannot undo the restore
  await request.runAction?.('post-resume', { pid: result.root });
  return result;
}

// The dump driver: validate, connect to the page server (--page-server),
// freeze, let every kind dump its part of every task, write the tree-wide
// images, sync, have the page server make the pages durable, hand the
// images on (afterImages: --stream, whose pageStream took each task's
// pages image during the dump), and only then kill the tree (or let it
// go, -R / -s). Any failure before the end puts every task back as it
// was and removes the images this dump wrote.
import { accessSync, closeSync, constants, fsyncSync, openSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CriuError, FAULT, faultPoint, faultSetting, stagePoint, type Logger } from '@criu-ts/base';
import { SIG, kill, syncfs } from '@criu-ts/kernel';
import { deferImageSync, prepareImageKinds } from '@criu-ts/images';
import { criuNamespaceIds, dedupImages, lockTreeNetNs, memoryKind, taskKinds, treeNetNs, unlockTreeNetNs, uptimeMicros, type DumpOptions, type FrozenCgroup, type PageStream, type TaskKind, type TaskRecord } from '@criu-ts/kinds';
import { connectPageServer, type ConnectOptions } from '@criu-ts/page-server';
import { createEngineContext, isGone, type EngineContext } from './dump-context.js';
import { freezeTreeVia } from './cgroup-freeze.js';
import { finishPageServer, pageSinkOf } from './page-server-sink.js';
import type { FrozenTask, FrozenTree } from './task-tree.js';
import { liveThreads } from './task-tree.js';
import { killTasks, releaseThreads } from './thread-stop.js';
import { linkParent } from './parent-link.js';
import { writeDumpStats, writeInventory, writePstree } from './tree-images.js';

export interface DumpRequest extends DumpOptions {
  /** root of the tree to dump (-t) */
  pid: number;
  /** -R/--leave-running */
  leaveRunning: boolean;
  /** -s/--leave-stopped */
  leaveStopped: boolean;
  /** --timeout, in seconds */
  timeoutSeconds: number;
  log: Logger;
  /** runs the --action-script hooks; a rejection fails the dump */
  runAction?: (action: 'pre-dump' | 'post-dump' | 'network-lock' | 'network-unlock', env: { pid: number }) => Promise<void>;
  /** --page-server: send page data there (connected before freezing) instead of writing pagemap/pages images */
  pageServer?: ConnectOptions;
  /**
   * Called once every image is written and synced (and the page server has
   * the pages), before the tree is killed or released: --stream writes the
   * images out here. A rejection fails the dump and the tree runs on.
   */
  afterImages?: (imagesDir: string) => void | Promise<void>;
  /**
   * --stream: the output stream; each task's pages image goes into it as
   * a member while the task is dumped (no pages image in imagesDir), and
   * afterImages then appends the rest and the end marker.
   */
  pageStream?: PageStream;
  /** --prev-images-dir as given (relative to the images dir): linked as imagesDir/parent */
  prevImagesDir?: string;
  /** --freeze-cgroup DIR: stop the tree with this freezer cgroup before seizing it */
  freezeCgroup?: string;
}

export interface DumpResult {
  tree: FrozenTree;
  stats: EngineContext['stats'];
  freezingUs: number;
  frozenUs: number;
}

export function checkImagesDir(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (error) {
    throw new CriuError(`images directory ${dir} does not exist`, { code: 'ENOENT', cause: error });
  }
  if (!isDir) throw new CriuError(`images directory ${dir} is not a directory`, { code: 'ENOTDIR' });
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new CriuError(`images directory ${dir} is not writable`, { code: 'EACCES', cause: error });
  }
}

/**
 * Dump the tree rooted at request.pid into request.imagesDir. With
 * request.preDump this is `criu pre-dump`: memory only (pagemap-PID.img,
 * pages-N.img, inventory.img, stats-dump), dirty tracking armed for the
 * next run, the tree frozen only while its pages are copied and then left
 * running.
 */
export async function dumpTree(request: DumpRequest): Promise<DumpResult> {
  const { log } = request;
  faultSetting();
  checkImagesDir(request.imagesDir);
  // images are made durable together, by syncDir, before the tree is killed
  deferImageSync(true);
  try {
    if (request.prevImagesDir !== undefined) {
      const parentDir = resolve(request.imagesDir, request.prevImagesDir);
      return await linkParent(request.imagesDir, request.prevImagesDir, log, () => dumpChecked({ ...request, parentDir }));
    }
    return await dumpChecked(request);
  } finally {
    deferImageSync(false);
  }
}

async function dumpChecked(given: DumpRequest): Promise<DumpResult> {
  let request = given;
  const { log } = request;
  await request.runAction?.('pre-dump', { pid: request.pid });
  const pageServer = request.pageServer === undefined ? undefined : await connectPageServer(request.pageServer);
  if (pageServer !== undefined) log.info(`connected to ${pageServer.name}`);
  const kinds = request.preDump ? [memoryKind] : taskKinds;
  const runId = randomUUID();
  let tree: FrozenTree;
  let prepared: Record<string, unknown>;
  let started: bigint;
  let cgroup: FrozenCgroup | undefined;
  try {
    prepared = Object.assign({}, ...kinds.map((kind) => kind.prepareDump?.() ?? {}));
    // the entries' schema types are built now, not while the tree is frozen
    prepareImageKinds(new Set([...kinds.flatMap((kind) => kind.images), 'pstree', 'inventory', 'stats']));
    started = process.hrtime.bigint();
    ({ tree, cgroup } = freezeTreeVia(request.freezeCgroup, request.pid, { log: log.child('freeze'), timeoutMs: request.timeoutSeconds * 1000 }));
    if (cgroup !== undefined) request = { ...request, cgroups: { ...request.cgroups, freezerState: cgroup.origin } };
  } catch (error) {
    pageServer?.close();
    throw error;
  }
  const frozen = process.hrtime.bigint();
  const pageSink = pageServer === undefined ? undefined : pageSinkOf(pageServer);
  const ctx = createEngineContext(request, log, tree.tasks, { pageSink, pageStream: request.pageStream, runId }, prepared);
  try {
    faultPoint(FAULT.DUMP_EARLY);
    await stagePoint(FAULT.DUMP_FREEZE);
    if (!request.preDump) await lockNetwork(request, ctx);
    dumpTasks(ctx, tree, kinds);
    await stagePoint(FAULT.DUMP_WRITE);
    if (!request.preDump) writePstree(request.imagesDir, tree.tasks);
    const track = request.preDump || request.trackMem === true;
    writeInventory(request.imagesDir, request.preDump ? {} : criuIds(ctx), {
      rootCgSet: request.preDump ? undefined : 1,
      runId,
      networkLock: request.networkLock ?? 'iptables',
      tcpClose: request.tcpClose === true,
      dumpUptime: track ? uptimeMicros() : undefined,
      preDumpMode: request.preDump ? (request.preDumpMode === 'read' ? 2 : 1) : undefined,
    });
    ctx.closeImages();
    const frozenUs = microsSince(frozen);
    writeDumpStats(request.imagesDir, ctx.stats, { freezing: Number((frozen - started) / 1000n), frozen: frozenUs });
    await stagePoint(FAULT.DUMP_SYNC);
    syncDir(request.imagesDir);
    // --auto-dedup: the parents' copies of what this run holds, once its own images are durable
    if (request.autoDedup && request.parentDir !== undefined && pageServer === undefined) dedupImages(request.imagesDir, log);
    ctx.releaseInjectors();
    finishPageServer(pageServer, log);
    await request.afterImages?.(request.imagesDir);
    // post-dump runs with the tree still frozen; if it fails, the tree goes on running
    await request.runAction?.('post-dump', { pid: request.pid });
    await stagePoint(FAULT.DUMP_KILL);
    if (request.leaveRunning) await networkUnlockScripts(request, ctx);
    finish(request, tree, ctx);
    if (request.leaveRunning || request.leaveStopped) cgroup?.restoreOrigin();
    return { tree, stats: ctx.stats, freezingUs: Number((frozen - started) / 1000n), frozenUs };
  } catch (error) {
    log.info('dump failed; the tree is left running as it was');
    ctx.releaseInjectors();
    await networkUnlockScripts(request, ctx);
    ctx.runOn();
    releaseThreads(liveThreads(tree), log);
    cgroup?.restoreOrigin();
    pageServer?.close();
    ctx.discardImages();
    faultPoint(FAULT.DUMP_CRASH);
    throw error;
  }
}

/**
 * criu(8)'s network-lock stage: a tree with a network namespace of its own
 * has it locked whole before any socket is dumped, and unlocked (after
 * every connection is out of repair mode: the undo registered first runs
 * last) when the tree runs on; without one, connections are locked as
 * they are dumped.
 */
async function lockNetwork(request: DumpRequest, ctx: EngineContext): Promise<void> {
  ctx.onRunOn?.(() => unlockTreeNetNs(ctx));
  await lockTreeNetNs(ctx, (action) => request.runAction?.(action, { pid: request.pid }) ?? Promise.resolve());
}

/** The network-unlock action scripts, when the tree runs on with its namespace locked; a failing script is reported only. */
async function networkUnlockScripts(request: DumpRequest, ctx: EngineContext): Promise<void> {
  try {
    if (treeNetNs(ctx)?.locked !== true) return;
    await request.runAction?.('network-unlock', { pid: request.pid });
  } catch (error) {
    ctx.log.warn(`network-unlock: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function dumpTasks(ctx: EngineContext, tree: FrozenTree, kinds: readonly TaskKind[]): void {
  for (const task of tree.tasks) {
    const record: TaskRecord = { ids: {} };
    const log = ctx.log.child(`pid ${task.pid}`);
    for (const kind of kinds) {
      if (task.zombie) {
        kind.dumpZombie?.(ctx, task, record);
        continue;
      }
      log.debug(`dumping ${kind.name}`);
      try {
        faultPoint(FAULT.DUMP_KIND, kind.name);
        kind.dump(ctx, task, record);
      } catch (error) {
        if (isGone(error)) throw new CriuError(`pid ${task.pid} exited while it was being dumped`, { code: 'ESRCH', cause: error });
        throw error;
      }
    }
  }
  for (const kind of kinds) kind.afterTasks?.(ctx);
}

/**
 * inventory's root_ids are criu's own ids, as upstream writes them: its
 * namespaces (which restore compares with the tasks' to learn which
 * namespaces the tree had of its own), sighand 1, and fresh ids for its
 * mm, fd table and fs.
 */
function criuIds(ctx: EngineContext): Record<string, number> {
  const namespaces = Object.entries(criuNamespaceIds(ctx)).filter((entry): entry is [string, number] => entry[1] !== undefined);
  return { vm_id: ctx.nextId(), files_id: ctx.nextId(), fs_id: ctx.nextId(), sighand_id: 1, ...Object.fromEntries(namespaces) };
}

function microsSince(start: bigint): number {
  return Number((process.hrtime.bigint() - start) / 1000n);
}

/**
 * Make the image set durable: the images were closed without an fsync each
 * (deferImageSync), so one syncfs(2) of the directory's filesystem writes
 * them all out with a single journal commit, then the directory itself.
 */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    syncfs(fd, dir);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** After a successful dump: kill the tree (default), or let it run / stop. */
function finish(request: DumpRequest, tree: FrozenTree, ctx: EngineContext): void {
  const { log } = ctx;
  const threads = liveThreads(tree);
  const live = tree.tasks.filter((task: FrozenTask) => !task.zombie);
  if (request.leaveRunning) {
    ctx.runOn();
    releaseThreads(threads, log);
    log.info('dump done; the tree keeps running (--leave-running)');
    return;
  }
  if (request.leaveStopped) {
    for (const task of live) if (!task.wasStopped) kill(task.pid, SIG.STOP);
    releaseThreads(threads, log);
    log.info('dump done; the tree is left stopped (--leave-stopped)');
    return;
  }
  killTasks(live.map((task) => task.pid), threads, log);
  log.info('dump done; the tree was killed');
}

/**
 * `criu pre-dump` (also RPC PRE_DUMP): the tree's memory into
 * request.imagesDir (pagemap-PID.img, pages-N.img, inventory.img with
 * dump_uptime and pre_dump_mode, stats-dump), pages unchanged since
 * request.prevImagesDir's run left to it as PE_PARENT, dirty tracking armed
 * for the next run; the tree is frozen while its pages are copied, then
 * runs on. On failure nothing is left in the images dir, the tree runs on
 * as before, and the next run dumps every page.
 */
export function preDumpTree(request: Omit<DumpRequest, 'preDump' | 'leaveRunning' | 'leaveStopped' | 'trackMem'>): Promise<DumpResult> {
  return dumpTree({ ...request, preDump: true, leaveRunning: true, leaveStopped: false, trackMem: true });
}

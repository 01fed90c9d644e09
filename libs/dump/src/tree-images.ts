// The images that describe the dump as a whole: pstree.img (the tree's
// shape and ids), inventory.img (format version, root task's ids) and
// stats-dump (timings and page counts), as criu(8) writes them.
import { imagePath, writeImage, type Messages } from '@criu-ts/images';
import { NET_LOCK_NUMBER, type DumpStats, type NetLockMethod } from '@criu-ts/kinds';
import type { FrozenTask } from './task-tree.js';

/** CRTOOLS_IMAGES_V1_1: images with per-id fdinfo and ns files. */
const IMAGES_V1_1 = 2;

/**
 * pstree.img: every task with its ids as the tree's pid namespace sees
 * them, as upstream writes it (the root of a tree with a pid namespace of
 * its own is its init, pid 1, with ppid 0).
 */
export function writePstree(dir: string, tasks: readonly FrozenTask[]): void {
  const own = tasks[0] !== undefined && tasks[0].ns !== undefined && tasks[0].ns.pid !== tasks[0].pid;
  writeImage(
    imagePath(dir, 'pstree'),
    'pstree',
    tasks.map((task, i) => {
      const ns = own ? task.ns ?? task : undefined;
      return {
        pid: ns?.pid ?? task.pid,
        ppid: ns === undefined ? task.ppid : i === 0 ? 0 : nsPidOf(tasks, task.ppid),
        pgid: ns?.pgid ?? task.pgid,
        sid: ns?.sid ?? task.sid,
        threads: task.threads.map((thread) => (own ? thread.nsTid ?? thread.tid : thread.tid)),
      };
    }),
  );
}

function nsPidOf(tasks: readonly FrozenTask[], pid: number): number {
  return tasks.find((task) => task.pid === pid)?.ns?.pid ?? pid;
}

/** What inventory.img records of how this dump was made. */
export interface InventoryFacts {
  /** names the nftables lock table */
  runId: string;
  networkLock: NetLockMethod;
  /** --tcp-close: restore must be given it too */
  tcpClose: boolean;
  /** --track-mem / pre-dump: µs since boot when dumped (pid-reuse detection by the next run) */
  dumpUptime?: bigint;
  /** pre-dump: PRE_DUMP_SPLICE 1 or PRE_DUMP_READ 2 */
  preDumpMode?: number;
  /** the cgroup set criu was in (the cgroup kind's set 1), as upstream writes it */
  rootCgSet?: number;
}

export function writeInventory(dir: string, rootIds: Record<string, number>, facts: InventoryFacts): void {
  const entry: Messages['inventory_entry'] = {
    img_version: IMAGES_V1_1,
    fdinfo_per_id: true,
    ns_per_id: true,
    lsmtype: 0,
    network_lock_method: NET_LOCK_NUMBER[facts.networkLock],
    dump_criu_run_id: facts.runId,
  };
  if (facts.tcpClose) entry.tcp_close = true;
  if (facts.dumpUptime !== undefined) entry.dump_uptime = facts.dumpUptime;
  if (facts.preDumpMode !== undefined) entry.pre_dump_mode = facts.preDumpMode;
  if (facts.rootCgSet !== undefined) entry.root_cg_set = facts.rootCgSet;
  // the core kind fills the ids; until every required one is there, leave them out
  if (['vm_id', 'files_id', 'fs_id', 'sighand_id'].every((name) => name in rootIds)) {
    entry.root_ids = rootIds as unknown as Messages['task_kobj_ids_entry'];
  }
  writeImage(imagePath(dir, 'inventory'), 'inventory', [entry]);
}

export interface DumpTimes {
  /** microseconds from the start of freezing until every thread stopped */
  freezing: number;
  /** microseconds the tree stayed frozen */
  frozen: number;
}

export function writeDumpStats(dir: string, stats: DumpStats, times: DumpTimes): void {
  const dump: Messages['dump_stats_entry'] = {
    freezing_time: times.freezing,
    frozen_time: times.frozen,
    memdump_time: stats.memdumpTime,
    memwrite_time: stats.memwriteTime,
    pages_scanned: BigInt(stats.pagesScanned),
    pages_skipped_parent: BigInt(stats.pagesSkippedParent),
    pages_written: BigInt(stats.pagesWritten),
    pages_lazy: BigInt(stats.pagesLazy),
    shpages_scanned: BigInt(stats.shpagesScanned),
    shpages_skipped_parent: 0n,
    shpages_written: BigInt(stats.shpagesWritten),
  };
  writeImage(imagePath(dir, 'stats', 'dump'), 'stats', [{ dump }]);
}

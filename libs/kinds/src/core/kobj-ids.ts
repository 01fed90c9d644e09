// Object ids of ids-PID.img (task_kobj_ids_entry) that the core kind owns:
// sighand_id and the namespace ids. Numbered as upstream CRIU 4.x numbers
// them: one counter for all namespace kinds, starting at 1, handing an id
// to each (kind, inode) the first time it is seen — CRIU's own namespaces
// first (prepare_inventory runs before the tree is walked), then each task
// in tree order, kinds in the order pid, net, ipc, uts, time, mnt, user,
// cgroup. sighand ids come from their own counter, 1 being CRIU's.
//
// Namespaces but the network and mount namespaces are not dumped: upstream
// would take a namespace of the root task that differs from CRIU's into the
// image and refuses nested ones, so any task whose namespace differs from
// ours is refused here with UnsupportedError — but a network namespace
// (ns/net-ns.ts) or mount namespace (mounts/mnt-kind.ts) of the root's own,
// that all its tasks share. The table is per dump
// (DumpContext.shared); inventory.img's root_ids take criuNamespaceIds().
import { UnsupportedError } from '@criu-ts/base';
import { KCMP, KCMP_RESULT, kcmp } from '@criu-ts/kernel';
import { readNamespaces } from '@criu-ts/proc';
import type { Messages } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';

export type TaskKobjIds = Messages['task_kobj_ids_entry'];
export type NamespaceIds = Pick<TaskKobjIds, 'pid_ns_id' | 'net_ns_id' | 'ipc_ns_id' | 'uts_ns_id' | 'mnt_ns_id' | 'user_ns_id' | 'cgroup_ns_id' | 'time_ns_id'>;

/** /proc/PID/ns entry → its ids field, in upstream's numbering order. */
export const NAMESPACE_ORDER: readonly (readonly [string, keyof NamespaceIds])[] = [
  ['pid', 'pid_ns_id'],
  ['net', 'net_ns_id'],
  ['ipc', 'ipc_ns_id'],
  ['uts', 'uts_ns_id'],
  ['time', 'time_ns_id'],
  ['mnt', 'mnt_ns_id'],
  ['user', 'user_ns_id'],
  ['cgroup', 'cgroup_ns_id'],
];

interface KobjTable {
  /** `${kind}:${inode}` → id */
  namespaces: Map<string, number>;
  nextNsId: number;
  criu: NamespaceIds;
  criuInodes: Record<string, number>;
  /** pid → sighand id of every task seen */
  sighands: Map<number, number>;
  nextSighandId: number;
}

/** Ids for the namespaces in `inodes` (from readNamespaces), numbering new ones. */
export function numberNamespaces(table: Pick<KobjTable, 'namespaces' | 'nextNsId'>, inodes: Record<string, number>): NamespaceIds {
  const ids: NamespaceIds = {};
  for (const [kind, field] of NAMESPACE_ORDER) {
    const inode = inodes[kind] ?? 0;
    const key = `${kind}:${inode}`;
    let id = table.namespaces.get(key);
    if (id === undefined) {
      id = table.nextNsId++;
      table.namespaces.set(key, id);
    }
    if (inode !== 0) ids[field] = id;
  }
  return ids;
}

function kobjTable(ctx: DumpContext): KobjTable {
  return ctx.shared('core.kobj-ids', () => {
    const table: KobjTable = { namespaces: new Map(), nextNsId: 1, criu: {}, criuInodes: {}, sighands: new Map(), nextSighandId: 2 };
    table.criuInodes = readNamespaces(process.pid);
    table.criu = numberNamespaces(table, table.criuInodes);
    return table;
  });
}

/** CRIU's own namespace ids (for inventory.img root_ids). */
export function criuNamespaceIds(ctx: DumpContext): NamespaceIds {
  return { ...kobjTable(ctx).criu };
}

/** The namespace kinds a tree may have of its own (its root's, shared by every task), by the word messages use. */
const TREE_KINDS: Readonly<Record<string, string>> = { net: 'network', mnt: 'mount' };

/**
 * The id of the namespace of `kind` with `inode` (a namespace file's
 * target) if it is one of criu's own, or the tree's own network or mount
 * namespace — the only namespaces a dumped tree may live in today;
 * undefined for any other.
 */
export function knownNamespaceId(ctx: DumpContext, kind: string, inode: number): number | undefined {
  const table = kobjTable(ctx);
  const root = ctx.tasks[0]?.pid;
  if (kind in TREE_KINDS && root !== undefined && inode === treeInode(ctx, root, kind) && inode !== table.criuInodes[kind]) {
    // the tree's own namespace: numbered with the root's ids
    const field = NAMESPACE_ORDER.find(([name]) => name === kind)![1];
    return taskNamespaceIds(ctx, root)[field];
  }
  if (table.criuInodes[kind] !== inode) return undefined;
  return table.namespaces.get(`${kind}:${inode}`);
}

/**
 * The namespace ids of a task; UnsupportedError if it lives in a namespace
 * other than ours — but for the network and mount namespaces, which the
 * tree may have of its own (ns/net-ns.ts, mounts/mnt-kind.ts dump them):
 * the root's, shared by every task (a task in one other than its root's is
 * refused).
 */
export function taskNamespaceIds(ctx: DumpContext, pid: number): NamespaceIds {
  const table = kobjTable(ctx);
  const inodes = readNamespaces(pid);
  const root = ctx.tasks[0]?.pid;
  for (const [kind] of NAMESPACE_ORDER) {
    const inode = inodes[kind] ?? 0;
    if (inode === (table.criuInodes[kind] ?? 0)) continue;
    // the tree's own cgroup namespace is the cgroup kind's (cgns_prefix in cgroup.img); not a nested one
    if (kind === 'cgroup' && inode === readNamespaces(ctx.tasks[0]?.pid ?? pid).cgroup) continue;
    const word = TREE_KINDS[kind];
    if (word === undefined) throw new UnsupportedError({ pid, kind: `a ${kind} namespace other than criu's (namespaces are not dumped yet)` });
    const rootInode = root === undefined || root === pid ? inode : treeInode(ctx, root, kind);
    if (inode !== rootInode) {
      throw new UnsupportedError({ pid, kind: `a ${word} namespace other than its root task's (nested ${word} namespaces are not dumped)` });
    }
  }
  return numberNamespaces(table, inodes);
}

/** The inode of the root task's namespace of `kind`, read once per dump. */
function treeInode(ctx: DumpContext, root: number, kind: string): number {
  return ctx.shared(`core.tree-${kind}-inode`, () => readNamespaces(root)[kind] ?? 0);
}

/**
 * The task's sighand id. Signal handlers shared between processes
 * (CLONE_SIGHAND without CLONE_THREAD) cannot be restored, as upstream
 * refuses them too: UnsupportedError.
 */
export function sighandId(ctx: DumpContext, pid: number): number {
  const table = kobjTable(ctx);
  const known = table.sighands.get(pid);
  if (known !== undefined) return known;
  for (const other of table.sighands.keys()) {
    if (kcmp(pid, other, KCMP.SIGHAND) === KCMP_RESULT.EQUAL) {
      throw new UnsupportedError({ pid, kind: `signal handlers shared with process ${other} (CLONE_SIGHAND)` });
    }
  }
  const id = table.nextSighandId++;
  table.sighands.set(pid, id);
  return id;
}

// Object ids of ids-PID.img (task_kobj_ids_entry) that the core kind owns:
// sighand_id and the namespace ids. Numbered as upstream CRIU 4.x numbers
// them: one counter for all namespace kinds, starting at 1, handing an id
// to each (kind, inode) the first time it is seen — CRIU's own namespaces
// first (prepare_inventory runs before the tree is walked), then each task
// in tree order, kinds in the order pid, net, ipc, uts, time, mnt, user,
// cgroup. sighand ids come from their own counter, 1 being CRIU's.
//
// A namespace of the tree's root that differs from CRIU's is the tree's own
// (ns/namespace.ts): taken along if its kind is registered in
// ns/registry.ts and does not refuse it; a task in a namespace that is
// neither criu's nor the root's (nested) is refused, as upstream refuses
// it, and so is a pid namespace whose init is not the root. The table is
// per dump (DumpContext.shared); inventory.img's root_ids take
// criuNamespaceIds(), and the dump of each own namespace runs from
// treeNamespaces().
import { UnsupportedError } from '@criu-ts/base';
import { KCMP, KCMP_RESULT, kcmp } from '@criu-ts/kernel';
import { readNamespaces } from '@criu-ts/proc';
import type { Messages } from '@criu-ts/images';
import { imagePid, type DumpContext } from '../dump-context.js';
import { namespaceKindOf } from '../ns/registry.js';
import type { NamespaceKind } from '../ns/namespace.js';

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
  /** the root's namespace inodes, read on first use */
  rootInodes?: Record<string, number>;
  /** the tree's own namespaces (the root's that are not criu's), by kind name */
  own: Map<string, TreeNamespace>;
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
    const table: KobjTable = { namespaces: new Map(), nextNsId: 1, criu: {}, criuInodes: {}, own: new Map(), sighands: new Map(), nextSighandId: 2 };
    table.criuInodes = readNamespaces(process.pid);
    table.criu = numberNamespaces(table, table.criuInodes);
    return table;
  });
}

/** CRIU's own namespace ids (for inventory.img root_ids). */
export function criuNamespaceIds(ctx: DumpContext): NamespaceIds {
  return { ...kobjTable(ctx).criu };
}

/**
 * The id of the namespace of `kind` with `inode` (a namespace file's
 * target) if the dumped tree lives in it — criu's own, or one of the
 * tree's own (the root's, known once its ids are taken); undefined for any
 * other.
 */
export function knownNamespaceId(ctx: DumpContext, kind: string, inode: number): number | undefined {
  const table = kobjTable(ctx);
  const own = table.own.get(kind);
  if (table.criuInodes[kind] !== inode && (own === undefined || table.rootInodes?.[kind] !== inode)) return undefined;
  return table.namespaces.get(`${kind}:${inode}`);
}

/** A namespace the tree has of its own: its kind, id, and the root living in it. */
export interface TreeNamespace {
  kind: NamespaceKind;
  id: number;
  pid: number;
}

/** The tree's own namespaces, in registry order (known once the root's ids are taken). */
export function treeNamespaces(ctx: DumpContext): TreeNamespace[] {
  return [...kobjTable(ctx).own.values()];
}

/** Why the tree's root may not have a namespace of `kind` of its own; undefined if it may. */
function refusalOf(ctx: DumpContext, kind: string, pid: number): string | undefined {
  const module = namespaceKindOf(kind);
  if (module === undefined) return `a ${kind} namespace other than criu's (namespaces of this kind are not dumped yet)`;
  if (module.refuse !== undefined) return `a ${kind} namespace other than criu's (${module.refuse})`;
  if (kind === 'pid' && imagePid(ctx, pid) !== 1) {
    return `a pid namespace other than criu's whose init is not the dumped root (pid ${imagePid(ctx, pid)} in it): dump the tree from its init`;
  }
  const outside = kind === 'pid' ? ctx.tasks.find((task) => task.ns !== undefined && (task.ns.sid === 0 || task.ns.pgid === 0)) : undefined;
  if (outside !== undefined) {
    return `a pid namespace whose task ${outside.pid} has its ${outside.ns!.sid === 0 ? 'session' : 'process group'} leader outside the namespace (as upstream, refused: make the init a session leader, setsid)`;
  }
  return undefined;
}

/**
 * The namespace ids of a task. UnsupportedError if it lives in a namespace
 * that is neither criu's nor the tree root's, or the root's own namespace
 * of that kind cannot be dumped.
 */
export function taskNamespaceIds(ctx: DumpContext, pid: number): NamespaceIds {
  const table = kobjTable(ctx);
  const rootPid = ctx.tasks[0]?.pid ?? pid;
  table.rootInodes ??= readNamespaces(rootPid);
  const inodes = pid === rootPid ? table.rootInodes : readNamespaces(pid);
  for (const [kind] of NAMESPACE_ORDER) {
    const inode = inodes[kind] ?? 0;
    if (inode === (table.criuInodes[kind] ?? 0)) continue;
    if (inode !== (table.rootInodes[kind] ?? 0)) {
      throw new UnsupportedError({ pid, kind: `a ${kind} namespace nested in the dumped tree's (only the root's namespaces are dumped, as upstream)` });
    }
    const refusal = refusalOf(ctx, kind, rootPid);
    if (refusal !== undefined) throw new UnsupportedError({ pid, kind: refusal });
  }
  for (const kind of ['pid', 'time']) {
    const forChildren = inodes[`${kind}_for_children`];
    if (forChildren !== undefined && forChildren !== inodes[kind]) {
      throw new UnsupportedError({ pid, kind: `a ${kind} namespace made for its children (unshare CLONE_NEW${kind.toUpperCase()}): nested ${kind} namespaces are not dumped, as upstream` });
    }
  }
  const ids = numberNamespaces(table, inodes);
  if (pid === rootPid) noteOwn(table, ids, rootPid);
  return ids;
}

function noteOwn(table: KobjTable, ids: NamespaceIds, rootPid: number): void {
  for (const [kind, field] of NAMESPACE_ORDER) {
    const id = ids[field];
    const module = namespaceKindOf(kind);
    if (id === undefined || id === table.criu[field] || module === undefined || table.own.has(kind)) continue;
    table.own.set(kind, { kind: module, id, pid: rootPid });
  }
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

// Object ids of ids-PID.img (task_kobj_ids_entry) that the core kind owns:
// sighand_id and the namespace ids. Numbered as upstream CRIU 4.x numbers
// them: one counter for all namespace kinds, starting at 1, handing an id
// to each (kind, inode) the first time it is seen — CRIU's own namespaces
// first (prepare_inventory runs before the tree is walked), then each task
// in tree order, kinds in the order pid, net, ipc, uts, time, mnt, user,
// cgroup. sighand ids come from their own counter, 1 being CRIU's.
//
// Of the namespaces only the mount namespace is dumped (mounts/mnt-kind.ts):
// the tree's root may have one of its own, which every other task must
// share (upstream refuses nested ones too); any other namespace that differs
// from ours is refused here with UnsupportedError. The table is per dump
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

/**
 * The id of the namespace of `kind` with `inode` (a namespace file's
 * target) if it is one of criu's own or the tree's own mount namespace —
 * the only namespaces a dumped tree may live in today; undefined for any
 * other.
 */
export function knownNamespaceId(ctx: DumpContext, kind: string, inode: number): number | undefined {
  const table = kobjTable(ctx);
  const rootPid = ctx.tasks[0]?.pid;
  // the tree's own mount namespace, numbered when its root was dumped (mounts/mnt-kind.ts)
  const treeMnt = kind === 'mnt' && rootPid !== undefined && readNamespaces(rootPid).mnt === inode;
  if (table.criuInodes[kind] !== inode && !treeMnt) return undefined;
  return table.namespaces.get(`${kind}:${inode}`);
}

/** The namespace ids of a task; UnsupportedError if it lives in a namespace other than ours (but for the tree's own mount namespace). */
export function taskNamespaceIds(ctx: DumpContext, pid: number): NamespaceIds {
  const table = kobjTable(ctx);
  const inodes = readNamespaces(pid);
  const root = ctx.tasks[0]?.pid ?? pid;
  const rootMnt = root === pid ? inodes.mnt : readNamespaces(root).mnt;
  for (const [kind] of NAMESPACE_ORDER) {
    if (kind === 'mnt' && inodes.mnt !== table.criuInodes.mnt) {
      if (inodes.mnt === rootMnt) continue;
      throw new UnsupportedError({ pid, kind: `a mount namespace other than the tree root's (pid ${root}) and criu's (nested mount namespaces)` });
    }
    if ((inodes[kind] ?? 0) !== (table.criuInodes[kind] ?? 0)) {
      throw new UnsupportedError({ pid, kind: `a ${kind} namespace other than criu's (namespaces are not dumped yet)` });
    }
  }
  return numberNamespaces(table, inodes);
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

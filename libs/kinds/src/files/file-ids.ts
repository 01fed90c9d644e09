// One id per open file DESCRIPTION in the whole dump: fds that share one
// (dup(2), inherited over fork(2), passed between tasks) get the same id.
// Candidates are grouped by device and inode so that kcmp(2) KCMP_FILE is
// only asked about fds that could be the same description, and kept in the
// order kcmp gives descriptions (a total order, as CRIU's tree uses it), so
// finding one among n opens of a single inode (/dev/null 9,000 times) takes
// log n kcmp calls, not n.
import { UnsupportedError } from '@criu-ts/base';
import { KCMP, KCMP_RESULT, kcmp } from '@criu-ts/kernel';
import type { FdTypes } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';

/** A dumped description: its id, and its file_entry type (known once its kind has dumped it). */
export interface Described {
  id: number;
  type: FdTypes;
}

interface Seen {
  pid: number;
  fd: number;
  desc: Described;
}

export interface FileIds {
  /** The description already dumped (or being dumped) that pid's fd shares, if any. */
  lookup(pid: number, fd: number, dev: bigint, ino: bigint): Described | undefined;
  /** Record a description as it is dumped (before its kind runs: a socket's queue may hold the socket itself). */
  add(pid: number, fd: number, dev: bigint, ino: bigint, desc: Described): void;
}

/** The kernel's order of two fds' descriptions (kcmp KCMP_FILE: equal, less, greater). */
export type CompareFds = (pid: number, fd: number, other: { pid: number; fd: number }) => number;

const kcmpFiles: CompareFds = (pid, fd, other) => kcmp(pid, other.pid, KCMP.FILE, BigInt(fd), BigInt(other.fd));

/** Where pid's fd is, or would go, in `sorted` (binary search by the kernel's order); found if it is there. */
function search(sorted: readonly Seen[], pid: number, fd: number, compare: CompareFds): { at: number; found?: Seen } {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const order = compare(pid, fd, sorted[mid]!);
    if (order === KCMP_RESULT.EQUAL) return { at: mid, found: sorted[mid]! };
    if (order === KCMP_RESULT.LESS) high = mid;
    else if (order === KCMP_RESULT.GREATER) low = mid + 1;
    else throw new Error(`kcmp(KCMP_FILE) of pid ${pid} fd ${fd} and pid ${sorted[mid]!.pid} fd ${sorted[mid]!.fd} gave no order (${order})`);
  }
  return { at: low };
}

/** The table; `compare` is kcmp(2) but for tests. */
export function createFileIds(compare: CompareFds = kcmpFiles): FileIds {
  const byInode = new Map<string, Seen[]>();
  const key = (dev: bigint, ino: bigint): string => `${dev}:${ino}`;
  return {
    lookup(pid, fd, dev, ino) {
      return search(byInode.get(key(dev, ino)) ?? [], pid, fd, compare).found?.desc;
    },
    add(pid, fd, dev, ino, desc) {
      const list = byInode.get(key(dev, ino)) ?? [];
      const { at, found } = search(list, pid, fd, compare);
      if (found === undefined) list.splice(at, 0, { pid, fd, desc });
      byInode.set(key(dev, ino), list);
    },
  };
}

/** The dump-wide table of file descriptions. */
export function fileIds(ctx: DumpContext): FileIds {
  return ctx.shared('files.descriptions', () => createFileIds());
}

/**
 * Tasks sharing one object (an fs_struct with CLONE_FS) share its id: the
 * first task's id, found with kcmp(2).
 */
export function sharedObjectId(ctx: DumpContext, table: string, pid: number, kcmpType: number): { id: number; fresh: boolean } {
  const owners = ctx.shared(table, () => new Map<number, number>());
  for (const [other, id] of owners) {
    if (kcmp(pid, other, kcmpType) === KCMP_RESULT.EQUAL) return { id, fresh: false };
  }
  const id = ctx.nextId();
  owners.set(pid, id);
  return { id, fresh: true };
}

interface FdTables {
  /** the first task seen with each table → its id (the tasks kcmp compares with) */
  owners: Map<number, number>;
  /** every task seen → the id of its table */
  byTask: Map<number, number>;
}

/**
 * files_id of a task (tasks are dumped parents first): a table shared
 * with an earlier task (clone(2) with CLONE_FILES, found with kcmp(2)
 * KCMP_FILES) has that task's id, and `fresh` false (it is dumped once).
 * Only a table shared with the parent can be restored — the child is
 * cloned with CLONE_FILES from it —, so one shared with any other task is
 * refused, as upstream refuses it ("Can't make FILES id").
 */
export function fdTableId(ctx: DumpContext, task: { pid: number; ppid: number }): { id: number; fresh: boolean } {
  const tables = ctx.shared<FdTables>('files.tables', () => ({ owners: new Map(), byTask: new Map() }));
  for (const [other, id] of tables.owners) {
    if (kcmp(task.pid, other, KCMP.FILES) !== KCMP_RESULT.EQUAL) continue;
    if (tables.byTask.get(task.ppid) !== id) {
      throw new UnsupportedError({ pid: task.pid, kind: `an fd table shared with pid ${other}, which is not its parent (CLONE_FILES)`, hint: 'only a task sharing its parent\'s fd table can be restored' });
    }
    tables.byTask.set(task.pid, id);
    return { id, fresh: false };
  }
  const id = ctx.nextId();
  tables.owners.set(task.pid, id);
  tables.byTask.set(task.pid, id);
  return { id, fresh: true };
}

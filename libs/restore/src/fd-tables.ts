// Which tasks share an fd table (clone(2) with CLONE_FILES, not threads):
// a task whose files_id is its parent's is cloned with CLONE_FILES from
// that parent, so the kernel shares the table again, and the table is
// restored once, by its owner — the topmost task of the chain of parents
// that share it (the first of them in tree order, as upstream's
// shared_fdt_prepare picks it). Upstream's dump writes no other sharing
// (a task sharing a table with any task but its parent is refused there),
// so images where one is found are refused before any task exists.
import { UnsupportedError } from '@criu-ts/base';

/** pid of every task that shares its parent's fd table → the pid of the table's owner. */
export type FdTableOwners = ReadonlyMap<number, number>;

/** The owners of shared fd tables; refuses a files_id shared other than along the chain of parents. */
export function planFdTables(tasks: readonly { pid: number; ppid: number; filesId?: number }[]): FdTableOwners {
  const owners = new Map<number, number>();
  const filesIdOf = new Map(tasks.map((task) => [task.pid, task.filesId]));
  const firstUser = new Map<number, number>();
  for (const task of tasks) {
    const id = task.filesId;
    if (id === undefined) continue;
    const first = firstUser.get(id);
    if (first === undefined) {
      firstUser.set(id, task.pid);
      continue;
    }
    if (filesIdOf.get(task.ppid) !== id) {
      throw new UnsupportedError({ pid: task.pid, kind: `an fd table (files_id ${id}) shared with pid ${first}, which is not its parent` });
    }
    owners.set(task.pid, owners.get(task.ppid) ?? task.ppid);
  }
  return owners;
}

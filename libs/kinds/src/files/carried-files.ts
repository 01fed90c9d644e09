// Restore of files no task holds that other entries carry: fds in flight
// in a unix socket's queue (FdKind.carriedFiles). The files kind opens each
// in the tool by its own kind, as it opens the tasks' files, and before the
// kind that carries it (which sends our fd back into the queue). A kind
// that acts inside a task once its file is in place (FdKind.installed: an
// epoll adds its watches with the task's fd numbers) is given the task
// holding the socket the file is queued for — the one the dump checked the
// watches against: the file goes in at a free fd there for the hook and is
// closed after, as upstream does with its "fake" fds.
import { CriuError, errnoName } from '@criu-ts/base';
import { SYS, signed64 } from '@criu-ts/kernel';
import type { FdinfoEntry } from '@criu-ts/images';
import type { RestoreContext } from '../restore-context.js';
import type { CarriedFile, FdKind } from './fd-kind.js';
import { fdKinds } from './fd-registry.js';

export interface Carried extends CarriedFile {
  /** the kind whose entries carry it */
  by: FdKind;
}

/** Every carried file of the images that no task holds, once per id. */
export function carriedFiles(ctx: RestoreContext, held: ReadonlySet<number>): readonly Carried[] {
  return ctx.shared('files.carried', () => {
    const seen = new Set<number>(held);
    const carried: Carried[] = [];
    for (const by of fdKinds) {
      for (const file of by.carriedFiles?.(ctx) ?? []) {
        if (seen.has(file.id)) continue;
        seen.add(file.id);
        carried.push({ ...file, by });
      }
    }
    return carried;
  });
}

/** The first task holding the carrier of `file` (the socket it is queued for), if any. */
export function hostOf(file: CarriedFile, tasks: ReadonlyMap<number, { fds: readonly FdinfoEntry[] }>): number | undefined {
  for (const [pid, files] of tasks) if (files.fds.some((fd) => fd.id === file.carrier)) return pid;
  return undefined;
}

/** Free fd numbers of a task holding `taken`, lowest first. */
export function freeFds(taken: ReadonlySet<number>, count: number): number[] {
  const free: number[] = [];
  for (let fd = 0; free.length < count; fd++) if (!taken.has(fd)) free.push(fd);
  return free;
}

/** Closes fd in task pid once the hook of the file put there for it is done. */
export function closeInTask(ctx: RestoreContext, pid: number, fd: number): void {
  const result = signed64(ctx.injector(pid).syscall(SYS.close, fd));
  if (result < 0n) throw new CriuError(`pid ${pid}: closing fd ${fd} (a file in flight, put there for its kind): ${errnoName(Number(-result))}`, { code: errnoName(Number(-result)) });
}

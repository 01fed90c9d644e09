// Restore half of the files kind. The first task's turn makes every open
// file description of the whole tree once, in the tool (by its fd kind's
// open(), or from --inherit-fd), retrying those that wait for another;
// ghost files are removed once all are open. Each task then gets its fd
// table from fdinfo-FILES_ID.img in one injected batch (fd-install.ts),
// which also closes whatever fds it had (the helper's); its file locks
// (-l) are taken again and the kinds' installed() hooks run (epoll
// watches, ...). A file of the task's own /proc/PID/ (an fdinfo file it
// reads, say) can only be opened once its fds are in: it is opened then and
// installed in a second batch. Files in flight (fds queued on a unix
// socket, held by no task) are opened with the rest (carried-files.ts).
// When the last task has its fds, the tool's fds are closed and link-remap
// files removed. A task that shares its parent's fd table (it was cloned
// with CLONE_FILES, libs/restore fd-tables.ts) has its fds already: the
// table is installed once, in its owner.
import { CriuError, UnsupportedError } from '@criu-ts/base';
import { FD_CLOEXEC } from '@criu-ts/kernel';
import { FdTypes, imageFileName, readEntries, type FdinfoEntry, type FileEntry } from '@criu-ts/images';
import type { RestoreContext, RestoreTask } from '../restore-context.js';
import type { FdKind, FdRestoreEnv } from './fd-kind.js';
import { fdKindForType } from './fd-registry.js';
import { checkFdNumbers, installFds, type InstallFd } from './fd-install.js';
import { restoreLocks } from './file-locks.js';
import { inheritedFd, parseInheritFds, type InheritFd } from './inherit-fd.js';
import { closeOwnFds, fileEntry, finishFiles, keepOwnFd, restoreFiles, type RestoreFiles } from './restore-table.js';
import { carriedFiles, closeInTask, freeFds, hostOf, type Carried } from './carried-files.js';

interface Hook {
  entry: FileEntry;
  kind: FdKind;
  fd: number;
  /** a file in flight put at this fd for its hook only: closed once the hook is done */
  temporary?: boolean;
}

interface TaskFiles {
  fds: FdinfoEntry[];
  /** installed() hooks still to run; undefined until the fds are installed */
  hooks?: Hook[];
  /** files in flight whose installed() hook runs in this task (carried-files.ts) */
  guests: number[];
}

/** The fdinfo entries of every live task that owns its fd table, read once. */
function taskFiles(ctx: RestoreContext): Map<number, TaskFiles> {
  return ctx.shared('files.tasks', () => {
    const byTask = new Map<number, TaskFiles>();
    for (const task of ctx.tasks.filter((t) => !t.zombie)) {
      if (task.fdTableOwner !== undefined) {
        ctx.log.child('files').info(`pid ${task.pid} shares the fd table of pid ${task.fdTableOwner} (files_id ${task.filesId})`);
        continue;
      }
      if (task.filesId === undefined) {
        ctx.log.warn(`pid ${task.pid}: the images hold no fd table for it (no ids-${task.pid}.img, no ids in core-${task.pid}.img): its fds are left as they are`);
        continue;
      }
      const fds = readEntries(ctx.options.imagesDir, 'fdinfo', task.filesId);
      checkFdNumbers(fds, imageFileName('fdinfo', task.filesId), task.pid);
      byTask.set(task.pid, { fds, guests: [] });
    }
    return byTask;
  });
}

/** The files in flight no task holds; those whose kind acts inside a task get a host task (carried-files.ts). */
function filesInFlight(ctx: RestoreContext, tasks: Map<number, TaskFiles>): readonly Carried[] {
  const held = new Set([...tasks.values()].flatMap((t) => t.fds.map((fd) => fd.id)));
  const carried = carriedFiles(ctx, held);
  for (const file of carried) {
    const entry = fileEntry(ctx, file.id, `file id ${file.id} in flight`);
    if (kindFor(entry, ctx.tasks[0]?.pid ?? 0).installed === undefined) continue;
    const host = hostOf(file, tasks);
    if (host === undefined) throw new CriuError(`file id ${file.id} in flight: its kind acts inside a task, but no task holds the socket (id ${file.carrier}) it is queued for`, { code: 'EUNSUPPORTED' });
    tasks.get(host)!.guests.push(file.id);
  }
  return carried;
}

function fdEnv(ctx: RestoreContext, table: RestoreFiles): FdRestoreEnv {
  return { ctx, log: ctx.log.child('files'), entry: (id) => table.entries.get(id), opened: (id) => table.opened.get(id) };
}

function kindFor(entry: FileEntry, pid: number, fd?: number): FdKind {
  const kind = fdKindForType(entry.type);
  if (kind === undefined) {
    const name = Object.entries(FdTypes).find(([, value]) => value === entry.type)?.[0] ?? String(entry.type);
    throw new UnsupportedError({ pid, fd, kind: `restoring a ${name} file (id ${entry.id})` });
  }
  return kind;
}

/** A file under the task's own /proc/PID/ (its fd/ or fdinfo/ entries need its fds in place first). */
function ownProcFile(entry: FileEntry, pid: number): boolean {
  return entry.type === FdTypes.REG && entry.reg?.name.startsWith(`/proc/${pid}/`) === true;
}

/** A description and the first task fd that has it, or for a file in flight no fd (named in errors). */
interface FdUser {
  id: number;
  pid: number;
  fd?: number;
}

const userText = (user: FdUser): string => (user.fd === undefined ? `file id ${user.id} in flight` : `pid ${user.pid} fd ${user.fd}`);

/** Open one description in the tool; 'retry' when its kind waits for another. */
function openOne(env: FdRestoreEnv, table: RestoreFiles, user: FdUser, inherits: readonly InheritFd[]): 'done' | 'retry' {
  const entry = fileEntry(env.ctx, user.id, userText(user));
  const kind = kindFor(entry, user.pid, user.fd);
  const got = inheritedFd(env, kind, entry, inherits) ?? kind.open!(env, entry);
  if (got === 'retry') return 'retry';
  table.opened.set(entry.id, keepOwnFd(env.ctx, got));
  env.log.debug(`${kind.name} id ${entry.id} open as our fd ${got}`);
  return 'done';
}

/** Open `users`' descriptions until none is left or none can make progress. */
function openUntilDone(env: FdRestoreEnv, table: RestoreFiles, users: readonly FdUser[], inherits: readonly InheritFd[]): void {
  let pending = users;
  while (pending.length > 0) {
    const waiting = pending.filter((user) => !table.opened.has(user.id) && openOne(env, table, user, inherits) === 'retry');
    if (waiting.length === pending.length) {
      throw new CriuError(`files ${waiting.map((u) => u.id).join(', ')} keep waiting for each other (first: ${userText(waiting[0]!)})`);
    }
    pending = waiting;
  }
}

/**
 * Every description of the tree, once, and the files in flight; those whose
 * kind watches the file system (openLast) after the others and after the
 * ghost files are gone, so they see none of the restore's own traces — and
 * with them the kinds that carry such a file in flight, which need it open.
 */
function openEverything(ctx: RestoreContext, table: RestoreFiles, tasks: Map<number, TaskFiles>): void {
  const env = fdEnv(ctx, table);
  const inherits = parseInheritFds(ctx.options.inheritFds);
  const firstUser = new Map<number, FdUser>();
  for (const [pid, files] of tasks) for (const fd of files.fds) if (!firstUser.has(fd.id)) firstUser.set(fd.id, { id: fd.id, pid, fd: fd.fd });
  const carried = filesInFlight(ctx, tasks);
  for (const file of carried) firstUser.set(file.id, { id: file.id, pid: hostOf(file, tasks) ?? ctx.tasks[0]?.pid ?? 0 });
  const users = [...firstUser.values()];
  const kindOf = (user: FdUser): FdKind => kindFor(fileEntry(ctx, user.id, userText(user)), user.pid, user.fd);
  const lastCarriers = new Set(carried.filter((file) => kindOf(firstUser.get(file.id)!).openLast === true).map((file) => file.by));
  const last = (user: FdUser): boolean => kindOf(user).openLast === true || lastCarriers.has(kindOf(user));
  const now = users.filter((user) => user.fd === undefined || !ownProcFile(fileEntry(ctx, user.id, userText(user)), user.pid));
  try {
    openUntilDone(env, table, now.filter((user) => !last(user)), inherits);
  } finally {
    for (const action of table.afterOpen.splice(0)) action();
  }
  openUntilDone(env, table, now.filter(last), inherits);
  for (const unused of inherits.filter((i) => !i.used)) env.log.warn(`--inherit-fd fd[${unused.fd}]:${unused.resource} matches no dumped file`);
}

function toInstall(table: RestoreFiles, pid: number, fd: FdinfoEntry): InstallFd {
  const ours = table.opened.get(fd.id);
  if (ours === undefined) throw new CriuError(`pid ${pid} fd ${fd.fd}: file id ${fd.id} was not opened`);
  return { target: fd.fd, ours, cloexec: (fd.flags & FD_CLOEXEC) !== 0 };
}

/** Install the task's fds (its own /proc files after the rest), take its locks again, and list its installed() hooks. */
function installTask(ctx: RestoreContext, table: RestoreFiles, pid: number, files: TaskFiles): Hook[] {
  const late = files.fds.filter((fd) => !table.opened.has(fd.id) && ownProcFile(fileEntry(ctx, fd.id, `pid ${pid} fd ${fd.fd}`), pid));
  const early = files.fds.filter((fd) => !late.includes(fd));
  installFds(ctx, pid, early.map((fd) => toInstall(table, pid, fd)));
  if (late.length > 0) {
    const env = fdEnv(ctx, table);
    for (const fd of late) {
      if (!table.opened.has(fd.id) && openOne(env, table, { id: fd.id, pid, fd: fd.fd }, []) === 'retry') throw new CriuError(`pid ${pid} fd ${fd.fd}: file id ${fd.id} cannot be opened`);
    }
    installFds(ctx, pid, late.map((fd) => toInstall(table, pid, fd)), new Set(early.map((fd) => fd.fd)));
  }
  ctx.log.child('files').info(`pid ${pid}: ${files.fds.length} fd(s) installed${late.length > 0 ? `, ${late.length} of its own /proc files after the others` : ''}`);
  restoreLocks(ctx, pid);
  const hooks = files.fds.flatMap((fd) => {
    const entry = fileEntry(ctx, fd.id, `pid ${pid} fd ${fd.fd}`);
    const kind = kindFor(entry, pid, fd.fd);
    return kind.installed === undefined ? [] : [{ entry, kind, fd: fd.fd }];
  });
  return [...hooks, ...installGuests(ctx, table, pid, files)];
}

/** The files in flight whose hook runs in this task, put at free fds beside its own (closed after their hooks). */
function installGuests(ctx: RestoreContext, table: RestoreFiles, pid: number, files: TaskFiles): Hook[] {
  if (files.guests.length === 0) return [];
  const taken = new Set(files.fds.map((fd) => fd.fd));
  const at = freeFds(taken, files.guests.length);
  installFds(ctx, pid, files.guests.map((id, i) => toInstall(table, pid, { id, fd: at[i]!, flags: FD_CLOEXEC, type: 0 })), taken);
  ctx.log.child('files').info(`pid ${pid}: file(s) in flight ${files.guests.join(', ')} at fd(s) ${at.join(', ')} for their kinds, until done`);
  return files.guests.map((id, i) => {
    const entry = fileEntry(ctx, id, `file id ${id} in flight`);
    return { entry, kind: kindFor(entry, pid), fd: at[i]!, temporary: true };
  });
}

function restoreTaskFiles(ctx: RestoreContext, task: RestoreTask): 'done' | 'retry' {
  const table = restoreFiles(ctx);
  const tasks = taskFiles(ctx);
  const files = tasks.get(task.pid);
  if (files === undefined) return 'done';
  if (!table.allOpen) {
    openEverything(ctx, table, tasks);
    table.allOpen = true;
  }
  files.hooks ??= installTask(ctx, table, task.pid, files);
  const env = fdEnv(ctx, table);
  files.hooks = files.hooks.filter((hook) => {
    if (hook.kind.installed!(env, hook.entry, task.pid, hook.fd) === 'retry') return true;
    if (hook.temporary === true) closeInTask(ctx, task.pid, hook.fd);
    return false;
  });
  if (files.hooks.length > 0) return 'retry';
  if ([...tasks.values()].every((t) => t.hooks !== undefined && t.hooks.length === 0)) finishFiles(ctx);
  return 'done';
}

/** The files kind's restore: on any failure our fds are closed before the error goes on. */
export function restoreTaskFdTable(ctx: RestoreContext, task: RestoreTask): 'done' | 'retry' {
  try {
    return restoreTaskFiles(ctx, task);
  } catch (error) {
    closeOwnFds(restoreFiles(ctx));
    throw error;
  }
}

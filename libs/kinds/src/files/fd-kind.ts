// The descriptor every fd kind module exports (regular file, pipe, eventfd,
// ...). fd-registry.ts lists them; the first whose `matches` says yes dumps
// the open file description (of a task, or a file in flight in a unix
// socket's queue). Nothing switches on kinds.
import type { Logger } from '@criu-ts/base';
import type { FileEntry } from '@criu-ts/images';
import type { DumpContext, DumpTask } from '../dump-context.js';
import type { RestoreContext } from '../restore-context.js';
import type { OpenFd } from './open-fd.js';

/** What an fd kind's dump is given besides the fd. */
export interface FdDumpEnv {
  ctx: DumpContext;
  task: DumpTask;
  log: Logger;
}

/** A file no task holds that an entry of a kind carries (an fd in flight in a unix socket's queue). */
export interface CarriedFile {
  /** its files.img id */
  id: number;
  /** the entry (a socket) whose queue holds it: a task holding that one stands in for it where a task is needed */
  carrier: number;
}

/** What an fd kind's restore half is given. */
export interface FdRestoreEnv {
  ctx: RestoreContext;
  log: Logger;
  /** another files.img entry by id (a tty's regf_id, a unix socket's peer, ...) */
  entry(id: number): FileEntry | undefined;
  /** our (the tool's) fd for another entry once it is opened; undefined until then (answer 'retry') */
  opened(id: number): number | undefined;
}

export interface FdKind {
  /** short name for logs: 'reg', 'pipe', 'eventfd', ... */
  readonly name: string;
  matches(fd: OpenFd): boolean;
  /**
   * Dump the open file description behind fd (seen for the first time in
   * this dump) under `id`: write any side images (pipes-data, ghost files,
   * ...) and return its files.img entry, which the caller writes.
   */
  dump(env: FdDumpEnv, fd: OpenFd, id: number): FileEntry;
  /**
   * Set when an fd of this kind cannot be dumped in flight (met in a unix
   * socket's queue, OpenFd.inFlight): what to call it in the refusal.
   */
  readonly inFlightRefused?: string;
  /** Once every task is dumped: what needs the whole tree's fds (peers that may have been in flight). */
  afterTasks?(ctx: DumpContext): void;
  /** the file_entry type (fd_types) whose entries this kind restores */
  readonly type?: number;
  /**
   * Restore half: make the open file description of a files.img entry in
   * the tool and return our fd for it. The files kind hands that one
   * description to every task that has it, at their fd numbers, so a
   * description shared by several tasks stays shared (one offset). 'retry'
   * when it needs another entry opened first.
   */
  open?(env: FdRestoreEnv, entry: FileEntry): number | 'retry';
  /**
   * After the description is installed in task `pid` as `fd`: what only the
   * task can do, with its own fd numbers (epoll_ctl, F_SETOWN, ...).
   */
  installed?(env: FdRestoreEnv, entry: FileEntry, pid: number, fd: number): 'done' | 'retry';
  /**
   * The names criu(8) --inherit-fd fd[N]:RESOURCE may give this entry
   * (pipe:[INODE], path/to/file, tty[RDEV:DEV], ...): when one matches,
   * the tool's fd N is used instead of open().
   */
  inheritNames?(env: FdRestoreEnv, entry: FileEntry): readonly string[];
  /**
   * Open these after every other description (and after the ghost files
   * are gone): the kind watches the file system (inotify, fanotify), where
   * the restore's own file making would show.
   */
  readonly openLast?: boolean;
  /**
   * Files this kind's entries carry that no task holds (fds in flight):
   * the files kind opens them too, and before any entry of this kind.
   */
  carriedFiles?(ctx: RestoreContext): readonly CarriedFile[];
}

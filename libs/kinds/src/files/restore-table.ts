// The restore side's table of open file descriptions, one per restore
// (RestoreContext.shared): files.img and remap-fpath.img read once, every
// description made once in the tool (id → our fd), the other fds of ours
// that must live until the end (pipe ends, FIFO holders, memfd inodes),
// and what to do once every task has its fds (close all of ours, remove
// link-remap files) or once a restore failed (remove the socket files it
// bound). Kinds reach it through these functions only.
import { closeSync, existsSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { imagePath, readEntries, type FileEntry, type RemapFilePathEntry } from '@criu-ts/images';
import type { RestoreContext } from '../restore-context.js';

export interface RestoreFiles {
  /** files.img entries by id */
  readonly entries: ReadonlyMap<number, FileEntry>;
  /** remap-fpath.img entries by orig_id */
  readonly remaps: ReadonlyMap<number, RemapFilePathEntry>;
  /** descriptions made so far: entry id → our fd */
  readonly opened: Map<number, number>;
  /** every fd of ours, closed when the files are restored */
  readonly own: Set<number>;
  /** run once the restore succeeded (link-remap files are removed then) */
  readonly afterSuccess: (() => void)[];
  /** run if the restore failed (the files of sockets it bound are removed then) */
  readonly afterFailure: (() => void)[];
  /** run as soon as every description is open (ghost files are removed then) */
  readonly afterOpen: (() => void)[];
  /** every description of the tree has been made */
  allOpen: boolean;
  finished: boolean;
}

function readRemaps(dir: string): Map<number, RemapFilePathEntry> {
  const remaps = new Map<number, RemapFilePathEntry>();
  if (!existsSync(imagePath(dir, 'remap-fpath'))) return remaps;
  for (const entry of readEntries(dir, 'remap-fpath')) remaps.set(entry.orig_id, entry);
  return remaps;
}

function readFiles(dir: string): Map<number, FileEntry> {
  const entries = new Map<number, FileEntry>();
  if (!existsSync(imagePath(dir, 'files'))) return entries;
  for (const entry of readEntries(dir, 'files')) entries.set(entry.id, entry);
  return entries;
}

/** The restore's file table, read on first use. */
export function restoreFiles(ctx: RestoreContext): RestoreFiles {
  return ctx.shared('files.restore', () => {
    const dir = ctx.options.imagesDir;
    return { entries: readFiles(dir), remaps: readRemaps(dir), opened: new Map(), own: new Set(), afterSuccess: [], afterFailure: [], afterOpen: [], allOpen: false, finished: false };
  });
}

/** A files.img entry by id; a clear error if the images lack it. */
export function fileEntry(ctx: RestoreContext, id: number, user: string): FileEntry {
  const entry = restoreFiles(ctx).entries.get(id);
  if (entry === undefined) throw new CriuError(`${user}: files.img has no entry with id ${id}`, { code: 'EIMAGE' });
  return entry;
}

/** Keep an fd of ours until the files are restored; returns it. */
export function keepOwnFd(ctx: RestoreContext, fd: number): number {
  restoreFiles(ctx).own.add(fd);
  return fd;
}

/** Close every fd of ours that is still open (at the end, or when giving up). */
export function closeOwnFds(table: RestoreFiles): void {
  for (const fd of table.own) closeSync(fd);
  table.own.clear();
  table.opened.clear();
}

/** Every task has its fds: close ours, then run what waited for that (link-remap removal). */
export function finishFiles(ctx: RestoreContext): void {
  const table = restoreFiles(ctx);
  if (table.finished) return;
  table.finished = true;
  closeOwnFds(table);
}

/** The restore is over: close what is still ours; then run the actions for success, or those undoing what a failed one made. */
export function afterFilesRestore(ctx: RestoreContext, ok: boolean): void {
  finishFiles(ctx);
  const table = restoreFiles(ctx);
  const success = table.afterSuccess.splice(0);
  const failure = table.afterFailure.splice(0);
  for (const action of ok ? success : failure.reverse()) action();
}

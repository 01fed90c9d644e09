// Restore of inotify watches: each watched inode is reopened from its file
// handle (open_by_handle_at(2) on a mount of the saved device, O_PATH) —
// or, when fh_entry carries one, its saved path — and watched again
// through /proc/self/fd/N. A watched inode that was deleted but open at
// dump time is the ghost file restored for it (same dumped dev:ino), watched
// through our fd of it. The kernel hands out wds in increasing order
// (a cyclic counter), so watches are added in wd order, adding and
// removing placeholder watches until the counter reaches the saved wd.
import { closeSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { O, SYS, syscall, trySyscall } from '@criu-ts/kernel';
import type { FhEntry, FileEntry, InotifyWdEntry } from '@criu-ts/images';
import type { RestoreContext } from '../restore-context.js';
import type { FdRestoreEnv } from './fd-kind.js';
import { openedGhostOf } from './ghost-file.js';
import { readMountinfo } from '@criu-ts/proc';
import { openPath } from './open-path.js';

/** Not in @criu-ts/kernel's table: x86-64 numbers of inotify_add_watch(2), inotify_rm_watch(2) */
const SYS_INOTIFY_ADD_WATCH = 254;
const SYS_INOTIFY_RM_WATCH = 255;
/** mask bits that only make sense for a path given by the caller, or that change how a mask is merged */
const IN_ONLYDIR = 0x01000000;
const IN_DONT_FOLLOW = 0x02000000;
const IN_MASK_CREATE = 0x10000000;
const IN_MASK_ADD = 0x20000000;
const ENODEV = 19;

/** s_dev as the images hold it (MINORBITS 20) → a mount point of that filesystem here. */
function mountOf(sdev: number): string | undefined {
  const major = sdev >>> 20;
  const minor = sdev & 0xfffff;
  const mounts = readMountinfo(process.pid).filter((m) => m.major === major && m.minor === minor);
  return (mounts.find((m) => m.root === '/') ?? mounts[0])?.mount_point;
}

/** struct file_handle {handle_bytes, handle_type, f_handle[]} from fh_entry. */
function fileHandle(fh: FhEntry): Buffer {
  const saved = fh.handle ?? [];
  const words = Buffer.alloc(Math.max(saved.length * 8, fh.bytes));
  saved.forEach((word, i) => words.writeBigUInt64LE(word, i * 8));
  const handle = Buffer.alloc(8 + fh.bytes);
  handle.writeUInt32LE(fh.bytes, 0);
  handle.writeInt32LE(fh.type, 4);
  words.copy(handle, 8, 0, fh.bytes);
  return handle;
}

/**
 * open_by_handle_at(2) of a saved handle on a mount of device sdev, O_PATH:
 * the fd, or the errno (ENODEV when no mount of that device is here).
 */
export function openHandle(sdev: number, fh: FhEntry): { fd: number; errno: number } {
  const mount = mountOf(sdev);
  if (mount === undefined) return { fd: -1, errno: ENODEV };
  const mountFd = openPath(mount, O.RDONLY | O.DIRECTORY); // not O_PATH: open_by_handle_at refuses those
  try {
    const { value, errno } = trySyscall(SYS.open_by_handle_at, mountFd, fileHandle(fh), O.PATH | O.CLOEXEC);
    return { fd: errno === 0 ? Number(value) : -1, errno };
  } finally {
    closeSync(mountFd);
  }
}

/** What identifies a watched inode in an image (an inotify wd, a fanotify inode mark). */
export interface WatchedInode {
  s_dev: number;
  i_ino: bigint;
  f_handle: FhEntry;
}

/** An O_PATH fd of the watched inode: a ghost restored for it, else its handle, else its saved path. */
export function openWatched(ctx: RestoreContext, wd: WatchedInode, what: string): number {
  const ghost = openedGhostOf(ctx, wd.s_dev, wd.i_ino);
  if (ghost !== undefined) return openPath(`/proc/self/fd/${ghost}`, O.PATH);
  const { fd, errno } = openHandle(wd.s_dev, wd.f_handle);
  if (errno === 0) return fd;
  if (wd.f_handle.path === undefined) {
    if (errno === ENODEV) throw new CriuError(`${what}: no mount of device ${wd.s_dev >>> 20}:${wd.s_dev & 0xfffff} for the watched inode ${wd.i_ino}`, { code: 'ENOENT' });
    throw new CriuError(`${what}: the watched inode ${wd.i_ino} cannot be opened from its handle (errno ${errno})`, { code: 'ESTALE' });
  }
  return openPath(wd.f_handle.path, O.PATH);
}

/** Add one watch; returns the wd the kernel gave. */
function addWatch(fd: number, target: number, mask: number): number {
  return Number(syscall(SYS_INOTIFY_ADD_WATCH, fd, Buffer.from(`/proc/self/fd/${target}\0`), mask));
}

/** Watch wd's inode on inotify fd `fd` under its saved wd number. */
function restoreWatch(ctx: RestoreContext, fd: number, wd: InotifyWdEntry): void {
  const what = `inotify id ${wd.id} wd ${wd.wd}`;
  const mask = wd.mask & ~(IN_ONLYDIR | IN_DONT_FOLLOW | IN_MASK_CREATE | IN_MASK_ADD);
  const target = openWatched(ctx, wd, what);
  try {
    for (;;) {
      const got = addWatch(fd, target, mask);
      if (got === wd.wd) return;
      if (got > wd.wd) throw new CriuError(`${what}: watch ${wd.wd} came back as wd ${got} (the wds are not in order)`, { code: 'EIMAGE' });
      syscall(SYS_INOTIFY_RM_WATCH, fd, got);
    }
  } finally {
    closeSync(target);
  }
}

/** Add the saved watches of inotify entry `entry` (open as fd) in wd order. */
export function addWatches(env: FdRestoreEnv, fd: number, entry: FileEntry): void {
  const sorted = [...(entry.ify?.wd ?? [])].sort((a, b) => a.wd - b.wd);
  for (const wd of sorted) restoreWatch(env.ctx, fd, wd);
  env.log.debug(`inotify id ${entry.id}: ${sorted.length} watch(es) back`);
}

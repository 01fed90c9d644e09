// inotify(7) instances: inotify_file_entry {id, flags, fown, wd[]} in
// files.img, type INOTIFY; each watch from fdinfo "inotify wd:" lines as
// inotify_wd_entry {id = the instance's id, i_ino, mask, ignored_mask,
// s_dev, wd, f_handle (with the watched path when the handle resolves to
// one, as upstream writes it)} — restore reopens the watched inode by its
// file handle (open_by_handle_at(2)), else by that path. Events queued but not yet read are lost,
// as in CRIU. A kernel without file handles in fdinfo is refused.
// Restore: inotify_init1 in the tool, then each watch added again on the
// inode its handle opens (inotify-watch.ts), with the same wd.
import { closeSync, readlinkSync, statSync } from 'node:fs';
import { UnsupportedError } from '@criu-ts/base';
import { O, SYS, syscall } from '@criu-ts/kernel';
import { FdTypes, type FhEntry, type InotifyWdEntry } from '@criu-ts/images';
import type { FileHandle, InotifyWatch } from '@criu-ts/proc';
import type { FdKind } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';
import type { OpenFd } from './open-fd.js';
import { addWatches, openHandle } from './inotify-watch.js';
import { closingOnError, restoreFown } from './open-path.js';

/** fh_entry_sizes.min_entries: the handle is kept as at least 16 64-bit words */
const FH_MIN_WORDS = 16;

/** A file handle as fh_entry: its bytes as little-endian 64-bit words, zero-padded. */
export function fhEntry(handle: FileHandle): FhEntry {
  const words = Math.max(FH_MIN_WORDS, Math.ceil(handle.handle.length / 8));
  const padded = Buffer.alloc(words * 8);
  handle.handle.copy(padded);
  const out: bigint[] = [];
  for (let i = 0; i < words; i++) out.push(padded.readBigUInt64LE(i * 8));
  return { bytes: handle.handle.length, type: handle.type, handle: out };
}

/**
 * The watched inode's path, as upstream CRIU saves it beside the handle
 * (its restore opens a watch by path when there is one): the handle opened
 * here, its /proc/self/fd link, checked to name the same inode. Undefined
 * when the handle does not open or the name is gone.
 */
export function watchedPath(sdev: number, ino: number, fh: FhEntry): string | undefined {
  const { fd, errno } = openHandle(sdev, fh);
  if (errno !== 0) return undefined;
  try {
    const path = readlinkSync(`/proc/self/fd/${fd}`);
    if (!path.startsWith('/') || path.endsWith(' (deleted)')) return undefined;
    return statSync(path, { throwIfNoEntry: false })?.ino === ino ? path : undefined;
  } finally {
    closeSync(fd);
  }
}

function watchEntry(fd: OpenFd, id: number, w: InotifyWatch): InotifyWdEntry {
  if (w.fhandle === undefined) throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `inotify watch ${w.wd} without a file handle in fdinfo` });
  const f_handle = fhEntry(w.fhandle);
  const path = watchedPath(w.sdev, w.ino, f_handle);
  if (path !== undefined) f_handle.path = path;
  return { id, i_ino: BigInt(w.ino), mask: w.mask, ignored_mask: w.ignored_mask, s_dev: w.sdev, wd: w.wd, f_handle };
}

export const inotifyKind: FdKind = {
  name: 'inotify',
  type: FdTypes.INOTIFY,
  openLast: true,
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'inotify',
  dump(_env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'inotify') throw anonMismatch(fd, 'inotify');
    const wd = info.watches.map((w) => watchEntry(fd, id, w));
    return { type: FdTypes.INOTIFY, id, ify: { id, flags: fd.flags, fown: fd.fown, wd } };
  },
  open(env, entry) {
    const ify = entry.ify!;
    return closingOnError(Number(syscall(SYS.inotify_init1, O.CLOEXEC | (ify.flags & O.NONBLOCK))), (fd) => {
      addWatches(env, fd, entry);
      restoreFown(fd, ify.fown);
    });
  },
};

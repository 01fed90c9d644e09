// fanotify(7) groups: fanotify_file_entry {id, flags, fown, faflags,
// evflags, mark[]} in files.img, type FANOTIFY, from fdinfo's "fanotify
// flags: event-flags:" line (fanotify_init(2) flags and event_f_flags) and
// one fanotify_mark_entry per mark line: an inode mark {i_ino, f_handle}
// reopened by its file handle as inotify watches are, or a mount mark
// {mnt_id, path: the mount point without its leading "/", as CRIU writes it}.
// mflags are the user FAN_MARK_* flags fdinfo shows (IGNORED_SURV_MODIFY,
// EVICTABLE, IGNORE). Events queued but not read are lost, as in CRIU;
// filesystem marks (FAN_MARK_FILESYSTEM) are refused. Restore:
// fanotify_init in the tool, then fanotify_mark(FAN_MARK_ADD) of each mask
// and ignored mask on the inode or mount, through /proc/self/fd/N of an O_PATH fd.
import { closeSync } from 'node:fs';
import { CriuError, UnsupportedError } from '@criu-ts/base';
import { F, FD_CLOEXEC, O, SYS, fcntl, syscall } from '@criu-ts/kernel';
import { FdTypes, MarkType, type FanotifyMarkEntry } from '@criu-ts/images';
import { readMountinfo, type FanotifyMark } from '@criu-ts/proc';
import type { FdKind, FdRestoreEnv } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';
import { fhEntry } from './inotify.js';
import { openWatched } from './inotify-watch.js';
import type { OpenFd } from './open-fd.js';
import { checkRestorePath, closingOnError, openPath, restoreFown } from './open-path.js';

/** fanotify_init flags (not O_NONBLOCK's value) */
const FAN_NONBLOCK = 0x2;
const FAN_MARK_ADD = 0x1;
const FAN_MARK_MOUNT = 0x10;
const FAN_MARK_IGNORED_MASK = 0x20;

function markEntry(fd: OpenFd, id: number, mark: FanotifyMark): FanotifyMarkEntry {
  const common = { id, mflags: mark.mflags, mask: mark.mask, ignored_mask: mark.ignored_mask };
  if (mark.target === 'inode') {
    if (mark.fhandle === undefined) throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `fanotify mark on inode ${mark.ino} without a file handle in fdinfo` });
    return { ...common, type: MarkType.INODE, s_dev: mark.sdev, ie: { i_ino: BigInt(mark.ino), f_handle: fhEntry(mark.fhandle) } };
  }
  if (mark.target === 'filesystem') throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: 'fanotify filesystem mark (FAN_MARK_FILESYSTEM)' });
  const mount = readMountinfo(fd.pid).find((m) => m.mount_id === mark.mnt_id);
  if (mount === undefined) throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: fanotify mount mark on mount ${mark.mnt_id}, which the task's mountinfo lacks`, { code: 'ENOENT' });
  const s_dev = ((mount.major << 20) | mount.minor) >>> 0;
  return { ...common, type: MarkType.MOUNT, s_dev, me: { mnt_id: mark.mnt_id, path: mount.mount_point.slice(1) } };
}

function fanotifyMark(fd: number, flags: number, mask: number, target: number): void {
  syscall(SYS.fanotify_mark, fd, flags, mask, -100 /* AT_FDCWD */, Buffer.from(`/proc/self/fd/${target}\0`));
}

/** Put one mark back on fanotify group fd: its mask, then its ignored mask. */
function restoreMark(env: FdRestoreEnv, fd: number, mark: FanotifyMarkEntry): void {
  const what = `fanotify mark of id ${mark.id}`;
  let flags = FAN_MARK_ADD | mark.mflags;
  let target: number;
  if (mark.type === MarkType.INODE && mark.ie !== undefined) {
    target = openWatched(env.ctx, { s_dev: mark.s_dev, i_ino: mark.ie.i_ino, f_handle: mark.ie.f_handle }, what);
  } else if (mark.type === MarkType.MOUNT && mark.me?.path !== undefined) {
    target = openPath(checkRestorePath(`/${mark.me.path}`, what), O.PATH);
    flags |= FAN_MARK_MOUNT;
  } else {
    throw new CriuError(`${what}: a fanotify mark of type ${mark.type} without its inode or mount path`, { code: 'EIMAGE' });
  }
  try {
    if (mark.mask !== 0) fanotifyMark(fd, flags, mark.mask, target);
    if (mark.ignored_mask !== 0) fanotifyMark(fd, flags | FAN_MARK_IGNORED_MASK, mark.ignored_mask, target);
  } finally {
    closeSync(target);
  }
}

export const fanotifyKind: FdKind = {
  name: 'fanotify',
  type: FdTypes.FANOTIFY,
  openLast: true,
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'fanotify',
  dump(env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'fanotify') throw anonMismatch(fd, 'fanotify');
    const mark = info.marks.map((m) => markEntry(fd, id, m));
    env.log.debug(`fanotify id ${id}: flags 0x${info.fanotify_flags.toString(16)}, ${mark.length} mark(s); unread events are not saved`);
    return { type: FdTypes.FANOTIFY, id, ffy: { id, flags: fd.flags, fown: fd.fown, faflags: info.fanotify_flags, evflags: info.event_flags, mark } };
  },
  open(env, entry) {
    const ffy = entry.ffy;
    if (ffy === undefined) throw new CriuError(`files.img entry ${entry.id}: type FANOTIFY without a fanotify entry`, { code: 'EIMAGE' });
    // the group keeps its init flags as given (fdinfo shows them): FAN_CLOEXEC as saved, our fd made close-on-exec after
    const flags = (ffy.faflags & ~FAN_NONBLOCK) | ((ffy.flags & O.NONBLOCK) !== 0 ? FAN_NONBLOCK : 0);
    return closingOnError(Number(syscall(SYS.fanotify_init, flags, ffy.evflags)), (fd) => {
      fcntl(fd, F.SETFD, FD_CLOEXEC);
      // fdinfo lists the newest mark first: added oldest first, they list as they did
      for (const mark of [...(ffy.mark ?? [])].reverse()) restoreMark(env, fd, mark);
      env.log.debug(`fanotify id ${entry.id}: ${ffy.mark?.length ?? 0} mark(s) back`);
      restoreFown(fd, ffy.fown);
    });
  },
};

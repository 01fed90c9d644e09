// Regular files, directories and O_PATH symlinks, and the character devices
// restore reopens by path (/dev/null, /dev/zero, /dev/urandom, ... — the
// mem and misc majors): reg_file_entry {name, flags, pos, fown, mode, size,
// build-id} in files.img, type REG. Size (and with --file-validation
// buildid, the ELF build-id) lets restore check it is the same file; not
// for O_WRONLY|O_APPEND files such as logs. Deleted or moved files get a
// remap (path-remap.ts). mnt_id is written when the tree has a mount
// namespace of its own, as upstream does. Not saved: the contents of linked
// files. Restore: reg-open.ts.
// See criu(8).
import { closeSync, openSync } from 'node:fs';
import { UnsupportedError } from '@criu-ts/base';
import { O } from '@criu-ts/kernel';
import { FdTypes, type RegFileEntry } from '@criu-ts/images';
import type { FdDumpEnv, FdKind } from './fd-kind.js';
import { buildIdWords, readBuildId } from './build-id.js';
import { checkPathRemap, type PathRemapOptions } from './path-remap.js';
import { openRegFile } from './reg-open.js';
import { S_IF, devMajor, devMinor, fileType, type OpenFd } from './open-fd.js';
import { dumpedMountNs } from '../mounts/mnt-state.js';
import type { DumpedMountNs } from '../mounts/mnt-dump.js';

/** The mount of the tree's namespace a file is open on (reg_file_entry.mnt_id, as upstream writes it); refused if the namespace lacks it. */
function mountOfFile(ns: DumpedMountNs, fd: OpenFd): number {
  const id = fd.info.mnt_id;
  if (!ns.entries.some((entry) => entry.mnt_id === id)) {
    throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `a file (${fd.link}) on mount ${id}, which is not in the dumped mount namespace (skipped, or detached)` });
  }
  return id;
}

const MEM_MAJOR = 1;
const MISC_MAJOR = 10;
const KMSG_MINOR = 11;
const AUTOFS_MINOR = 235;

function shouldCheckSize(flags: number): boolean {
  return !((flags & O.ACCMODE) === O.WRONLY && (flags & O.APPEND) !== 0);
}

/** /dev/kmsg opened write-only at 0 must not be seeked on restore (CRIU's pos -1). */
function position(fd: OpenFd): bigint {
  const { stat } = fd;
  const kmsg = fileType(stat) === S_IF.CHR && devMajor(stat.rdev) === MEM_MAJOR && devMinor(stat.rdev) === KMSG_MINOR;
  if (kmsg && (fd.flags & O.ACCMODE) === O.WRONLY && fd.info.pos === 0n) return 0xffffffffffffffffn;
  return fd.info.pos;
}

function buildId(fd: OpenFd): number[] | undefined {
  if (fd.stat.size < 5n) return undefined;
  const reader = openSync(`/proc/self/fd/${fd.local}`, 'r');
  try {
    const id = readBuildId(reader, Number(fd.stat.size));
    return id === undefined ? undefined : buildIdWords(id);
  } finally {
    closeSync(reader);
  }
}

/** The path the fd was opened by, as /proc shows it without " (deleted)". */
export function openedPath(fd: OpenFd): string {
  const path = fd.target.kind === 'path' ? fd.target.path : fd.target.kind === 'pts' ? `/dev/pts/${fd.target.index}` : undefined;
  if (path === undefined || !path.startsWith('/')) {
    throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `file "${fd.link}" without a path` });
  }
  return path;
}

/** The reg_file_entry of fd under `id` (also used by fifos and ttys for their path). */
export function regFileEntry(env: FdDumpEnv, fd: OpenFd, id: number, remap: PathRemapOptions = {}): RegFileEntry {
  const name = openedPath(fd);
  checkPathRemap(env.ctx, fd, id, name, remap);
  const entry: RegFileEntry = { id, flags: fd.flags, pos: position(fd), fown: fd.fown, name, mode: Number(fd.stat.mode) };
  const mountNs = dumpedMountNs(env.ctx);
  // a device opened outside the namespace (an inherited /dev/null) is reopened by its path inside it
  if (mountNs !== undefined && !(isReopenableDevice(fd) && !mountNs.entries.some((e) => e.mnt_id === fd.info.mnt_id))) entry.mnt_id = mountOfFile(mountNs, fd);
  if (fileType(fd.stat) === S_IF.REG && shouldCheckSize(fd.flags)) {
    entry.size = fd.stat.size;
    if (env.ctx.options.fileValidation === 'buildid') {
      const words = buildId(fd);
      if (words !== undefined) entry.build_id = words;
      else env.log.info(`only the size of ${name} is kept for validation`);
    }
  }
  return entry;
}

function isReopenableDevice(fd: OpenFd): boolean {
  if (fileType(fd.stat) !== S_IF.CHR) return false;
  const major = devMajor(fd.stat.rdev);
  return major === MEM_MAJOR || (major === MISC_MAJOR && devMinor(fd.stat.rdev) === AUTOFS_MINOR);
}

const PATH_TYPES: readonly bigint[] = [S_IF.REG, S_IF.DIR, S_IF.LNK];

export const regFileKind: FdKind = {
  name: 'reg',
  type: FdTypes.REG,
  matches: (fd) => fd.target.kind === 'path' && (PATH_TYPES.includes(fileType(fd.stat)) || isReopenableDevice(fd)),
  dump: (env, fd, id) => ({ type: FdTypes.REG, id, reg: regFileEntry(env, fd, id) }),
  /** criu(8) --inherit-fd fd[N]:path/to/file names it without the leading slash; the absolute path works too */
  inheritNames: (_env, entry) => (entry.reg === undefined ? [] : [entry.reg.name.replace(/^\//, ''), entry.reg.name]),
  open: (env, entry) => openRegFile(env.ctx, entry.id, entry.reg!),
};

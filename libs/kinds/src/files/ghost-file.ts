// Deleted-but-open files (st_nlink 0): the inode is carried in a
// ghost-file-ID.img — attributes, then the contents (whole, or as
// ghost_chunk_entry runs when the file is 12 KiB or more, holes left out) —
// and remap-fpath.img points the file's id at it (remap_type GHOST). One
// ghost per inode, however many descriptions use it. Files over
// --ghost-limit by the space their blocks take (st_blocks, as upstream:
// a sparse file's holes cost nothing) are refused (criu(8) --ghost-limit). Restore makes the
// file again as NAME.cr.ID.ghost beside its old name (a directory: at the
// name), with its owner, mode and times, opens it under the old name, and
// removes it once every description is open. A deleted directory that is a
// task's cwd or root is kept open (O_PATH) until the restore ends, for the
// fs kind to enter it.
import {
  chmodSync, chownSync, closeSync, constants, existsSync, ftruncateSync, lchownSync, lutimesSync, mkdirSync, openSync, rmdirSync, symlinkSync,
  unlinkSync, utimesSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CriuError, ImageError, SyscallError } from '@criu-ts/base';
import { AT, O, SYS, trySyscall } from '@criu-ts/kernel';
import { RemapType, imagePath, openImage, type GhostChunkEntry, type GhostFileEntry, type RemapFilePathEntry } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';
import type { RestoreContext } from '../restore-context.js';
import { copyIntoSlot, copyRange, dataRuns } from './file-copy.js';
import { checkCanonicalDir, openViaLink } from './path-remap.js';
import { openExpecting, openPath } from './open-path.js';
import { restoreFiles } from './restore-table.js';
import { S_IF, fileType, kernelDev, type OpenFd } from './open-fd.js';
import { writeShared } from './image-entry.js';

/** CRIU's GHOST_CHUNKS_THRESH: smaller files are stored in one piece */
const CHUNKS_THRESHOLD = 3n * 4096n;

function timeval(ns: bigint): { tv_sec: bigint; tv_usec: bigint } {
  return { tv_sec: ns / 1_000_000_000n, tv_usec: (ns % 1_000_000_000n) / 1000n };
}

/** A deleted file to carry: whose it is (for messages), its stat and our fd on it. */
export interface GhostSource {
  pid: number;
  /** "fd 4", "mapping at 0x7f..." */
  what: string;
  stat: OpenFd['stat'];
  local: number;
}

/** The ghost source of a task's fd. */
export const fdGhostSource = (fd: OpenFd): GhostSource => ({ pid: fd.pid, what: `fd ${fd.fd}`, stat: fd.stat, local: fd.local });

function ghostHead(fd: GhostSource): GhostFileEntry {
  const { stat } = fd;
  const type = fileType(stat);
  const head: GhostFileEntry = {
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    mode: Number(stat.mode),
    dev: kernelDev(stat.dev),
    ino: stat.ino,
    atim: timeval(stat.atimeNs),
    mtim: timeval(stat.mtimeNs),
  };
  if (type === S_IF.CHR || type === S_IF.BLK) head.rdev = Number(stat.rdev);
  if (type === S_IF.REG && stat.size >= CHUNKS_THRESHOLD) {
    head.chunks = true;
    head.size = stat.size;
  }
  return head;
}

/** The target of the symlink our fd (O_PATH | O_NOFOLLOW) holds: readlinkat(fd, ""). */
function symlinkTarget(fd: GhostSource, path: string): string {
  const buf = Buffer.alloc(Number(fd.stat.size) + 1);
  const { value, errno } = trySyscall(SYS.readlinkat, fd.local, Buffer.from('\0'), buf, buf.length);
  if (errno !== 0) throw new SyscallError({ syscall: 'readlinkat', errno, path });
  if (Number(value) !== Number(fd.stat.size)) throw new CriuError(`deleted symlink ${path}: its target is ${value} bytes, its size says ${fd.stat.size}`, { code: 'EIO' });
  return buf.subarray(0, Number(value)).toString('utf8');
}

function writeGhostImage(ctx: DumpContext, fd: GhostSource, ghostId: number, path: string): void {
  const head = ghostHead(fd);
  // a symlink's content is its target, kept in the entry as upstream keeps it
  if (fileType(fd.stat) === S_IF.LNK) head.symlnk_target = symlinkTarget(fd, path);
  if (fileType(fd.stat) !== S_IF.REG) {
    writeShared(ctx, 'ghost-file', { message: head, payloadLength: 0 }, ghostId);
    return;
  }
  // reopen for reading: the task's fd may be write-only
  const reader = openSync(`/proc/self/fd/${fd.local}`, 'r');
  try {
    const size = Number(fd.stat.size);
    if (head.chunks !== true) {
      const slot = writeShared(ctx, 'ghost-file', { message: head, payloadLength: size }, ghostId);
      if (slot !== undefined && size > 0) copyIntoSlot(reader, 0, slot, `ghost file ${path}`);
      return;
    }
    writeShared(ctx, 'ghost-file', { message: head }, ghostId);
    for (const run of dataRuns(reader, size)) {
      const slot = writeShared(ctx, 'ghost-file', { message: { len: BigInt(run.length), off: BigInt(run.offset) } }, ghostId);
      if (slot !== undefined) copyIntoSlot(reader, run.offset, slot, `ghost file ${path}`);
    }
  } finally {
    closeSync(reader);
  }
}

/** What a ghost costs against --ghost-limit: the bytes the file's blocks take (st_blocks × 512). */
export function ghostSpace(stat: { blocks: bigint }): bigint {
  return stat.blocks * 512n;
}

/** Carry the deleted file behind fd (description `id`) in a ghost image. */
export function dumpGhost(ctx: DumpContext, fd: GhostSource, id: number, path: string): void {
  // counted as upstream does: the space the file takes (st_blocks), not its size, so a sparse file's holes are free
  const limit = BigInt(ctx.options.ghostLimit);
  const used = ghostSpace(fd.stat);
  if (used > limit) {
    throw new CriuError(`pid ${fd.pid} ${fd.what}: deleted file ${path} takes ${used} bytes on disk, over the ghost limit of ${limit}`, {
      code: 'EFBIG',
      hint: 'raise --ghost-limit to carry it inside the images',
    });
  }
  const ghosts = ctx.shared('files.ghosts', () => new Map<string, number>());
  const key = `${fd.stat.dev}:${fd.stat.ino}`;
  let ghostId = ghosts.get(key);
  if (ghostId === undefined) {
    ghostId = ctx.nextId();
    ghosts.set(key, ghostId);
    ctx.log.info(`ghost file ${path} (${fd.stat.size} bytes) as ghost ${ghostId}`);
    writeGhostImage(ctx, fd, ghostId, path);
  }
  writeShared(ctx, 'remap-fpath', { message: { orig_id: id, remap_id: ghostId, remap_type: RemapType.GHOST } });
}

// ---- restore ----

interface GhostImage {
  head: GhostFileEntry;
  /** the contents: where each run's bytes are in the image (one run when not chunked) */
  runs: { imageOffset: number; fileOffset: number; length: number }[];
}

function readGhost(path: string): GhostImage {
  const reader = openImage(path, 'ghost-file', { skipPayloads: true });
  try {
    const first = reader.next();
    if (first === null) throw new ImageError('no ghost_file_entry', { image: reader.image, offset: 0 });
    const head = first.message as unknown as GhostFileEntry;
    const runs = [];
    if (head.chunks !== true) {
      runs.push({ imageOffset: first.payloadOffset ?? 0, fileOffset: 0, length: first.payloadLength ?? 0 });
    }
    for (let entry = reader.next(); entry !== null && head.chunks === true; entry = reader.next()) {
      const chunk = entry.message as unknown as GhostChunkEntry;
      runs.push({ imageOffset: entry.payloadOffset ?? 0, fileOffset: Number(chunk.off), length: Number(chunk.len) });
    }
    return { head, runs };
  } finally {
    reader.close();
  }
}

/** Make the ghost's regular file at `at` from the image (O_EXCL: never over an existing file). */
function makeGhostFile(image: string, ghost: GhostImage, at: string): void {
  const fd = openSync(at, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, ghost.head.mode & 0o7777);
  const source = openSync(image, 'r');
  try {
    if (ghost.head.chunks === true) ftruncateSync(fd, Number(ghost.head.size ?? 0n));
    for (const run of ghost.runs) copyRange(source, run.imageOffset, fd, run.fileOffset, run.length, `ghost file ${at}`);
  } finally {
    closeSync(source);
    closeSync(fd);
  }
}

/** A deleted device node or FIFO: made again with its type, mode and device number (mknod(2)). */
function makeGhostNode(head: GhostFileEntry, at: string): void {
  const { errno } = trySyscall(SYS.mknodat, AT.FDCWD, Buffer.from(`${at}\0`), head.mode, head.rdev ?? 0);
  if (errno !== 0) throw new SyscallError({ syscall: `mknod(mode 0o${head.mode.toString(8)})`, errno, path: at });
}

const seconds = (t: { tv_sec: bigint; tv_usec: bigint } | undefined): number | undefined =>
  t === undefined ? undefined : Number(t.tv_sec) + Number(t.tv_usec) / 1e6;

function applyGhostMetadata(path: string, head: GhostFileEntry): void {
  const atime = seconds(head.atim);
  const mtime = seconds(head.mtim);
  if ((BigInt(head.mode) & 0o170000n) === S_IF.LNK) {
    // the link itself, never what it points at (a symlink has no mode of its own)
    lchownSync(path, head.uid, head.gid);
    if (atime !== undefined && mtime !== undefined) lutimesSync(path, atime, mtime);
    return;
  }
  chownSync(path, head.uid, head.gid);
  chmodSync(path, head.mode & 0o7777);
  if (atime !== undefined && mtime !== undefined) utimesSync(path, atime, mtime);
}

/** A ghost's place: `name.cr.ID.ghost` beside the name (a directory: the name itself), in the nearest existing directory. */
function ghostPlace(name: string, remapId: number, isDir: boolean): string {
  const file = isDir ? basename(name) : `${basename(name)}.cr.${remapId.toString(16)}.ghost`;
  let dir = dirname(name);
  while (!existsSync(dir)) dir = dirname(dir);
  checkCanonicalDir(dir, `ghost ${remapId.toString(16)} of ${name}`);
  return join(dir, file);
}

/** Recreate ghost `remapId` for the file once named `name`; returns where it is. Removed once every description is open. */
function createGhost(ctx: RestoreContext, name: string, remapId: number): { path: string; isDir: boolean } {
  const image = imagePath(ctx.options.imagesDir, 'ghost-file', remapId);
  const ghost = readGhost(image);
  const type = BigInt(ghost.head.mode) & 0o170000n;
  const special = type === S_IF.CHR || type === S_IF.BLK || type === S_IF.FIFO;
  const symlink = type === S_IF.LNK;
  if (type !== S_IF.REG && type !== S_IF.DIR && !special && !symlink) {
    throw new CriuError(`ghost file ${name}: mode 0o${ghost.head.mode.toString(8)} (a deleted socket is not restored)`, { code: 'EUNSUPPORTED' });
  }
  if (symlink && (ghost.head.symlnk_target === undefined || ghost.head.symlnk_target === '' || ghost.head.symlnk_target.includes('\0'))) {
    throw new ImageError(`ghost of symlink ${name} has no usable target`, { image, offset: 0 });
  }
  const isDir = type === S_IF.DIR;
  const path = ghostPlace(name, remapId, isDir);
  if (isDir) mkdirSync(path, ghost.head.mode & 0o7777);
  else if (special) makeGhostNode(ghost.head, path);
  else if (symlink) symlinkSync(ghost.head.symlnk_target!, path);
  else makeGhostFile(image, ghost, path);
  const remove = (): void => (isDir ? rmdirSync(path) : unlinkSync(path));
  applyGhostMetadata(path, ghost.head);
  if (isDir) ghostDirs(ctx).set(remapId, openPath(path, O.PATH | O.DIRECTORY));
  if (ghost.head.dev !== undefined && ghost.head.ino !== undefined) ghostInodes(ctx).set(`${ghost.head.dev}:${ghost.head.ino}`, remapId);
  // once every description is open the ghost goes; made later than that (a deleted cwd only), at once
  if (restoreFiles(ctx).allOpen) remove();
  else restoreFiles(ctx).afterOpen.push(remove);
  ctx.log.info(`ghost ${remapId.toString(16)} of ${name} made as ${path}`);
  return { path, isDir };
}

/** The ghosts made, by the dumped inode they stand for ("dev:ino", dev as the kernel encodes it). */
function ghostInodes(ctx: RestoreContext): Map<string, number> {
  return ctx.shared('files.ghost-inodes', () => new Map<string, number>());
}

/**
 * Our fd of a description opened on the ghost that stands for dumped inode
 * dev:ino (an inotify watch or fanotify mark on a deleted file), if any.
 */
export function openedGhostOf(ctx: RestoreContext, dev: number, ino: bigint): number | undefined {
  const remapId = ghostInodes(ctx).get(`${dev}:${ino}`);
  if (remapId === undefined) return undefined;
  const table = restoreFiles(ctx);
  for (const [origId, remap] of table.remaps) {
    const ours = table.opened.get(origId);
    if (remap.remap_id === remapId && remap.remap_type === RemapType.GHOST && ours !== undefined) return ours;
  }
  return undefined;
}

/** Our O_PATH fds of the ghost directories made, by remap id: a deleted cwd or root is entered through them. */
function ghostDirs(ctx: RestoreContext): Map<number, number> {
  return ctx.shared('files.ghost-dirs', () => new Map<number, number>());
}

/**
 * An O_PATH fd of ours on the deleted directory once named `name` (a ghost
 * of the images), made now if no open file made it: the same inode as
 * every fd opened on it. Valid until closeGhostDirs.
 */
export function ghostDirFd(ctx: RestoreContext, name: string, remap: RemapFilePathEntry): number {
  const made = ghostDirs(ctx).get(remap.remap_id);
  if (made !== undefined) return made;
  const { isDir } = openedGhost(ctx, name, remap.remap_id);
  const fd = ghostDirs(ctx).get(remap.remap_id);
  if (!isDir || fd === undefined) throw new CriuError(`ghost ${remap.remap_id.toString(16)} of ${name} is not a directory`, { code: 'EIMAGE' });
  return fd;
}

/** Closes the ghost directories' fds (after the restore, whatever its outcome). */
export function closeGhostDirs(ctx: RestoreContext): void {
  const dirs = ghostDirs(ctx);
  for (const fd of dirs.values()) closeSync(fd);
  dirs.clear();
}

function openedGhost(ctx: RestoreContext, name: string, remapId: number): { path: string; isDir: boolean } {
  const ghosts = ctx.shared('files.ghosts', () => new Map<number, { path: string; isDir: boolean }>());
  let ghost = ghosts.get(remapId);
  if (ghost === undefined) {
    ghost = createGhost(ctx, name, remapId);
    ghosts.set(remapId, ghost);
  }
  return ghost;
}

/** Open a deleted file carried in a ghost image, under its old name (which is unlinked again at once). */
export function openGhost(ctx: RestoreContext, name: string, flags: number, remap: RemapFilePathEntry, savedMode?: number): number {
  const ghost = openedGhost(ctx, name, remap.remap_id);
  return ghost.isDir ? openExpecting(ghost.path, flags, savedMode) : openViaLink(ghost.path, name, flags, savedMode);
}

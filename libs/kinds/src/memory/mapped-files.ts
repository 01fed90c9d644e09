// files.img entries for what VMAs and /proc/PID/exe point at: a
// reg_file_entry for a regular file, a memfd file_entry (plus its inode in
// memfd.img, content in pagemap-shmem) for a memfd. One entry per file
// (dev:ino) in the whole dump; the id is what vma_entry.shmid and
// mm_entry.exe_file_id name. Files are opened through /proc/PID/map_files
// (or /proc/PID/exe), never by path. A deleted file goes into a ghost
// image, as a deleted file an fd holds does; anything not a regular file
// or memfd is UnsupportedError; a packet socket's mapped rings name the
// socket's own entry. See proc_pid_map_files(5).
import { closeSync, fstatSync, openSync, readlinkSync, type Stats } from 'node:fs';
import { UnsupportedError } from '@criu-ts/base';
import { FdTypes, type FileEntry } from '@criu-ts/images';
import { F, MFD, O, fcntl, pidfdOpen } from '@criu-ts/kernel';
import { listFds } from '@criu-ts/proc';
import type { DumpContext } from '../dump-context.js';
import type { FdDumpEnv } from '../files/fd-kind.js';
import { describeFile } from '../files/file-description.js';
import { dumpGhost } from '../files/ghost-file.js';
import { openFd } from '../files/open-fd.js';
import { dumpShmemOnce } from './shmem.js';
import { memfdInodes, memoryTables } from './tables.js';

const DELETED = ' (deleted)';
const MEMFD_PREFIX = '/memfd:';
const NO_OWNER = { uid: 0, euid: 0, signum: 0, pid_type: 0, pid: 0 };

/** What a mapped file is: where to open it, and what to name in errors. */
export interface MappedFile {
  pid: number;
  /** /proc/PID/map_files/START-END or /proc/PID/exe */
  link: string;
  address?: bigint;
  /** a hugetlb object's MAP_HUGE_<size> bits (its memfd inode gets them, with MFD_HUGETLB, as upstream writes them) */
  hugeSize?: number;
}

/** /proc/PID/map_files/START-END for a VMA (lower-case hex, as the kernel names them). */
export function mapFilesLink(pid: number, start: bigint, end: bigint): string {
  return `/proc/${pid}/map_files/${start.toString(16)}-${end.toString(16)}`;
}

function withOpen<T>(link: string, flags: number, fn: (fd: number, st: Stats) => T): T {
  const fd = openSync(link, flags);
  try {
    return fn(fd, fstatSync(fd));
  } finally {
    closeSync(fd);
  }
}

function writeFileEntry(ctx: DumpContext, entry: FileEntry): void {
  ctx.image('files').write({ message: { ...entry } });
}

/**
 * A mapped file that was deleted (no link left) is carried in a ghost
 * image, as an fd of one is (files/ghost-file.ts), read through map_files.
 * One still linked under another name is refused.
 */
function dumpDeletedMapped(ctx: DumpContext, file: MappedFile, id: number, name: string): void {
  const local = openSync(file.link, O.RDONLY);
  try {
    const stat = fstatSync(local, { bigint: true });
    const where = file.address === undefined ? 'exe' : `mapping at 0x${file.address.toString(16)}`;
    if (stat.nlink !== 0n) throw new UnsupportedError({ pid: file.pid, address: file.address, kind: `deleted file ${name} still linked elsewhere (${stat.nlink} links)` });
    dumpGhost(ctx, { pid: file.pid, what: where, stat, local }, id, name);
  } finally {
    closeSync(local);
  }
}

/** The reg_file_entry of a mapped file, as upstream writes one (no mnt_id: upstream saves none for a mapping's file). */
function regEntry(ctx: DumpContext, file: MappedFile, st: Stats): number {
  const link = readlinkSync(file.link);
  const deleted = link.endsWith(DELETED);
  const name = deleted ? link.slice(0, -DELETED.length) : link;
  const id = ctx.nextId();
  if (deleted) dumpDeletedMapped(ctx, file, id, name);
  const reg = {
    id, flags: O.RDONLY, pos: 0n, fown: NO_OWNER, name,
    size: BigInt(st.size), mode: st.mode,
  };
  writeFileEntry(ctx, { type: FdTypes.REG, id, reg });
  ctx.log.debug(`file ${id}: ${name}`);
  return id;
}

/** The reg_file_entry id of a regular file mapped by a VMA (or the exe), written on first sight. */
export function regFileId(ctx: DumpContext, file: MappedFile): number {
  return withOpen(file.link, O.PATH, (_fd, st) => {
    if (!st.isFile()) throw new UnsupportedError({ pid: file.pid, address: file.address, kind: `mapping of a non-regular file (mode 0${st.mode.toString(8)})` });
    const key = `${st.dev}:${st.ino}`;
    const files = memoryTables(ctx).regFiles;
    let id = files.get(key);
    if (id === undefined) {
      id = regEntry(ctx, file, st);
      files.set(key, id);
    }
    return id;
  });
}

function memfdName(link: string): string {
  let name = readlinkSync(link);
  if (name.endsWith(DELETED)) name = name.slice(0, -DELETED.length);
  return name.startsWith(MEMFD_PREFIX) ? name.slice(MEMFD_PREFIX.length) : name;
}

function memfdInodeId(ctx: DumpContext, file: MappedFile, fd: number, st: Stats): number {
  const inodes = memfdInodes(ctx);
  const key = `${st.dev}:${st.ino}`;
  const known = inodes.get(key);
  if (known !== undefined) return known;
  const inodeId = ctx.nextId();
  inodes.set(key, inodeId);
  dumpShmemOnce(ctx, fd, st.ino, st.size);
  ctx.image('memfd').write({
    message: {
      name: memfdName(file.link), uid: st.uid, gid: st.gid, size: BigInt(st.size),
      shmid: st.ino, seals: fcntl(fd, F.GET_SEALS), inode_id: BigInt(inodeId), mode: st.mode,
      ...(file.hugeSize !== undefined && file.hugeSize !== 0 ? { hugetlb_flag: (file.hugeSize | MFD.HUGETLB) >>> 0 } : {}),
    },
  });
  return inodeId;
}

/** The memfd file_entry id for a VMA mapping a memfd; its inode and content are dumped once. */
export function memfdFileId(ctx: DumpContext, file: MappedFile): number {
  return withOpen(file.link, O.RDONLY, (fd, st) => {
    const key = `${st.dev}:${st.ino}`;
    const files = memoryTables(ctx).memfdFiles;
    let id = files.get(key);
    if (id === undefined) {
      const inodeId = memfdInodeId(ctx, file, fd, st);
      id = ctx.nextId();
      writeFileEntry(ctx, { type: FdTypes.MEMFD, id, memfd: { id, flags: O.RDONLY, pos: 0n, fown: NO_OWNER, inode_id: inodeId } });
      files.set(key, id);
    }
    return id;
  });
}

/**
 * The file_entry id of the packet socket whose rings a VMA maps: the task
 * must hold an fd of it (upstream refuses one it does not), whose
 * description is dumped now, by the files kind's own means, so that the
 * task's fd table names the same id.
 */
export function mappedSocketId(env: FdDumpEnv, ino: number, address: bigint): number {
  const pid = env.task.pid;
  const entry = listFds(pid).find((e) => e.link === `socket:[${ino}]`);
  if (entry === undefined) throw new UnsupportedError({ pid, address, kind: `mapping of the rings of socket ino ${ino}, of which the task holds no fd` });
  const pidfd = pidfdOpen(pid);
  try {
    const fd = openFd(pid, pidfd, entry);
    try {
      const { desc } = describeFile(env, fd);
      if (desc.type !== FdTypes.PACKETSK) throw new UnsupportedError({ pid, address, kind: `mapping of socket ino ${ino}, not a packet socket` });
      return desc.id;
    } finally {
      closeSync(fd.local);
    }
  } finally {
    closeSync(pidfd);
  }
}

/** Dumps the shared anonymous object a VMA maps (once per shmid). */
export function dumpSharedAnon(ctx: DumpContext, file: MappedFile, shmid: number): void {
  if (memoryTables(ctx).shmemDumped.has(shmid)) return;
  withOpen(file.link, O.RDONLY, (fd, st) => dumpShmemOnce(ctx, fd, shmid, st.size));
}

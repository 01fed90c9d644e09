// memfd_create(2) files: memfd_file_entry {id, flags, pos, fown, inode_id}
// in files.img, type MEMFD; once per inode a memfd_inode_entry {name, uid,
// gid, size, shmid = inode number, seals, inode_id, mode} in memfd.img, and its
// contents as shared memory in pagemap-shmem-SHMID.img + pages-N.img (holes
// left out). Inode ids and written shmids are the tables the memory kind
// keeps, so a memfd both mapped and open is saved once; a hugetlb one with
// its hugetlb_flag (MFD_HUGETLB and the page size), as upstream writes it.
// Restore: each inode is made once in the tool by the
// memory kind's shmem-restore.ts (shared with memfd mappings) with its
// mode; the first read-write description is the memfd_create(2) file itself
// (execveat of it keeps working), others are new opens of it through
// /proc/self/fd. See memfd_create(2).
import { closeSync, openSync, statfsSync } from 'node:fs';
import { F, MFD, O, SEEK, SYS, fcntl, syscall } from '@criu-ts/kernel';
import { FdTypes, type MemfdFileEntry } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';
import type { RestoreContext } from '../restore-context.js';
import { closingOnError, openPath, restoreFown } from './open-path.js';
import { dumpShmemOnce } from '../memory/shmem.js';
import { memfdInodeFd } from '../memory/shmem-restore.js';
import { memfdInodes } from '../memory/tables.js';
import type { FdKind } from './fd-kind.js';
import type { OpenFd } from './open-fd.js';
import { writeShared } from './image-entry.js';

/** Write the memfd's pages (through a readable reopen: the task's fd may be write-only). */
function dumpContents(ctx: DumpContext, fd: OpenFd, shmid: number): void {
  const reader = openSync(`/proc/self/fd/${fd.local}`, 'r');
  try {
    dumpShmemOnce(ctx, reader, shmid, Number(fd.stat.size));
  } finally {
    closeSync(reader);
  }
}

const HUGETLBFS_MAGIC = 0x958458f6;

/** A hugetlb memfd's MFD_HUGETLB | MFD_HUGE_<size> (its file system's block size is the page size), 0 for others. */
function hugetlbFlag(local: number): number {
  const fs = statfsSync(`/proc/self/fd/${local}`);
  if (fs.type !== HUGETLBFS_MAGIC) return 0;
  return ((Math.round(Math.log2(fs.bsize)) << 26) | MFD.HUGETLB) >>> 0;
}

function inodeId(ctx: DumpContext, fd: OpenFd, name: string): number {
  const inodes = memfdInodes(ctx);
  const key = `${fd.stat.dev}:${fd.stat.ino}`;
  const known = inodes.get(key);
  if (known !== undefined) return known;
  const id = ctx.nextId();
  inodes.set(key, id);
  const shmid = Number(fd.stat.ino & 0xffffffffn);
  dumpContents(ctx, fd, shmid);
  const seals = fcntl(fd.local, F.GET_SEALS);
  const huge = hugetlbFlag(fd.local);
  const message = {
    name, uid: Number(fd.stat.uid), gid: Number(fd.stat.gid), size: fd.stat.size, shmid, seals, inode_id: BigInt(id), mode: Number(fd.stat.mode),
    ...(huge !== 0 ? { hugetlb_flag: huge } : {}),
  };
  writeShared(ctx, 'memfd', { message });
  return id;
}

// ---- restore ----

/** Inode ids whose memfd_create(2) file already went to a read-write description. */
const MEMFD_RW_CLAIMED_KEY = 'memfd-rw-claimed';

/**
 * The first read-write description of an inode is the memfd_create(2) file
 * itself (a dup of ours, its status flags set): only that file may be
 * execveat(AT_EMPTY_PATH)'d while open for writing, as the task could before.
 */
function originalOpen(ctx: RestoreContext, inode: number, entry: MemfdFileEntry): number | undefined {
  if ((entry.flags & O.ACCMODE) !== O.RDWR) return undefined;
  const claimed = ctx.shared(MEMFD_RW_CLAIMED_KEY, () => new Set<number>());
  if (claimed.has(entry.inode_id)) return undefined;
  claimed.add(entry.inode_id);
  const fd = fcntl(inode, F.DUPFD_CLOEXEC, 0);
  return closingOnError(fd, (dup) => fcntl(dup, F.SETFL, entry.flags & ~O.ACCMODE));
}

/** A memfd description: the original file or a new open of the (shared) inode, with its flags, position and owner. */
function openMemfd(ctx: RestoreContext, entry: MemfdFileEntry): number {
  const inode = memfdInodeFd(ctx, entry.inode_id);
  const opened = originalOpen(ctx, inode, entry) ?? openPath(`/proc/self/fd/${inode}`, entry.flags);
  return closingOnError(opened, (fd) => {
    syscall(SYS.lseek, fd, entry.pos, SEEK.SET);
    restoreFown(fd, entry.fown);
  });
}

export const memfdKind: FdKind = {
  name: 'memfd',
  type: FdTypes.MEMFD,
  matches: (fd) => fd.target.kind === 'memfd',
  dump(env, fd, id) {
    const name = fd.target.kind === 'memfd' ? fd.target.name : '';
    const memfd = { id, flags: fd.flags, pos: fd.info.pos, fown: fd.fown, inode_id: inodeId(env.ctx, fd, name) };
    return { type: FdTypes.MEMFD, id, memfd };
  },
  open: (env, entry) => openMemfd(env.ctx, entry.memfd!),
};

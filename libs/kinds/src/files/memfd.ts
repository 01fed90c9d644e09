// memfd_create(2) files: memfd_file_entry {id, flags, pos, fown, inode_id}
// in files.img, type MEMFD; once per inode a memfd_inode_entry {name, uid,
// gid, size, shmid = inode number, seals, inode_id} in memfd.img, and its
// contents as shared memory in pagemap-shmem-SHMID.img + pages-N.img (holes
// left out). Inode ids and written shmids are the tables the memory kind
// keeps, so a memfd both mapped and open is saved once. Not supported:
// hugetlb memfds. Restore makes each inode once in the tool (memfd_create,
// pages copied back from the images kernel-side, size, owner, then seals)
// and opens each description of it through /proc/self/fd. See
// memfd_create(2).
import { closeSync, existsSync, fchownSync, ftruncateSync, openSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { F, MFD, PAGE_SIZE, SEEK, SYS, fcntl, memfdCreate, syscall } from '@criu-ts/kernel';
import {
  FdTypes, PE_PRESENT, imagePath, openPagemap, openPagesImage, readEntries, type MemfdFileEntry, type MemfdInodeEntry,
} from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';
import type { RestoreContext } from '../restore-context.js';
import { copyRange } from './file-copy.js';
import { closingOnError, openPath, restoreFown } from './open-path.js';
import { keepOwnFd } from './restore-table.js';
import { dumpShmemOnce } from '../memory/shmem.js';
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
  const message = { name, uid: Number(fd.stat.uid), gid: Number(fd.stat.gid), size: fd.stat.size, shmid, seals, inode_id: BigInt(id) };
  writeShared(ctx, 'memfd', { message });
  return id;
}

// ---- restore ----

/** memfd.img inode entries by inode_id, read once. */
function memfdInodeEntries(ctx: RestoreContext): ReadonlyMap<number, MemfdInodeEntry> {
  return ctx.shared('files.memfd-inodes.entries', () => {
    const path = imagePath(ctx.options.imagesDir, 'memfd');
    const byId = new Map<number, MemfdInodeEntry>();
    if (existsSync(path)) for (const inode of readEntries(ctx.options.imagesDir, 'memfd')) byId.set(Number(inode.inode_id), inode);
    return byId;
  });
}

/** Copy the object's saved pages (pagemap-shmem-SHMID.img, pages-N.img) into it, kernel-side. */
function fillShmem(ctx: RestoreContext, fd: number, shmid: number, what: string): void {
  const dir = ctx.options.imagesDir;
  if (!existsSync(imagePath(dir, 'pagemap-shmem', shmid))) return;
  const pagemap = openPagemap(dir, shmid, 'pagemap-shmem');
  try {
    const pages = openPagesImage(dir, pagemap.pagesId);
    try {
      for (const run of pagemap) {
        if ((run.flags & PE_PRESENT) === 0 || run.pagesOffset === undefined) continue;
        copyRange(pages, run.pagesOffset, fd, Number(run.vaddr), run.nrPages * PAGE_SIZE, what);
      }
    } finally {
      closeSync(pages);
    }
  } finally {
    pagemap.close();
  }
}

/** The memfd of an inode, made once (contents, size, owner, seals); our fd of it. */
function memfdInode(ctx: RestoreContext, inodeId: number): number {
  const made = ctx.shared('files.memfd-inodes', () => new Map<number, number>());
  const known = made.get(inodeId);
  if (known !== undefined) return known;
  const inode = memfdInodeEntries(ctx).get(inodeId);
  if (inode === undefined) throw new CriuError(`memfd inode ${inodeId} is not in memfd.img`, { code: 'EIMAGE' });
  if ((inode.hugetlb_flag ?? 0) !== 0) throw new CriuError(`memfd "${inode.name}": hugetlb memfds are not restored`, { code: 'EUNSUPPORTED' });
  const fd = keepOwnFd(ctx, memfdCreate(inode.name, MFD.CLOEXEC | MFD.ALLOW_SEALING));
  made.set(inodeId, fd);
  fillShmem(ctx, fd, inode.shmid, `memfd "${inode.name}"`);
  ftruncateSync(fd, Number(inode.size));
  fchownSync(fd, inode.uid, inode.gid);
  if (inode.seals !== 0) fcntl(fd, F.ADD_SEALS, inode.seals);
  return fd;
}

/** A memfd description: a new open of the (shared) inode with its flags, position and owner. */
function openMemfd(ctx: RestoreContext, entry: MemfdFileEntry): number {
  const inode = memfdInode(ctx, entry.inode_id);
  return closingOnError(openPath(`/proc/self/fd/${inode}`, entry.flags), (fd) => {
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

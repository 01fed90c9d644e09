// Restore of shared memory objects (the other half of shmem.ts): each
// object is made once in the tool and mapped by every task that had it.
// A shared anonymous object (MAP_SHARED|MAP_ANONYMOUS, vma status
// ANON_SHARED, shmid = its inode) is made as the kernel makes one — an
// anonymous shared mapping in the tool, reopened through
// /proc/self/map_files and unmapped — so /proc/PID/maps shows it as
// "/dev/zero (deleted)" again; its size is the largest pgoff + length of
// the VMAs mapping it. A memfd (status AREA_MEMFD, shmid = its memfd
// file_entry id) is made from its memfd.img inode: memfd_create with the
// name, contents, size, owner, then seals. Contents come from
// pagemap-shmem-SHMID.img + pages-N.img, copied kernel-side. A task gets
// the object with an injected pidfd_getfd and maps it at the VMA's
// address. The objects are the same ones the files kind opens for memfd
// descriptors (one table), and stay open in the tool until the files are
// restored. A hugetlb memfd (hugetlb_flag: MFD_HUGETLB and its page size)
// takes no write(2): its contents are read from the pages image into a
// shared mapping of it in the tool (preadv, kernel-side), unmapped after.
// Not restored: SysV shm. See memfd_create(2),
// mmap(2), proc_pid_map_files(5), pidfd_getfd(2).
import { closeSync, existsSync, fchmodSync, fchownSync, ftruncateSync, openSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { PE_PRESENT, imagePath, openPagemap, openPagesImage, readEntries, readOne, type Messages, type VmaEntry } from '@criu-ts/images';
import { F, MAP, MFD, PAGE_SIZE, PROT, SYS, fcntl, memfdCreate, syscall } from '@criu-ts/kernel';
import { takeOurFd, type Injector } from '@criu-ts/inject';
import { scratchEnd } from '../files/fd-install.js';
import { imagePidOf, type RestoreContext } from '../restore-context.js';
import { copyRange } from '../files/file-copy.js';
import { fileEntry, keepOwnFd } from '../files/restore-table.js';
import { VMA } from './vma-flags.js';

type MemfdInode = Messages['memfd_inode_entry'];

/** shared with files/memfd.ts: memfd inode_id → our fd */
const MEMFD_TABLE = 'files.memfd-inodes';
const SHARED_ANON_TABLE = 'memory.shared-anon';
const SHARED_ANON_SIZES = 'memory.shared-anon-sizes';

/** Copies the object's saved pages into fd (offsets in the object), kernel-side. */
export function fillShmem(ctx: RestoreContext, fd: number, shmid: number, what: string): number {
  const dir = ctx.options.imagesDir;
  if (!existsSync(imagePath(dir, 'pagemap-shmem', shmid))) return 0;
  const pagemap = openPagemap(dir, shmid, 'pagemap-shmem');
  let pages = 0;
  try {
    const source = openPagesImage(dir, pagemap.pagesId);
    try {
      for (const run of pagemap) {
        if ((run.flags & PE_PRESENT) === 0 || run.pagesOffset === undefined) continue;
        copyRange(source, run.pagesOffset, fd, Number(run.vaddr), run.nrPages * PAGE_SIZE, what);
        pages += run.nrPages;
      }
    } finally {
      closeSync(source);
    }
  } finally {
    pagemap.close();
  }
  return pages;
}

/**
 * Fills an object that takes no write(2) (hugetlbfs) from its saved pages:
 * mapped shared in the tool, each run read into the mapping by preadv(2)
 * (kernel-side), then unmapped.
 */
function fillThroughMapping(ctx: RestoreContext, fd: number, inode: MemfdInode, what: string): number {
  const dir = ctx.options.imagesDir;
  if (inode.size === 0n || !existsSync(imagePath(dir, 'pagemap-shmem', inode.shmid))) return 0;
  const addr = syscall(SYS.mmap, 0, inode.size, PROT.READ | PROT.WRITE, MAP.SHARED, fd, 0);
  let pages = 0;
  try {
    const pagemap = openPagemap(dir, inode.shmid, 'pagemap-shmem');
    const source = openPagesImage(dir, pagemap.pagesId);
    try {
      for (const run of pagemap) {
        if ((run.flags & PE_PRESENT) === 0 || run.pagesOffset === undefined) continue;
        const len = run.nrPages * PAGE_SIZE;
        if (run.vaddr + BigInt(len) > inode.size) throw new CriuError(`${what}: saved pages at offset ${run.vaddr} lie past its size ${inode.size}`, { code: 'EIMAGE' });
        const iov = Buffer.alloc(16);
        iov.writeBigUInt64LE(addr + run.vaddr, 0);
        iov.writeBigUInt64LE(BigInt(len), 8);
        const got = syscall(SYS.preadv, source, iov, 1, run.pagesOffset, 0);
        if (got !== BigInt(len)) throw new CriuError(`${what}: read ${got} of ${len} bytes of its pages`, { code: 'EIO' });
        pages += run.nrPages;
      }
    } finally {
      closeSync(source);
      pagemap.close();
    }
  } finally {
    syscall(SYS.munmap, addr, inode.size);
  }
  ctx.log.info(`${what}: ${pages} page(s) restored through a mapping`);
  return pages;
}

/** Every shared anonymous object's size: the largest pgoff + length over the tree's VMAs. */
export function sharedAnonSizes(vmas: readonly VmaEntry[]): Map<number, bigint> {
  const sizes = new Map<number, bigint>();
  for (const vma of vmas) {
    // a SysV segment's mapping is ANON_SHARED too (as upstream writes it), but its segment is the IPC namespace's
    if (((vma.status >>> 0) & VMA.ANON_SHARED) === 0 || ((vma.status >>> 0) & VMA.AREA_SYSVIPC) !== 0) continue;
    const end = vma.pgoff + (vma.end - vma.start);
    const shmid = Number(vma.shmid);
    if (end > (sizes.get(shmid) ?? 0n)) sizes.set(shmid, end);
  }
  return sizes;
}

function treeSizes(ctx: RestoreContext): Map<number, bigint> {
  return ctx.shared(SHARED_ANON_SIZES, () => {
    const dir = ctx.options.imagesDir;
    const vmas = ctx.tasks.filter((task) => !task.zombie).flatMap((task) => readOne(dir, 'mm', imagePidOf(ctx, task.pid)).vmas ?? []);
    return sharedAnonSizes(vmas);
  });
}

/** A new shared anonymous object of `size` bytes, as an fd of ours (O_RDWR). */
function newSharedAnon(size: bigint): number {
  const addr = syscall(SYS.mmap, 0, size, PROT.READ | PROT.WRITE, MAP.SHARED | MAP.ANONYMOUS, -1, 0);
  try {
    return openSync(`/proc/self/map_files/${addr.toString(16)}-${(addr + size).toString(16)}`, 'r+');
  } finally {
    syscall(SYS.munmap, addr, size);
  }
}

/** Our fd of shared anonymous object shmid, made and filled on first use. */
export function sharedAnonFd(ctx: RestoreContext, shmid: number): number {
  const made = ctx.shared(SHARED_ANON_TABLE, () => new Map<number, number>());
  const known = made.get(shmid);
  if (known !== undefined) return known;
  const size = treeSizes(ctx).get(shmid);
  if (size === undefined || size === 0n) throw new CriuError(`shared memory ${shmid}: no mapping of it in the images`, { code: 'EIMAGE' });
  const fd = keepOwnFd(ctx, newSharedAnon(size));
  made.set(shmid, fd);
  const pages = fillShmem(ctx, fd, shmid, `shared memory ${shmid}`);
  ctx.log.info(`shmem ${shmid}: ${size} bytes, ${pages} page(s) restored`);
  return fd;
}

function memfdInodeEntry(ctx: RestoreContext, inodeId: number): MemfdInode {
  const dir = ctx.options.imagesDir;
  const inode = existsSync(imagePath(dir, 'memfd')) ? readEntries(dir, 'memfd').find((i) => Number(i.inode_id) === inodeId) : undefined;
  if (inode === undefined) throw new CriuError(`memfd inode ${inodeId} is not in memfd.img`, { code: 'EIMAGE' });
  return inode;
}

/** Our fd of memfd inode inodeId (contents, size, owner, seals), made once. */
export function memfdInodeFd(ctx: RestoreContext, inodeId: number): number {
  const made = ctx.shared(MEMFD_TABLE, () => new Map<number, number>());
  const known = made.get(inodeId);
  if (known !== undefined) return known;
  const inode = memfdInodeEntry(ctx, inodeId);
  const huge = inode.hugetlb_flag ?? 0;
  const fd = keepOwnFd(ctx, memfdCreate(inode.name, MFD.CLOEXEC | MFD.ALLOW_SEALING | huge));
  made.set(inodeId, fd);
  if ((huge & MFD.HUGETLB) !== 0) {
    ftruncateSync(fd, Number(inode.size));
    fillThroughMapping(ctx, fd, inode, `hugetlb memfd "${inode.name}"`);
  } else {
    fillShmem(ctx, fd, inode.shmid, `memfd "${inode.name}"`);
    ftruncateSync(fd, Number(inode.size));
  }
  fchownSync(fd, inode.uid, inode.gid);
  if (inode.mode !== undefined) fchmodSync(fd, inode.mode & 0o7777);
  if (inode.seals !== 0) fcntl(fd, F.ADD_SEALS, inode.seals);
  return fd;
}

/** Our fd of the object a shared anonymous or memfd VMA maps. */
export function sharedObjectFd(ctx: RestoreContext, pid: number, vma: VmaEntry): number {
  const status = vma.status >>> 0;
  if ((status & VMA.ANON_SHARED) !== 0) return sharedAnonFd(ctx, Number(vma.shmid));
  if ((status & VMA.AREA_MEMFD) === 0) throw new CriuError(`pid ${pid}: mapping at 0x${vma.start.toString(16)} is not shared memory`, { code: 'EINVAL' });
  const entry = fileEntry(ctx, Number(vma.shmid), `memfd mapping at 0x${vma.start.toString(16)} of pid ${pid}`);
  if (entry.memfd === undefined) throw new CriuError(`pid ${pid}: file ${vma.shmid} mapped at 0x${vma.start.toString(16)} is not a memfd`, { code: 'EIMAGE' });
  return memfdInodeFd(ctx, entry.memfd.inode_id);
}

/**
 * The object a VMA maps, as an fd of the task behind injector (pidfd_open
 * of the tool + pidfd_getfd, injected); the caller closes it in the task.
 */
export function sharedMappingFd(ctx: RestoreContext, injector: Injector, vma: VmaEntry): bigint {
  return takeOurFd(injector, sharedObjectFd(ctx, injector.pid, vma), () => scratchEnd(ctx, injector.pid));
}

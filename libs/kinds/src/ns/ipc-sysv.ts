// SysV IPC objects of an IPC namespace (sysvipc(7)), called on the tool's
// thread while it is inside the namespace (ipc-ns.ts):
// - shared memory segments: ipcns-shm-ID.img, each ipc_shm_entry followed
//   by the segment's bytes (read with one kernel copy from our own
//   read-only attach) — upstream's inline layout, which its restore reads;
//   upstream's own dump puts them in pagemap-shmem-ID.img and pages
//   (in_pagemaps), which restore reads too, copied kernel-side into the
//   segment (its file, through /proc/self/map_files of our attach);
// - semaphore sets: ipcns-sem-ID.img, ipc_sem_entry then the u16 values;
// - message queues: ipcns-msg-ID.img, ipc_msg_entry then each message
//   (ipc_msg {mtype, msize} and its text), read without taking them off
//   the queue (msgrcv MSG_COPY).
// Each object is made again with its key, mode and id (the namespace's
// *_next_id sysctl set before each get, as upstream does); owners are those
// of the restoring criu (root), and the times and pids of last operations
// are not kept (the kernel has no way to set them). Hugetlb segments are
// refused.
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { CriuError, ImageError, SyscallError, UnsupportedError } from '@criu-ts/base';
import { PAGE_SIZE, SYS, readTaskMemory, syscall, trySyscall, writeTaskMemory } from '@criu-ts/kernel';
import { imagePath, readImageEntries, writeImage, type ImageMessage, type Messages } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';
import type { RestoreContext } from '../restore-context.js';
import { fillShmem } from '../memory/shmem-restore.js';

const IPC = { RMID: 0, SET: 1, STAT: 2, CREAT: 0o1000, EXCL: 0o2000, NOWAIT: 0o4000 } as const;
const SHM = { STAT: 13, INFO: 14, RDONLY: 0o10000, HUGETLB: 0o4000 } as const;
const SEM = { GETALL: 13, SETALL: 17, STAT: 18, INFO: 19 } as const;
const MSG = { STAT: 11, INFO: 12, COPY: 0o40000 } as const;
const EINVAL = 22;
const ENOMSG = 42;

type IpcDesc = Messages['ipc_desc_entry'];

/** struct ipc64_perm (48 bytes, x86_64) at the start of every *id64_ds. */
function descOf(id: number, ds: Buffer): IpcDesc {
  return { key: ds.readUInt32LE(0), uid: ds.readUInt32LE(4), gid: ds.readUInt32LE(8), cuid: ds.readUInt32LE(12), cgid: ds.readUInt32LE(16), mode: ds.readUInt32LE(20), id };
}

/** The ids of every object of one kind: *_INFO gives the highest index, *_STAT of each index its id and state. */
function objects(ctl: number, info: number, stat: number): { id: number; ds: Buffer }[] {
  const found: { id: number; ds: Buffer }[] = [];
  const maxIndex = Number(ctl === SYS.semctl ? syscall(ctl, 0, 0, info, Buffer.alloc(128)) : syscall(ctl, 0, info, Buffer.alloc(128)));
  for (let index = 0; index <= maxIndex; index++) {
    const ds = Buffer.alloc(128);
    const got = ctl === SYS.semctl ? trySyscall(ctl, index, 0, stat, ds) : trySyscall(ctl, index, stat, ds);
    if (got.errno === EINVAL) continue;
    if (got.errno !== 0) throw new SyscallError({ syscall: `${ctl === SYS.semctl ? 'semctl' : ctl === SYS.shmctl ? 'shmctl' : 'msgctl'}(STAT ${index})`, errno: got.errno });
    found.push({ id: Number(got.value), ds });
  }
  return found;
}

function dumpShm(ctx: DumpContext, nsId: number, pid: number): number {
  const entries = objects(SYS.shmctl, SHM.INFO, SHM.STAT).map(({ id, ds }) => {
    const size = ds.readBigUInt64LE(48);
    const desc = descOf(id, ds);
    if ((desc.mode & SHM.HUGETLB) !== 0) throw new UnsupportedError({ pid, kind: `SysV shared memory segment ${id} on hugetlb pages` });
    const data = Buffer.alloc(Number(size));
    const addr = syscall(SYS.shmat, id, 0, SHM.RDONLY);
    try {
      if (data.length > 0 && readTaskMemory(process.pid, addr, data) !== data.length) throw new CriuError(`SysV shared memory segment ${id}: short read`);
    } finally {
      syscall(SYS.shmdt, addr);
    }
    return { message: { desc, size }, payload: data };
  });
  writeImage(imagePath(ctx.options.imagesDir, 'ipcns-shm', nsId), 'ipcns-shm', entries);
  return entries.length;
}

function dumpSem(ctx: DumpContext, nsId: number): number {
  const entries = objects(SYS.semctl, SEM.INFO, SEM.STAT).map(({ id, ds }) => {
    const nsems = Number(ds.readBigUInt64LE(80));
    const values = Buffer.alloc(nsems * 2);
    syscall(SYS.semctl, id, 0, SEM.GETALL, values);
    return { message: { desc: descOf(id, ds), nsems }, payload: values };
  });
  writeImage(imagePath(ctx.options.imagesDir, 'ipcns-sem', nsId), 'ipcns-sem', entries);
  return entries.length;
}

/** Every message of queue id, in order, left on the queue (MSG_COPY by index). */
function queuedMessages(id: number, qnum: number, maxSize: number): { message: ImageMessage; payload: Buffer }[] {
  const records: { message: ImageMessage; payload: Buffer }[] = [];
  const buf = Buffer.alloc(8 + maxSize);
  for (let index = 0; index < qnum; index++) {
    const got = trySyscall(SYS.msgrcv, id, buf, maxSize, index, IPC.NOWAIT | MSG.COPY);
    if (got.errno === ENOMSG) break;
    if (got.errno !== 0) throw new SyscallError({ syscall: `msgrcv(MSG_COPY ${index}) of queue ${id}`, errno: got.errno });
    const msize = Number(got.value);
    records.push({ message: { mtype: buf.readBigUInt64LE(0), msize } as unknown as ImageMessage, payload: Buffer.from(buf.subarray(8, 8 + msize)) });
  }
  return records;
}

function dumpMsg(ctx: DumpContext, nsId: number, maxSize: number): number {
  const entries = objects(SYS.msgctl, MSG.INFO, MSG.STAT).map(({ id, ds }) => {
    const qnum = Number(ds.readBigUInt64LE(80));
    const records = queuedMessages(id, qnum, maxSize);
    if (records.length !== qnum) throw new CriuError(`SysV message queue ${id}: ${qnum} messages, ${records.length} read`);
    return { message: { desc: descOf(id, ds), qbytes: Number(ds.readBigUInt64LE(88)), qnum }, records };
  });
  writeImage(imagePath(ctx.options.imagesDir, 'ipcns-msg', nsId), 'ipcns-msg', entries);
  return entries.length;
}

/** Dumps the SysV objects of the namespace the calling thread is in. */
export function dumpSysvObjects(ctx: DumpContext, nsId: number, pid: number): void {
  const shm = dumpShm(ctx, nsId, pid);
  const sem = dumpSem(ctx, nsId);
  const msg = dumpMsg(ctx, nsId, 65536);
  ctx.log.info(`ipc namespace ${nsId}: ${shm} shared memory segment(s), ${sem} semaphore set(s), ${msg} message queue(s)`);
}

/** get(2) of an object with the dumped id: the namespace's next id set first; the kernel must give exactly that id. */
function makeWithId(what: string, nextId: string, desc: IpcDesc, get: () => bigint, image: string): number {
  writeFileSync(`/proc/sys/kernel/${nextId}`, String(desc.id));
  const id = Number(get());
  if (id !== desc.id) throw new ImageError(`${what}: made with id ${id}, not the dumped ${desc.id}`, { image, offset: 0 });
  return id;
}

/** The contents of an upstream dump's segment (pagemap-shmem-ID.img) into the segment attached at addr. */
function fillFromPagemap(ctx: RestoreContext, shm: Messages['ipc_shm_entry'], addr: bigint): void {
  const end = addr + ((BigInt(shm.size) + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE)) * BigInt(PAGE_SIZE);
  const fd = openSync(`/proc/self/map_files/${addr.toString(16)}-${end.toString(16)}`, 'r+');
  try {
    fillShmem(ctx, fd, shm.desc.id, `SysV shared memory segment ${shm.desc.id}`);
  } finally {
    closeSync(fd);
  }
}

function restoreShm(ctx: RestoreContext, dir: string, nsId: number): void {
  const image = imagePath(dir, 'ipcns-shm', nsId);
  for (const entry of readImageEntries(image, 'ipcns-shm')) {
    const shm = entry.message as unknown as Messages['ipc_shm_entry'];
    const what = `SysV shared memory segment ${shm.desc.id}`;
    const flags = (shm.desc.mode & 0o777) | IPC.CREAT | IPC.EXCL;
    const id = makeWithId(what, 'shm_next_id', shm.desc, () => syscall(SYS.shmget, shm.desc.key, shm.size, flags), image);
    const data = entry.payload ?? Buffer.alloc(0);
    if (data.length === 0 && shm.in_pagemaps !== true) continue;
    const addr = syscall(SYS.shmat, id, 0, 0);
    try {
      if (shm.in_pagemaps === true) fillFromPagemap(ctx, shm, addr);
      else if (writeTaskMemory(process.pid, addr, data) !== data.length) throw new CriuError(`${what}: short write`);
    } finally {
      syscall(SYS.shmdt, addr);
    }
  }
}

function restoreSem(dir: string, nsId: number): void {
  const image = imagePath(dir, 'ipcns-sem', nsId);
  for (const entry of readImageEntries(image, 'ipcns-sem')) {
    const sem = entry.message as unknown as Messages['ipc_sem_entry'];
    const flags = (sem.desc.mode & 0o777) | IPC.CREAT | IPC.EXCL;
    const id = makeWithId(`SysV semaphore set ${sem.desc.id}`, 'sem_next_id', sem.desc, () => syscall(SYS.semget, sem.desc.key, sem.nsems, flags), image);
    const values = Buffer.from(entry.payload ?? Buffer.alloc(0)).subarray(0, sem.nsems * 2);
    if (sem.nsems > 0) syscall(SYS.semctl, id, 0, SEM.SETALL, values);
  }
}

function restoreMsg(dir: string, nsId: number): void {
  const image = imagePath(dir, 'ipcns-msg', nsId);
  for (const entry of readImageEntries(image, 'ipcns-msg')) {
    const queue = entry.message as unknown as Messages['ipc_msg_entry'];
    const flags = (queue.desc.mode & 0o777) | IPC.CREAT | IPC.EXCL;
    const id = makeWithId(`SysV message queue ${queue.desc.id}`, 'msg_next_id', queue.desc, () => syscall(SYS.msgget, queue.desc.key, flags), image);
    for (const record of entry.records ?? []) {
      const msg = record.message as unknown as Messages['ipc_msg'];
      const buf = Buffer.alloc(8 + record.payload.length);
      buf.writeBigUInt64LE(BigInt(msg.mtype), 0);
      record.payload.copy(buf, 8);
      syscall(SYS.msgsnd, id, buf, record.payload.length, IPC.NOWAIT);
    }
    const ds = Buffer.alloc(128);
    syscall(SYS.msgctl, id, IPC.STAT, ds);
    ds.writeBigUInt64LE(BigInt(queue.qbytes), 88);
    syscall(SYS.msgctl, id, IPC.SET, ds);
  }
}

/** Makes the dumped SysV objects again in the namespace the calling thread is in (a new, empty one). */
export function restoreSysvObjects(ctx: RestoreContext, nsId: number): void {
  const dir = ctx.options.imagesDir;
  // upstream writes an image only for kinds that have objects; ours, every kind (empty ones too)
  if (existsSync(imagePath(dir, 'ipcns-shm', nsId))) restoreShm(ctx, dir, nsId);
  if (existsSync(imagePath(dir, 'ipcns-sem', nsId))) restoreSem(dir, nsId);
  if (existsSync(imagePath(dir, 'ipcns-msg', nsId))) restoreMsg(dir, nsId);
}

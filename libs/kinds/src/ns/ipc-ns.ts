// The tree's own IPC namespace (ipc_namespaces(7)): its sysctls,
// ipcns-var-ID.img (ipc_var_entry: kernel.sem, msgmax, msgmnb, msgmni,
// shmmax, shmall, shmmni, shm_rmid_forced, fs.mqueue.*, the *_next_id
// ones when set), and its SysV objects (ipc-sysv.ts: shared memory
// segments with their contents, semaphore sets with their values, message
// queues with their messages), in upstream's layout. Everything is read and
// made from the tool's thread inside the namespace (setns), as upstream
// does it from a helper that entered it. proc(5) /proc/sys/kernel.
// Not saved: POSIX message queues (mqueue files), as upstream.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CLONE } from '@criu-ts/kernel';
import { imagePath, readOne, writeImage, type Messages } from '@criu-ts/images';
import { withNamespace, type NamespaceKind } from './namespace.js';
import { dumpSysvObjects, restoreSysvObjects } from './ipc-sysv.js';

type IpcVar = Messages['ipc_var_entry'];

/** ipc_var_entry fields ← /proc/sys paths (upstream's ipc_sysctl_req), optional ones after the required. */
const SYSCTLS: readonly (readonly [keyof IpcVar, string, 'u32' | 'u64', 'required' | 'optional'])[] = [
  ['msg_ctlmax', 'kernel/msgmax', 'u32', 'required'],
  ['msg_ctlmnb', 'kernel/msgmnb', 'u32', 'required'],
  ['auto_msgmni', 'kernel/auto_msgmni', 'u32', 'required'],
  ['msg_ctlmni', 'kernel/msgmni', 'u32', 'required'],
  ['shm_ctlmax', 'kernel/shmmax', 'u64', 'required'],
  ['shm_ctlall', 'kernel/shmall', 'u64', 'required'],
  ['shm_ctlmni', 'kernel/shmmni', 'u32', 'required'],
  ['shm_rmid_forced', 'kernel/shm_rmid_forced', 'u32', 'required'],
  ['mq_queues_max', 'fs/mqueue/queues_max', 'u32', 'required'],
  ['mq_msg_max', 'fs/mqueue/msg_max', 'u32', 'required'],
  ['mq_msgsize_max', 'fs/mqueue/msgsize_max', 'u32', 'required'],
  ['mq_msg_default', 'fs/mqueue/msg_default', 'u32', 'optional'],
  ['mq_msgsize_default', 'fs/mqueue/msgsize_default', 'u32', 'optional'],
  ['msg_next_id', 'kernel/msg_next_id', 'u32', 'optional'],
  ['sem_next_id', 'kernel/sem_next_id', 'u32', 'optional'],
  ['shm_next_id', 'kernel/shm_next_id', 'u32', 'optional'],
];

const sysctl = (name: string): string => `/proc/sys/${name}`;

/** The namespace's sysctls now (the calling thread's namespace); a missing one (auto_msgmni on new kernels) reads 0, as upstream. */
function readIpcVar(): IpcVar {
  const entry: Record<string, unknown> = { sem_ctls: readFileSync(sysctl('kernel/sem'), 'utf8').trim().split(/\s+/).map(Number) };
  for (const [field, name, type, presence] of SYSCTLS) {
    if (!existsSync(sysctl(name))) {
      if (presence === 'required') entry[field] = type === 'u64' ? 0n : 0;
      continue;
    }
    const text = readFileSync(sysctl(name), 'utf8').trim();
    // a *_next_id of -1 is unset, and cannot be written back (upstream leaves it out)
    if (text === '-1') continue;
    entry[field] = type === 'u64' ? BigInt(text) : Number(text);
  }
  return entry as unknown as IpcVar;
}

/** Writes the sysctls back; the *_next_id ones come last, right before the objects they number (ipc-sysv.ts sets them per object). */
function writeIpcVar(entry: IpcVar): void {
  writeFileSync(sysctl('kernel/sem'), (entry.sem_ctls ?? []).join(' '));
  for (const [field, name] of SYSCTLS) {
    const value = entry[field];
    if (value === undefined || name.endsWith('_next_id') || !existsSync(sysctl(name))) continue;
    if (name === 'kernel/auto_msgmni') continue; // gone from the kernel since 4.x; upstream skips it where it cannot be set
    writeFileSync(sysctl(name), String(value));
  }
}

export const ipcNamespace: NamespaceKind = {
  name: 'ipc',
  cloneFlag: CLONE.NEWIPC,
  images: ['ipcns-var', 'ipcns-shm', 'ipcns-sem', 'ipcns-msg'],
  dump(ctx, id, pid) {
    const dir = ctx.options.imagesDir;
    withNamespace(ipcNamespace, pid, () => {
      writeImage(imagePath(dir, 'ipcns-var', id), 'ipcns-var', [readIpcVar()]);
      dumpSysvObjects(ctx, id, pid);
    });
    ctx.log.info(`ipc namespace ${id}: sysctls and SysV objects saved`);
  },
  restore(ctx, id, root) {
    const entry = readOne(ctx.options.imagesDir, 'ipcns-var', id);
    withNamespace(ipcNamespace, root.pid, () => {
      writeIpcVar(entry);
      restoreSysvObjects(ctx, id);
      for (const [field, name] of SYSCTLS) {
        const value = entry[field];
        if (name.endsWith('_next_id') && value !== undefined) writeFileSync(sysctl(name), String(value));
      }
    });
    ctx.log.info(`ipc namespace ${id}: sysctls and SysV objects restored`);
  },
};

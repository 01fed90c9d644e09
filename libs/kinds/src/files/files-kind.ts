// The open fds of a task: fdinfo-FILES_ID.img maps each fd number to an
// open file description {id, type, FD_CLOEXEC}; each description is dumped
// once into files.img (and its side images) by the fd kind that matches it
// (fd-registry.ts). Tasks sharing one fd table (CLONE_FILES) share
// files_id and its image; descriptions shared by dup(2) or fork(2) share an
// id. With -l the locks of each description go to filelocks.img; without
// it a held lock is refused, as CRIU does. Every fd copied into the tool
// is closed before the next. Restore: files-restore.ts. See criu(8),
// proc_pid_fdinfo(5).
import { closeSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { KCMP, pidfdOpen } from '@criu-ts/kernel';
import { imagePath, writeImage, type FdinfoEntry } from '@criu-ts/images';
import { listFds, type FdEntry } from '@criu-ts/proc';
import type { TaskKind } from '../kind.js';
import type { FdDumpEnv } from './fd-kind.js';
import { fdKindOf } from './fd-registry.js';
import { fileIds, sharedObjectId } from './file-ids.js';
import { fileLockEntries } from './file-locks.js';
import { openFd, type OpenFd } from './open-fd.js';
import { writeShared } from './image-entry.js';
import { restoreTaskFdTable } from './files-restore.js';
import { afterFilesRestore } from './restore-table.js';
import { hiddenFds } from '../memory/tracking.js';

function dumpLocks(env: FdDumpEnv, fd: OpenFd): void {
  if (fd.info.locks.length === 0) return;
  if (!env.ctx.options.fileLocks) {
    throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: ${fd.link} holds file locks`, { code: 'EBUSY', hint: 'use -l/--file-locks to dump them' });
  }
  for (const message of fileLockEntries(fd)) writeShared(env.ctx, 'filelocks', { message });
}

/** The new description behind fd: dumped by its kind under a new id. */
function dumpDescription(env: FdDumpEnv, fd: OpenFd): { id: number; type: FdinfoEntry['type'] } {
  const kind = fdKindOf(fd);
  const id = env.ctx.nextId();
  const entry = kind.dump(env, fd, id);
  writeShared(env.ctx, 'files', { message: entry });
  env.log.debug(`fd ${fd.fd}: ${kind.name} id ${id} (${fd.link})`);
  dumpLocks(env, fd);
  return { id, type: entry.type };
}

function dumpFd(env: FdDumpEnv, pidfd: number, entry: FdEntry): FdinfoEntry {
  const fd = openFd(env.task.pid, pidfd, entry);
  try {
    const ids = fileIds(env.ctx);
    let seen = ids.lookup(fd.pid, fd.fd, fd.stat.dev, fd.stat.ino);
    if (seen === undefined) {
      seen = dumpDescription(env, fd);
      ids.add(fd.pid, fd.fd, fd.stat.dev, fd.stat.ino, seen);
    } else {
      env.log.debug(`fd ${fd.fd}: shares description ${seen.id}`);
    }
    return { id: seen.id, flags: fd.fdFlags, type: seen.type, fd: fd.fd };
  } finally {
    closeSync(fd.local);
  }
}

/** fdinfo entries of every open fd of the task, dumping descriptions not seen before. */
export function dumpTaskFds(env: FdDumpEnv): FdinfoEntry[] {
  const pidfd = pidfdOpen(env.task.pid);
  try {
    // our memory trackers (pre-dump, --track-mem) are not the task's files
    const hidden = hiddenFds(env.ctx, env.task.pid);
    return listFds(env.task.pid)
      .filter((entry) => !hidden.has(entry.fd))
      .map((entry) => dumpFd(env, pidfd, entry));
  } finally {
    closeSync(pidfd);
  }
}

export const filesKind: TaskKind = {
  name: 'files',
  images: ['fdinfo', 'files', 'pipes-data', 'fifo-data', 'remap-fpath', 'ghost-file', 'memfd', 'pagemap-shmem', 'pages', 'filelocks'],
  dump(ctx, task, record) {
    const table = sharedObjectId(ctx, 'files.tables', task.pid, KCMP.FILES);
    record.ids.files_id = table.id;
    const log = ctx.log.child('files');
    if (!table.fresh) {
      log.info(`pid ${task.pid} shares fd table ${table.id}`);
      return;
    }
    const entries = dumpTaskFds({ ctx, task, log });
    writeImage(imagePath(ctx.options.imagesDir, 'fdinfo', table.id), 'fdinfo', entries);
    log.info(`pid ${task.pid}: ${entries.length} fds in fdinfo-${table.id}.img`);
  },
  restore: restoreTaskFdTable,
  afterRestore: afterFilesRestore,
};

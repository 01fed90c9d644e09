// The open fds of a task: fdinfo-FILES_ID.img maps each fd number to an
// open file description {id, type, FD_CLOEXEC}; each description is dumped
// once into files.img (and its side images) by the fd kind that matches it
// (fd-registry.ts). A task sharing its parent's fd table (CLONE_FILES)
// shares its files_id and image (one shared with any other task is
// refused: it cannot be restored); descriptions shared by dup(2) or
// fork(2) share an id. With -l the locks of each description go to
// filelocks.img; without it a held lock is refused, as CRIU does. Every fd
// copied into the tool is closed before the next. Files in flight in a
// unix socket's queue have an entry and no fd (in-flight.ts). Restore:
// files-restore.ts. See criu(8), proc_pid_fdinfo(5).
import { closeSync } from 'node:fs';
import { pidfdOpen } from '@criu-ts/kernel';
import { imagePath, writeImage, type FdinfoEntry } from '@criu-ts/images';
import { listFds, type FdEntry } from '@criu-ts/proc';
import type { TaskKind } from '../kind.js';
import type { FdDumpEnv } from './fd-kind.js';
import { fdKinds } from './fd-registry.js';
import { describeFile } from './file-description.js';
import { fdTableId } from './file-ids.js';
import { closeFilesInFlight } from './in-flight.js';
import { openFd } from './open-fd.js';
import { restoreTaskFdTable } from './files-restore.js';
import { afterFilesRestore } from './restore-table.js';
import { hiddenFds } from '../memory/tracking.js';

function dumpFd(env: FdDumpEnv, pidfd: number, entry: FdEntry): FdinfoEntry {
  const fd = openFd(env.task.pid, pidfd, entry);
  try {
    const { desc } = describeFile(env, fd);
    return { id: desc.id, flags: fd.fdFlags, type: desc.type, fd: fd.fd };
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
    const table = fdTableId(ctx, task);
    record.ids.files_id = table.id;
    const log = ctx.log.child('files');
    if (!table.fresh) {
      log.info(`pid ${task.pid} shares its parent's fd table ${table.id}: dumped with the parent's`);
      return;
    }
    const entries = dumpTaskFds({ ctx, task, log });
    writeImage(imagePath(ctx.options.imagesDir, 'fdinfo', table.id), 'fdinfo', entries);
    log.info(`pid ${task.pid}: ${entries.length} fds in fdinfo-${table.id}.img`);
  },
  afterTasks(ctx) {
    try {
      for (const kind of fdKinds) kind.afterTasks?.(ctx);
    } finally {
      // the copies of files in flight the tool held for kcmp can go
      closeFilesInFlight(ctx);
    }
  },
  restore: restoreTaskFdTable,
  afterRestore: afterFilesRestore,
};

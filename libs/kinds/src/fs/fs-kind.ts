// A task's fs_struct: fs-PID.img {cwd_id, root_id, umask}; cwd and root are
// saved as reg files (directories) in files.img, opened by the tool through
// /proc/PID/cwd and /proc/PID/root (a deleted cwd becomes a ghost
// directory). Tasks sharing an fs_struct (CLONE_FS) share fs_id. Umask comes
// from /proc/PID/status. A cwd or root inside a dead task's /proc/PID (an
// unhashed directory) is saved with a PROCFS remap, as upstream saves it.
// Restore: fs-restore.ts. See criu(8),
// proc_pid_status(5).
import { closeSync, fstatSync, openSync, readlinkSync } from 'node:fs';
import { CriuError, errnoOf } from '@criu-ts/base';
import { KCMP, O } from '@criu-ts/kernel';
import { FdTypes, imagePath, writeImage } from '@criu-ts/images';
import { classifyFdLink, readFdinfo, readStatus } from '@criu-ts/proc';
import type { TaskKind } from '../kind.js';
import { imagePid } from '../dump-context.js';
import type { FdDumpEnv } from '../files/fd-kind.js';
import { sharedObjectId } from '../files/file-ids.js';
import { readFown, type OpenFd } from '../files/open-fd.js';
import { regFileEntry, regFileKind } from '../files/reg-file.js';
import { writeShared } from '../files/image-entry.js';
import { restoreTaskFs } from './fs-restore.js';
import { closeGhostDirs } from '../files/ghost-file.js';

/** An fd of the tool itself, described like a task's fd; paths resolve in pid's root. */
function ownFd(pid: number, local: number): OpenFd {
  const link = readlinkSync(`/proc/self/fd/${local}`);
  const info = readFdinfo(process.pid, local);
  const flags = info.flags & ~O.CLOEXEC;
  const stat = fstatSync(local, { bigint: true });
  return { pid, fd: local, link, target: classifyFdLink(link), info, stat, local, flags, fdFlags: 0, fown: readFown(local, flags) };
}

/**
 * Our fd on /proc/PID/<which>. A directory of a dead task's /proc/PID
 * cannot be opened for reading (ESRCH): it is opened O_PATH, as upstream
 * opens every cwd.
 */
function openDir(pid: number, which: 'cwd' | 'root'): number {
  const path = `/proc/${pid}/${which}`;
  try {
    return openSync(path, 'r');
  } catch (error) {
    if (errnoOf(error) !== 'ESRCH') throw error;
    return openSync(path, O.PATH);
  }
}

/** Save /proc/PID/<which> as a reg file in files.img (a dead task's /proc/PID with a PROCFS remap); its id. */
function dumpDir(env: FdDumpEnv, which: 'cwd' | 'root'): number {
  const local = openDir(env.task.pid, which);
  try {
    const fd = ownFd(env.task.pid, local);
    if (!regFileKind.matches(fd)) throw new CriuError(`pid ${env.task.pid}: ${which} is not a path (${fd.link})`, { code: 'EINVAL' });
    const id = env.ctx.nextId();
    writeShared(env.ctx, 'files', { message: { type: FdTypes.REG, id, reg: regFileEntry(env, fd, id, { deadProc: true }) } });
    return id;
  } finally {
    closeSync(local);
  }
}

export const fsKind: TaskKind = {
  name: 'fs',
  images: ['fs', 'files'],
  dump(ctx, task, record) {
    const log = ctx.log.child('fs');
    record.ids.fs_id = sharedObjectId(ctx, 'fs.structs', task.pid, KCMP.FS).id;
    const env = { ctx, task, log };
    const cwdId = dumpDir(env, 'cwd');
    const rootId = dumpDir(env, 'root');
    const umask = readStatus(task.pid).Umask;
    const entry = umask === undefined ? { cwd_id: cwdId, root_id: rootId } : { cwd_id: cwdId, root_id: rootId, umask };
    writeImage(imagePath(ctx.options.imagesDir, 'fs', imagePid(ctx, task.pid)), 'fs', [entry]);
    log.info(`pid ${task.pid}: cwd id ${cwdId}, root id ${rootId}, fs_id ${record.ids.fs_id}`);
  },
  restore: restoreTaskFs,
  afterRestore: (ctx) => closeGhostDirs(ctx),
};

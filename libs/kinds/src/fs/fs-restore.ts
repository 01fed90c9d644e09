// Restore half of the fs kind: fs-PID.img's cwd and root (reg entries of
// files.img: their paths) and umask, set from inside the task with one
// injected batch — chdir(cwd), then chroot(root) unless it is "/" (the
// cwd path is the one seen from criu's root), then umask. A cwd or root
// that was deleted (a ghost directory) is entered through our fd of it, so
// it is the same deleted inode as the task's fds on it; one in a dead task's
// /proc/PID (a PROCFS remap) while a stand-in with that pid lives
// (dead-proc.ts). Tasks that shared one
// fs_struct (CLONE_FS) each get their own. See chdir(2), chroot(2), umask(2).
import { existsSync } from 'node:fs';
import { CriuError, UnsupportedError, errnoName } from '@criu-ts/base';
import { SYS, signed64 } from '@criu-ts/kernel';
import { RemapType, imagePath, readOne } from '@criu-ts/images';
import { imagePidOf, type RestoreContext, type RestoreTask } from '../restore-context.js';
import { checkRestorePath } from '../files/open-path.js';
import { fileEntry, restoreFiles } from '../files/restore-table.js';
import { ghostDirFd } from '../files/ghost-file.js';
import { restorePathOf } from '../mounts/mnt-ns.js';
import { whileDeadPidLives } from './dead-proc.js';

function savedPath(ctx: RestoreContext, pid: number, id: number, which: 'cwd' | 'root'): string {
  const reg = fileEntry(ctx, id, `pid ${pid} ${which}`).reg;
  if (reg === undefined) throw new CriuError(`pid ${pid}: its ${which} (file id ${id}) is not a path in files.img`, { code: 'EIMAGE' });
  return checkRestorePath(reg.name, `pid ${pid} ${which}`);
}

/** The dead pid whose /proc directory `path` lies in, when the dump remapped one (PROCFS, once per pid). */
function deadProcOf(ctx: RestoreContext, path: string): number | undefined {
  const m = /^\/proc\/(\d+)(\/|$)/.exec(path);
  if (m === null) return undefined;
  const dead = [...restoreFiles(ctx).remaps.values()].some((r) => r.remap_type === RemapType.PROCFS && r.remap_id === Number(m[1]));
  return dead ? Number(m[1]) : undefined;
}

/**
 * The path the task enters: the dumped one, or for a deleted directory
 * (a ghost) our fd's magic link /proc/CRIU/fd/N, which leads to the very
 * inode the task's fds on it have, removed from the tree as it was.
 */
function dirPath(ctx: RestoreContext, pid: number, id: number, which: 'cwd' | 'root'): string {
  const path = savedPath(ctx, pid, id, which);
  const remap = restoreFiles(ctx).remaps.get(id);
  if (remap === undefined || remap.remap_type === RemapType.PROCFS) return path;
  if (remap.remap_type !== RemapType.GHOST) throw new UnsupportedError({ pid, kind: `a ${which} remapped as ${remap.remap_type} (${path})` });
  return `/proc/${process.pid}/fd/${ghostDirFd(ctx, restorePathOf(ctx, path), remap)}`;
}

export function restoreTaskFs(ctx: RestoreContext, task: RestoreTask): 'done' {
  const dir = ctx.options.imagesDir;
  if (!existsSync(imagePath(dir, 'fs', imagePidOf(ctx, task.pid)))) {
    ctx.log.warn(`pid ${task.pid}: no fs-${task.pid}.img: its cwd, root and umask are left as they are`);
    return 'done';
  }
  const fs = readOne(dir, 'fs', imagePidOf(ctx, task.pid));
  const cwd = dirPath(ctx, task.pid, fs.cwd_id, 'cwd');
  const root = dirPath(ctx, task.pid, fs.root_id, 'root');
  const scratch = ctx.scratch(task.pid);
  const cwdAddr = scratch.write(Buffer.from(`${cwd}\0`));
  const calls: { nr: number; args: bigint[]; what: string }[] = [{ nr: SYS.chdir, args: [cwdAddr], what: `chdir ${cwd}` }];
  if (root !== '/') calls.push({ nr: SYS.chroot, args: [scratch.write(Buffer.from(`${root}\0`), Buffer.byteLength(cwd) + 1)], what: `chroot ${root}` });
  const umask = fs.umask === undefined ? [] : [{ nr: SYS.umask, args: [fs.umask] }];
  const enter = (): bigint[] => ctx.injector(task.pid).batch([...calls, ...umask]);
  const [deadCwd, deadRoot] = [deadProcOf(ctx, cwd), deadProcOf(ctx, root)];
  if (deadCwd !== undefined && deadRoot !== undefined && deadCwd !== deadRoot) {
    throw new UnsupportedError({ pid: task.pid, kind: `a cwd and a root in the /proc of two different dead tasks (${cwd}, ${root})` });
  }
  const dead = deadCwd ?? deadRoot;
  const results = dead === undefined ? enter() : whileDeadPidLives(ctx, task.pid, dead, enter);
  calls.forEach((call, i) => {
    const r = signed64(results[i]!);
    if (r < 0n) throw new CriuError(`pid ${task.pid}: ${call.what} failed: ${errnoName(Number(-r))}`, { code: errnoName(Number(-r)) });
  });
  ctx.log.child('fs').info(`pid ${task.pid}: cwd ${cwd}, root ${root}, umask ${fs.umask === undefined ? 'kept' : `0${fs.umask.toString(8)}`}`);
  return 'done';
}

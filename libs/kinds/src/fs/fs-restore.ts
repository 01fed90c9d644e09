// Restore half of the fs kind: fs-PID.img's cwd and root (reg entries of
// files.img: their paths) and umask, set from inside the task with one
// injected batch — chdir(cwd), then chroot(root) unless it is "/" (the
// cwd path is the one seen from criu's root), then umask. A cwd or root
// that was deleted (a ghost directory) is refused. Tasks that shared one
// fs_struct (CLONE_FS) each get their own. See chdir(2), chroot(2), umask(2).
import { existsSync } from 'node:fs';
import { CriuError, UnsupportedError, errnoName } from '@criu-ts/base';
import { SYS, signed64 } from '@criu-ts/kernel';
import { imagePath, readOne } from '@criu-ts/images';
import type { RestoreContext, RestoreTask } from '../restore-context.js';
import { checkRestorePath } from '../files/open-path.js';
import { fileEntry, restoreFiles } from '../files/restore-table.js';

function dirPath(ctx: RestoreContext, pid: number, id: number, which: 'cwd' | 'root'): string {
  const reg = fileEntry(ctx, id, `pid ${pid} ${which}`).reg;
  if (reg === undefined) throw new CriuError(`pid ${pid}: its ${which} (file id ${id}) is not a path in files.img`, { code: 'EIMAGE' });
  if (restoreFiles(ctx).remaps.has(id)) throw new UnsupportedError({ pid, kind: `a deleted ${which} (${reg.name})` });
  return checkRestorePath(reg.name, `pid ${pid} ${which}`);
}

export function restoreTaskFs(ctx: RestoreContext, task: RestoreTask): 'done' {
  const dir = ctx.options.imagesDir;
  if (!existsSync(imagePath(dir, 'fs', task.pid))) {
    ctx.log.warn(`pid ${task.pid}: no fs-${task.pid}.img: its cwd, root and umask are left as they are`);
    return 'done';
  }
  const fs = readOne(dir, 'fs', task.pid);
  const cwd = dirPath(ctx, task.pid, fs.cwd_id, 'cwd');
  const root = dirPath(ctx, task.pid, fs.root_id, 'root');
  const scratch = ctx.scratch(task.pid);
  const cwdAddr = scratch.write(Buffer.from(`${cwd}\0`));
  const calls: { nr: number; args: bigint[]; what: string }[] = [{ nr: SYS.chdir, args: [cwdAddr], what: `chdir ${cwd}` }];
  if (root !== '/') calls.push({ nr: SYS.chroot, args: [scratch.write(Buffer.from(`${root}\0`), Buffer.byteLength(cwd) + 1)], what: `chroot ${root}` });
  const umask = fs.umask === undefined ? [] : [{ nr: SYS.umask, args: [fs.umask] }];
  const results = ctx.injector(task.pid).batch([...calls, ...umask]);
  calls.forEach((call, i) => {
    const r = signed64(results[i]!);
    if (r < 0n) throw new CriuError(`pid ${task.pid}: ${call.what} failed: ${errnoName(Number(-r))}`, { code: errnoName(Number(-r)) });
  });
  ctx.log.child('fs').info(`pid ${task.pid}: cwd ${cwd}, root ${root}, umask ${fs.umask === undefined ? 'kept' : `0${fs.umask.toString(8)}`}`);
  return 'done';
}

// Is an open file still reachable by the path /proc shows? If not, record
// how restore can reach it (remap-fpath.img):
// - st_nlink 0 (deleted): a ghost file (ghost-file.ts);
// - still linked but gone from that path: with --link-remap, a hard link
//   "link_remap.ID" made now beside the old name (linkat AT_EMPTY_PATH),
//   saved as a reg file of its own and remapped LINKED; without it, an error
//   that names the file (criu(8) --link-remap);
// - another file now under that name: an error.
// Paths are looked up inside the task's root (/proc/PID/root).
// Restore opens a remapped file under its old name (linked back there for
// the open, then unlinked) and removes link_remap.N once every task has its
// fds — on failure it stays, so the images can be restored again. As that
// removes a file the images name, only a link_remap.N beside (or above) the
// file it stands for, reached through no symlink, is taken for one; names
// are made for an open only in directories reached through no symlink.
import { existsSync, linkSync, lstatSync, mkdirSync, realpathSync, rmdirSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { CriuError, FAULT, UnsupportedError, errnoOf, faultPoint } from '@criu-ts/base';
import { AT, SYS, syscall } from '@criu-ts/kernel';
import { FdTypes, RemapType, type RemapFilePathEntry } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';
import type { RestoreContext } from '../restore-context.js';
import { checkRestorePath, openExpecting } from './open-path.js';
import { fileEntry, restoreFiles } from './restore-table.js';
import { dumpGhost, fdGhostSource } from './ghost-file.js';
import type { OpenFd } from './open-fd.js';
import { writeShared } from './image-entry.js';
import { toolPathOf } from '../mounts/mnt-state.js';
import { restorePathOf } from '../mounts/mnt-ns.js';

/**
 * What `path` names now. /proc shows an fd's path as seen from the reader's
 * root — ours, whatever root (chroot) the task has — so it is looked up
 * from here, not under /proc/PID/root; but for a tree in a mount namespace
 * of its own, where it is the path from that namespace's root
 * (toolPathOf).
 */
function statNow(path: string): { dev: bigint; ino: bigint } | undefined {
  try {
    // the file itself: an fd on a symlink (O_PATH | O_NOFOLLOW) is the link, not its target
    return lstatSync(path, { bigint: true });
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Hard-link the open file under a new name beside `path`, trying parent dirs that still exist. */
function linkBack(ctx: DumpContext, fd: OpenFd, path: string, linkId: number): string {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const name = `${dir === '/' ? '' : dir}/link_remap.${linkId}`;
    try {
      syscall(SYS.linkat, fd.local, Buffer.from('\0'), AT.FDCWD, Buffer.from(`${toolPathOf(ctx, name)}\0`), AT.EMPTY_PATH);
      return name;
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT' || dir === '/') throw error;
    }
  }
}

function dumpLinkedRemap(ctx: DumpContext, fd: OpenFd, id: number, path: string): void {
  if (!ctx.options.linkRemap) {
    throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: ${path} is open but no longer reachable by its path`, {
      code: 'ENOENT',
      hint: 'use --link-remap to link it back under a temporary name',
    });
  }
  const linkId = ctx.nextId();
  const name = linkBack(ctx, fd, path, linkId);
  ctx.onAbort?.(() => syscall(SYS.unlinkat, AT.FDCWD, Buffer.from(`${toolPathOf(ctx, name)}\0`), 0));
  ctx.log.info(`linked ${path} back as ${name}`);
  const fown = { uid: 0, euid: 0, signum: 0, pid_type: 0, pid: 0 };
  writeShared(ctx, 'files', { message: { type: FdTypes.REG, id: linkId, reg: { id: linkId, flags: 0, pos: 0n, fown, name } } });
  writeShared(ctx, 'remap-fpath', { message: { orig_id: id, remap_id: linkId, remap_type: RemapType.LINKED } });
}

/**
 * The pid of the dead task whose /proc/PID directory `path` is or lies in
 * (the open directory unhashed, or /proc/PID gone); undefined otherwise.
 */
export function deadProcPid(fd: OpenFd, path: string): number | undefined {
  const m = /^\/proc\/(\d+)(\/|$)/.exec(path);
  if (m === null) return undefined;
  const unhashed = fd.target.kind === 'path' && fd.target.deleted;
  return unhashed || !existsSync(`/proc/${m[1]}`) ? Number(m[1]) : undefined;
}

/**
 * A PROCFS remap (remap_id: the dead pid), written once per pid as
 * upstream writes it: restore brings a short-lived task with that pid
 * up while the path is entered.
 */
function dumpDeadProcRemap(ctx: DumpContext, id: number, pid: number): void {
  const seen = ctx.shared('files.dead-proc-pids', () => new Set<number>());
  if (seen.has(pid)) return;
  seen.add(pid);
  writeShared(ctx, 'remap-fpath', { message: { orig_id: id, remap_id: pid, remap_type: RemapType.PROCFS } });
  ctx.log.info(`file id ${id} lies in /proc/${pid} of a dead task: remapped PROCFS`);
}

export interface PathRemapOptions {
  /** a path in a dead task's /proc/PID is saved with a PROCFS remap (the fs kind's cwd and root); else refused */
  deadProc?: boolean;
}

/** Check that restore can open `path` for description `id`; write remaps where it cannot. */
export function checkPathRemap(ctx: DumpContext, fd: OpenFd, id: number, path: string, options: PathRemapOptions = {}): void {
  if (path.startsWith('/proc/')) {
    const dead = deadProcPid(fd, path);
    if (dead !== undefined && options.deadProc === true) dumpDeadProcRemap(ctx, id, dead);
    else if (fd.target.kind === 'path' && fd.target.deleted) {
      throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `file of a dead task (${path})` });
    }
    return;
  }
  if (fd.stat.nlink === 0n) {
    dumpGhost(ctx, fdGhostSource(fd), id, path);
    return;
  }
  const now = statNow(toolPathOf(ctx, path));
  if (now === undefined) {
    dumpLinkedRemap(ctx, fd, id, path);
    return;
  }
  if (now.dev !== fd.stat.dev || now.ino !== fd.stat.ino) {
    throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: ${path} now names another file (open ${fd.stat.dev}:${fd.stat.ino}, found ${now.dev}:${now.ino})`, {
      code: 'ESTALE',
    });
  }
}

// ---- restore ----

/**
 * Refuses a directory that an image-supplied path reaches through a
 * symlink: the paths a dump saves are the kernel's (d_path), never through
 * one, so such a path does not come from a dump, and nothing is made or
 * removed through it.
 */
export function checkCanonicalDir(dir: string, what: string): void {
  // under a task's root (/proc/PID/root: a tree's own mount namespace) realpath would leave it for ours: each component is looked at instead
  const inRoot = /^\/proc\/\d+\/root(?=\/|$)/.exec(dir);
  if (inRoot !== null) {
    let at = inRoot[0];
    for (const part of dir.slice(at.length).split('/').filter((p) => p !== '')) {
      at = `${at}/${part}`;
      if (lstatSync(at).isSymbolicLink()) throw new CriuError(`${what}: ${dir} goes through a symlink (${at}); a dumped path never does`, { code: 'EINVAL' });
    }
    return;
  }
  const real = realpathSync(dir);
  if (real !== dir) throw new CriuError(`${what}: ${dir} goes through a symlink (to ${real}); a dumped path never does`, { code: 'EINVAL' });
}

/** The directories mkdir -p would make for `dir`, outermost first (so they can be removed after); the one they go in must be canonical. */
function makeParents(dir: string, what: string): string[] {
  const missing: string[] = [];
  let d = dir;
  for (; !existsSync(d); d = dirname(d)) missing.unshift(d);
  checkCanonicalDir(d, what);
  for (const m of missing) mkdirSync(m);
  return missing;
}

const LINK_REMAP_NAME = /^link_remap\.\d+$/;

/**
 * A link remap's file is one a dump made: named link_remap.N, in the
 * directory of the file it stands for or one above (where the dump could
 * link it), reached through no symlink. It is removed after the restore, so
 * any other name — a file of the tree, one elsewhere — is refused.
 */
export function checkLinkRemapSource(source: string, path: string): void {
  const what = `link remap of ${path}`;
  if (!LINK_REMAP_NAME.test(basename(source))) throw new CriuError(`${what}: ${source} is not a link_remap.N file a dump makes`, { code: 'EINVAL' });
  const dir = dirname(source);
  const above = (d: string): boolean => d === dir || (d !== '/' && above(dirname(d)));
  if (!above(dirname(path))) throw new CriuError(`${what}: ${source} is not beside it or in a directory above it`, { code: 'EINVAL' });
  checkCanonicalDir(dir, what);
}

function linkBackTo(source: string, path: string): string {
  for (const name of [path, `${path}.cr_link`]) {
    try {
      linkSync(source, name);
      return name;
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
    }
  }
  throw new CriuError(`cannot link ${source} back: ${path} and ${path}.cr_link both exist`, { code: 'EEXIST' });
}

/**
 * Open the file that `source` names under its original `path` (so /proc
 * shows that name, "(deleted)"): link it there, open, unlink — as CRIU
 * does. Parent directories missing now are made and removed again.
 */
export function openViaLink(source: string, path: string, flags: number, savedMode?: number): number {
  const made = makeParents(dirname(path), `opening ${path}`);
  try {
    const name = linkBackTo(source, path);
    try {
      return openExpecting(name, flags, savedMode);
    } finally {
      unlinkSync(name);
    }
  } finally {
    for (const dir of made.reverse()) rmdirSync(dir);
  }
}

/** A LINKED remap: the file lives on as the link_remap.N hard link made at dump; removed once every task has its fds. */
export function openLinkedRemap(ctx: RestoreContext, path: string, flags: number, remap: RemapFilePathEntry, savedMode?: number): number {
  const table = restoreFiles(ctx);
  const link = fileEntry(ctx, remap.remap_id, `link remap of ${path}`).reg;
  if (link === undefined) throw new CriuError(`link remap of ${path}: entry ${remap.remap_id} is not a regular file`, { code: 'EIMAGE' });
  // path is where the tool reaches the file (restorePathOf); the link's name is the tree's
  const source = restorePathOf(ctx, checkRestorePath(link.name, `link remap of ${path}`));
  checkLinkRemapSource(source, path);
  faultPoint(FAULT.RESTORE_OPEN_LINK_REMAP);
  const done = ctx.shared('files.link-remaps', () => new Set<string>());
  if (!done.has(source)) {
    done.add(source);
    table.afterSuccess.push(() => {
      unlinkSync(source);
      ctx.log.info(`removed link remap ${source}`);
    });
  }
  ctx.log.debug(`${path}: opened through link remap ${source}`);
  return openViaLink(source, path, flags, savedMode);
}

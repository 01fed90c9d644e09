// What the restore engine asks of the mount namespace kind: does the tree's
// root have a mount namespace of its own (its mnt_ns_id in ids-PID.img
// differs from criu's, inventory.img's root_ids, as upstream decides), and
// where the tool reaches a path of the restored tree (/proc/ROOT/root/...,
// through the namespace's new root) once its mounts are made.
import { existsSync } from 'node:fs';
import { imagePath, readOne } from '@criu-ts/images';
import type { RestoreContext } from '../restore-context.js';

const ROOT_KEY = 'mnt.restored-root';

/** The root task's mount namespace id, if it is not criu's at dump; undefined otherwise (or for images without ids). */
export function rootMountNsId(dir: string, rootPid: number): number | undefined {
  if (!existsSync(imagePath(dir, 'ids', rootPid))) return undefined;
  const mine = readOne(dir, 'ids', rootPid).mnt_ns_id;
  const criu = readOne(dir, 'inventory').root_ids?.mnt_ns_id;
  return mine !== undefined && criu !== undefined && mine !== criu ? mine : undefined;
}

interface Restored {
  pid?: number;
  /** the tasks' fd on the images directory, opened in the root before it turned to the tree's mounts */
  imagesFd?: number;
}

/** Records that the tree runs in a mount namespace rebuilt in task `pid`, which holds `imagesFd` on the images. */
export function setRestoredMountRoot(ctx: RestoreContext, pid: number, imagesFd?: number): void {
  Object.assign(ctx.shared<Restored>(ROOT_KEY, () => ({})), { pid, imagesFd });
}

/** The tasks' fd on the images directory (they inherit it from the root), while their memory is made; undefined when they see it by path. */
export function restoredImagesFd(ctx: RestoreContext): number | undefined {
  return ctx.shared<Restored>(ROOT_KEY, () => ({})).imagesFd;
}

/** The tree's root task, when the tree has a mount namespace of its own (rebuilt in it). */
export function restoredMountRoot(ctx: RestoreContext): number | undefined {
  return ctx.shared<Restored>(ROOT_KEY, () => ({})).pid;
}

/** The tool-side path of an image's path: under /proc/ROOT/root when the tree has its own mount namespace. */
export function restorePathOf(ctx: RestoreContext, path: string): string {
  const pid = restoredMountRoot(ctx);
  return pid === undefined || !path.startsWith('/') ? path : `/proc/${pid}/root${path}`;
}

// Restore half of the mount namespace kind: the mounts of mountpoints-ID.img
// made again inside the tree's root task, just cloned with CLONE_NEWNS (a
// copy of criu's namespace), by injected calls:
// 1. everything made private (nothing made here propagates out), the new
//    root (--root, default /) cloned (open_tree) onto an empty directory of
//    ours, the "yard", where the tree is built (/ itself cannot be mounted
//    over and reached);
// 2. every other mount, parents first, under it: an external one bound from
//    its --external/--ext-mount-map path (or, auto-detected, the path the
//    dump found), a bind of a mount made already (or of the root's file
//    system) cloned from it (open_tree + move_mount), any other mounted
//    fresh with its source, type, superblock flags and options — a tmpfs
//    refilled from its tar (by the tool, through /proc/PID/root) before its
//    children are mounted and made read-only after; an O_PATH fd on each
//    mount is kept, so what follows reaches it even once it is overmounted;
// 3. pivot_root into the new root, the old one detached;
// 4. through those fds: sharing groups (MOVE_MOUNT_SET_GROUP from a member,
//    MS_SLAVE for a slave of a group of the namespace), unbindable, and the
//    per-mount flags (mount_setattr: ro, nosuid, nodev, noexec, atime).
// Not restored: an external mount's sharing with criu's namespace — it is
// bound from the task's private copy of that namespace, so it comes back
// private (binding from criu's own mount would let the mounts made under it
// propagate out).
// See mount(2), open_tree(2), move_mount(2), mount_setattr(2),
// pivot_root(2), mount_namespaces(7).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmdirSync } from 'node:fs';
import { CriuError, type Logger } from '@criu-ts/base';
import { AT, O, SYS } from '@criu-ts/kernel';
import { Fstype, imagePath, readEntries } from '@criu-ts/images';
import type { Injector } from '@criu-ts/inject';
import { AUTODETECTED_MOUNT, isSubpath, relativeTo, type MntEntry } from './mount-entries.js';
import { MNT_FLAGS, MS, fstypeName } from './mount-flags.js';

const MNT_DETACH = 2;
const OPEN_TREE_CLONE = 1;
const MOVE_MOUNT = { F_EMPTY_PATH: 0x4, T_EMPTY_PATH: 0x40, SET_GROUP: 0x100 } as const;
const MOUNT_ATTR = { RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, ATIME: 0x70, NOATIME: 0x10, STRICTATIME: 0x20, NODIRATIME: 0x80 } as const;
const MOUNT_ATTR_SIZE = 32;

/** The task the mounts are made in, and what the restore was told. */
export interface MountNsRestore {
  injector: Injector;
  /** writes into the task's scratch at offset; its address there */
  write(buf: Buffer, offset: number): bigint;
  scratchSize: number;
  imagesDir: string;
  /** mountpoints-ID.img's ID: the root task's mnt_ns_id */
  nsId: number;
  /** -r/--root: the new root in criu's namespace (default /) */
  root?: string;
  /** --external mnt[KEY]:PATH and --ext-mount-map KEY:PATH: KEY → PATH */
  externals: ReadonlyMap<string, string>;
  /** --external mnt[] / --ext-mount-map auto: auto-detected external mounts allowed */
  autoDetect: boolean;
  log: Logger;
}

interface Made {
  entry: MntEntry;
  /** its path before pivot_root */
  target: string;
  /** the task's O_PATH fd on it */
  fd: number;
}

/** One injected call with string arguments laid out in the scratch. */
function call(task: MountNsRestore, name: string, nr: number, args: (string | number | bigint | null | Buffer)[]): number {
  let offset = 0;
  const raw = args.map((arg) => {
    if (arg === null) return 0n;
    if (typeof arg !== 'string' && !Buffer.isBuffer(arg)) return arg;
    const buf = Buffer.isBuffer(arg) ? arg : Buffer.from(`${arg}\0`);
    if (typeof arg === 'string' && arg.includes('\0')) throw new CriuError(`${name}: ${JSON.stringify(arg)} has a NUL byte`, { code: 'EINVAL' });
    if (offset + buf.length > task.scratchSize) throw new CriuError(`${name}: arguments longer than the restore scratch`, { code: 'E2BIG' });
    const addr = task.write(buf, offset);
    offset += (buf.length + 7) & ~7;
    return addr;
  });
  return Number(task.injector.call(name, nr, raw));
}

const join = (root: string, path: string): string => (root === '/' ? path : path === '/' ? root : `${root}${path}`);

/** Parents first, siblings in mount order (mnt_id), from the one root. */
export function treeOrder(entries: readonly MntEntry[]): MntEntry[] {
  const ids = new Set(entries.map((e) => e.mnt_id));
  const roots = entries.filter((e) => !ids.has(e.parent_mnt_id));
  if (roots.length !== 1 || roots[0]!.mountpoint !== '/') throw new CriuError(`mountpoints image: ${roots.length} mounts without a parent, not one root at /`, { code: 'EIMAGE' });
  const children = new Map<number, MntEntry[]>();
  for (const e of entries) if (e !== roots[0]) children.set(e.parent_mnt_id, [...(children.get(e.parent_mnt_id) ?? []), e]);
  const out: MntEntry[] = [];
  const visit = (e: MntEntry): void => {
    out.push(e);
    for (const child of (children.get(e.mnt_id) ?? []).sort((a, b) => a.mnt_id - b.mnt_id)) visit(child);
  };
  visit(roots[0]!);
  return out;
}

function checkPath(path: string, what: string): string {
  if (!path.startsWith('/') || path.split('/').includes('..')) throw new CriuError(`${what}: ${JSON.stringify(path)} is not an absolute path without ".."`, { code: 'EIMAGE' });
  return path;
}

function openFd(task: MountNsRestore, target: string): number {
  return call(task, `open ${target}`, SYS.openat, [AT.FDCWD, target, O.PATH | O.CLOEXEC | O.NOFOLLOW, 0]);
}

/** A bind: the mount at `fd` (or its subdirectory rel) cloned and attached at target. */
function bindFrom(task: MountNsRestore, fd: number, rel: string, target: string): void {
  const tree = rel === '' && fd !== AT.FDCWD
    ? call(task, `open_tree for ${target}`, SYS.open_tree, [fd, '', OPEN_TREE_CLONE | O.CLOEXEC | AT.EMPTY_PATH])
    : call(task, `open_tree ${rel} for ${target}`, SYS.open_tree, [fd, rel, OPEN_TREE_CLONE | O.CLOEXEC]);
  try {
    call(task, `move_mount to ${target}`, SYS.move_mount, [tree, '', AT.FDCWD, target, MOVE_MOUNT.F_EMPTY_PATH]);
  } finally {
    call(task, 'close', SYS.close, [tree]);
  }
}

function externalSource(task: MountNsRestore, entry: MntEntry): string {
  const key = entry.ext_key!;
  if (key === AUTODETECTED_MOUNT) {
    if (!task.autoDetect) throw new CriuError(`mount ${entry.mnt_id} at ${entry.mountpoint} is an auto-detected external mount: allow it with --external mnt[] (or --ext-mount-map auto)`, { code: 'EINVAL' });
    return checkPath(entry.source, `external mount ${entry.mnt_id}`);
  }
  const path = task.externals.get(key);
  if (path === undefined) throw new CriuError(`mount ${entry.mnt_id} at ${entry.mountpoint} is external (key ${key}): give its path with --external mnt[${key}]:PATH`, { code: 'ENOENT' });
  return path;
}

function fillTmpfs(task: MountNsRestore, entry: MntEntry, target: string): void {
  const image = imagePath(task.imagesDir, 'tmpfs-dev', entry.root_dev);
  if (!existsSync(image)) throw new CriuError(`tmpfs at ${entry.mountpoint} (mount ${entry.mnt_id}): ${image} is missing`, { code: 'ENOENT' });
  const input = openSync(image, 'r');
  try {
    const dir = `/proc/${task.injector.pid}/root${target}`;
    const tar = spawnSync('tar', ['--extract', '--gzip', '--no-unquote', '--no-wildcards', '--directory', dir], { stdio: [input, 'ignore', 'pipe'] });
    if (tar.status !== 0) throw new CriuError(`refilling the tmpfs at ${entry.mountpoint} from ${image} failed: ${tar.error?.message ?? tar.stderr.toString().trim()}`, { code: 'ETAR' });
  } finally {
    closeSync(input);
  }
}

/** A mount made afresh: its file system by type, source and options; a tmpfs refilled before it turns read-only. */
function mountFresh(task: MountNsRestore, entry: MntEntry, target: string): void {
  const name = fstypeName(entry.fstype, entry.fsname);
  if (name === undefined || entry.fstype === Fstype.UNSUPPORTED) throw new CriuError(`mount ${entry.mnt_id} at ${entry.mountpoint}: file system type ${entry.fstype} cannot be mounted`, { code: 'EIMAGE' });
  if (entry.root !== '/') throw new CriuError(`mount ${entry.mnt_id} at ${entry.mountpoint}: a bind of ${entry.root} of a ${name} that no other mount shows from its root`, { code: 'EUNSUPPORTED' });
  const sb = entry.sb_flags ?? 0;
  const fill = entry.fstype === Fstype.TMPFS;
  const flags = fill ? sb & ~MS.RDONLY : sb;
  call(task, `mount ${name} at ${target}`, SYS.mount, [entry.source, target, name, flags, entry.options === '' ? null : entry.options]);
  if (!fill) return;
  fillTmpfs(task, entry, target);
  if ((sb & MS.RDONLY) !== 0) call(task, `remount ${target} read-only`, SYS.mount, [null, target, null, MS.REMOUNT | sb, entry.options === '' ? null : entry.options]);
}

function makeMount(task: MountNsRestore, entry: MntEntry, made: readonly Made[], root: Made): Made {
  const target = join(root.target, checkPath(entry.mountpoint, `mount ${entry.mnt_id}`));
  if (entry.ext_key !== undefined) {
    const source = externalSource(task, entry);
    // from the task's private copy of criu's namespace: private, whatever its sharing was (see the top)
    call(task, `bind ${source} at ${target}`, SYS.mount, [source, target, null, MS.BIND, null]);
  } else {
    const source = made.find((m) => m.entry.root_dev === entry.root_dev && isSubpath(entry.root, m.entry.root) && m.entry.ext_key === undefined)
      ?? made.find((m) => m.entry.root_dev === entry.root_dev && isSubpath(entry.root, m.entry.root));
    if (source !== undefined) bindFrom(task, source.fd, relativeTo(entry.root, source.entry.root), target);
    else mountFresh(task, entry, target);
  }
  return { entry, target, fd: openFd(task, target) };
}

/**
 * The next mount to make, taken out of `pending` (in tree order): the first
 * whose parent is made and that can be made now — external, a bind of a
 * mount made, or one no pending mount could be the source of (a bind of a
 * file system's subdirectory waits for a mount of that file system's root).
 */
export function nextMount(pending: MntEntry[], made: readonly { entry: MntEntry }[]): MntEntry | undefined {
  const parentMade = (e: MntEntry): boolean => made.some((m) => m.entry.mnt_id === e.parent_mnt_id);
  const sourceOf = (e: MntEntry, of: MntEntry): boolean => of !== e && of.root_dev === e.root_dev && isSubpath(e.root, of.root);
  const ready = (e: MntEntry): boolean => e.ext_key !== undefined || made.some((m) => sourceOf(e, m.entry)) || !pending.some((p) => sourceOf(e, p) && p.root !== e.root);
  let i = pending.findIndex((e) => parentMade(e) && ready(e));
  if (i < 0) i = pending.findIndex(parentMade);
  if (i < 0 && pending.length > 0) throw new CriuError(`mountpoints image: mount ${pending[0]!.mnt_id} at ${pending[0]!.mountpoint} hangs from no mount of the namespace`, { code: 'EIMAGE' });
  return i < 0 ? undefined : pending.splice(i, 1)[0];
}

function pivotRoot(task: MountNsRestore, root: string): void {
  call(task, `chdir ${root}`, SYS.chdir, [root]);
  call(task, 'pivot_root(".", ".")', SYS.pivot_root, ['.', '.']);
  call(task, 'umount the old root', SYS.umount2, ['.', MNT_DETACH]);
  call(task, 'chdir /', SYS.chdir, ['/']);
}

function setattr(task: MountNsRestore, m: Made, what: string, set: number, clear: number, propagation: number): void {
  const attr = Buffer.alloc(MOUNT_ATTR_SIZE);
  attr.writeBigUInt64LE(BigInt(set), 0);
  attr.writeBigUInt64LE(BigInt(clear), 8);
  attr.writeBigUInt64LE(BigInt(propagation), 16);
  call(task, `mount_setattr ${m.entry.mountpoint} (${what})`, SYS.mount_setattr, [m.fd, '', AT.EMPTY_PATH, attr, MOUNT_ATTR_SIZE]);
}

function setGroup(task: MountNsRestore, from: Made, to: Made): void {
  const flags = MOVE_MOUNT.F_EMPTY_PATH | MOVE_MOUNT.T_EMPTY_PATH | MOVE_MOUNT.SET_GROUP;
  call(task, `join ${to.entry.mountpoint} to the peer group of ${from.entry.mountpoint}`, SYS.move_mount, [from.fd, '', to.fd, '', flags]);
}

/** The member of a peer group every other's root lies under (MOVE_MOUNT_SET_GROUP copies from it). */
function groupLeader(members: readonly Made[], id: number): Made {
  const leader = members.find((m) => members.every((o) => o.entry.root_dev === m.entry.root_dev && isSubpath(o.entry.root, m.entry.root)));
  if (leader === undefined) throw new CriuError(`peer group ${id}: no member whose root holds every other's (${members.map((m) => `${m.entry.mountpoint}:${m.entry.root}`).join(', ')})`, { code: 'EUNSUPPORTED' });
  return leader;
}

/** Peer groups and slaves of groups inside the namespace, masters' groups first. */
function restoreSharing(task: MountNsRestore, made: readonly Made[]): void {
  const internal = made.filter((m) => m.entry.ext_key === undefined || m.entry.internal_sharing === true);
  const groups = new Map<number, Made[]>();
  for (const m of internal) if (m.entry.shared_id) groups.set(m.entry.shared_id, [...(groups.get(m.entry.shared_id) ?? []), m]);
  const done = new Map<number, Made>();
  const masterOf = (m: Made): Made | undefined => (m.entry.master_id && groups.has(m.entry.master_id) ? shareGroup(m.entry.master_id) : undefined);
  const enslave = (m: Made): void => {
    const master = masterOf(m);
    if (master === undefined) return;
    setGroup(task, master, m);
    setattr(task, m, 'slave', 0, 0, MS.SLAVE);
  };
  const shareGroup = (id: number): Made => {
    const known = done.get(id);
    if (known !== undefined) return known;
    const members = groups.get(id)!;
    const leader = groupLeader(members, id);
    done.set(id, leader);
    enslave(leader);
    setattr(task, leader, 'shared', 0, 0, MS.SHARED);
    for (const other of members) if (other !== leader) setGroup(task, leader, other);
    return leader;
  };
  for (const id of groups.keys()) shareGroup(id);
  for (const m of internal) if (!m.entry.shared_id && m.entry.master_id) enslave(m);
}

function atimeAttr(flags: number): number {
  if ((flags & MS.NOATIME) !== 0) return MOUNT_ATTR.NOATIME;
  if ((flags & MS.STRICTATIME) !== 0) return MOUNT_ATTR.STRICTATIME;
  return 0; // relatime
}

function restoreFlags(task: MountNsRestore, m: Made): void {
  const f = m.entry.flags & MNT_FLAGS;
  const set = ((f & MS.RDONLY) ? MOUNT_ATTR.RDONLY : 0) | ((f & MS.NOSUID) ? MOUNT_ATTR.NOSUID : 0) | ((f & MS.NODEV) ? MOUNT_ATTR.NODEV : 0)
    | ((f & MS.NOEXEC) ? MOUNT_ATTR.NOEXEC : 0) | ((f & MS.NODIRATIME) ? MOUNT_ATTR.NODIRATIME : 0) | atimeAttr(f);
  const clear = MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NODIRATIME | MOUNT_ATTR.ATIME;
  setattr(task, m, `flags 0x${f.toString(16)}`, set, clear, 0);
  if ((m.entry.flags & MS.UNBINDABLE) !== 0) setattr(task, m, 'unbindable', 0, 0, MS.UNBINDABLE);
}

/** The entries of mountpoints-ID.img. */
export function readMountEntries(dir: string, nsId: number): MntEntry[] {
  const path = imagePath(dir, 'mountpoints', nsId);
  if (!existsSync(path)) throw new CriuError(`the root task has a mount namespace of its own (id ${nsId}) but ${path} is missing`, { code: 'ENOENT' });
  return readEntries(dir, 'mountpoints', nsId);
}

/**
 * Builds the namespace's mounts in task (see the top of this file); the
 * task's root and cwd end up at the new root. Returns the task's O_PATH fd
 * on the images directory, opened before the pivot (the tasks read their
 * pages through it; it is closed before their files are made).
 */
export function restoreMountNamespace(task: MountNsRestore): number {
  const entries = treeOrder(readMountEntries(task.imagesDir, task.nsId));
  const newRoot = checkPath(task.root ?? '/', '--root');
  // the tree is built on a clone of the new root attached at an empty directory of ours (a "yard"): "/" itself cannot be mounted over and reached
  const yard = mkdtempSync('/tmp/.criu-ts-mntns-');
  const made: Made[] = [];
  try {
    call(task, 'make every mount private', SYS.mount, [null, '/', null, MS.REC | MS.PRIVATE, null]);
    bindFrom(task, AT.FDCWD, newRoot, yard);
    made.push({ entry: entries[0]!, target: yard, fd: openFd(task, yard) });
    for (let pending = entries.slice(1), next = nextMount(pending, made); next !== undefined; next = nextMount(pending, made)) {
      made.push(makeMount(task, next, made, made[0]!));
    }
    const imagesFd = call(task, `open ${task.imagesDir}`, SYS.openat, [AT.FDCWD, task.imagesDir, O.PATH | O.DIRECTORY | O.CLOEXEC, 0]);
    pivotRoot(task, yard);
    restoreSharing(task, made);
    for (const m of made) restoreFlags(task, m);
    task.log.info(`mnt: ${made.length} mounts of namespace ${task.nsId} restored under ${newRoot}`);
    return imagesFd;
  } finally {
    for (const m of made) task.injector.syscall(SYS.close, m.fd);
    try {
      rmdirSync(yard);
    } catch (error) {
      task.log.warn(`could not remove ${yard}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

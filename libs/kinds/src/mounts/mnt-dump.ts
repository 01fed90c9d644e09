// Dump half of the mount namespace kind: the mounts of the tree's mount
// namespace when it is not criu's — mountpoints-ID.img (ID the namespace's
// id in ids-PID.img), and, once every task is dumped, for each tmpfs the
// files in it, tmpfs-dev-S_DEV.tar.gz.img, made by tar as upstream runs it
// (on the mount's root, reached as the namespace sees it). What restore cannot make
// again is refused here by name: a file system of a kind criu cannot mount
// (unless it is external, a bind of the namespace root's file system, or
// enabled with --enable-fs), a fuse, binfmt_misc or autofs mount, a
// non-empty mqueue, an overlay whose layers are gone, a tmpfs no mount shows
// from its root. See mount_namespaces(7), proc_pid_mountinfo(5), criu(8).
import { closeSync, existsSync, openSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { CriuError, UnsupportedError } from '@criu-ts/base';
import { O } from '@criu-ts/kernel';
import { Fstype, imagePath, writeImage } from '@criu-ts/images';
import { readFdinfo, readMountinfo } from '@criu-ts/proc';
import type { DumpContext } from '../dump-context.js';
import { isSubpath, mountEntries, parseMountExternals, type MntEntry, type MountDumpOptions } from './mount-entries.js';
import { kernelDev } from './mount-flags.js';

/** What the rest of the dump needs to know of the tree's mount namespace. */
export interface DumpedMountNs {
  id: number;
  /** the task whose /proc/PID/root leads into the namespace (the tree's root) */
  pid: number;
  entries: MntEntry[];
  /** the mounts of each tmpfs superblock, whose files are saved once the tasks are dumped */
  tmpfs: MntEntry[][];
}

/** tar as upstream runs it (criu/filesystems.c tmpfs_dump), on the directory at fd 3. */
export const TAR_CREATE = [
  '--create', '--gzip', '--no-unquote', '--no-wildcards', '--one-file-system', '--check-links', '--preserve-permissions', '--sparse',
  '--numeric-owner', '--directory', '/proc/self/fd/3', '.',
];

const REFUSED: Readonly<Record<number, string>> = {
  [Fstype.FUSE]: 'fuse', [Fstype.BINFMT_MISC]: 'binfmt_misc', [Fstype.AUTOFS]: 'autofs', [Fstype.AUFS]: 'aufs', [Fstype.SIMFS]: 'simfs',
};

export function mountDumpOptions(ctx: DumpContext): MountDumpOptions {
  const o = ctx.options;
  const ext = parseMountExternals(o.external ?? [], o.extMountMap ?? []);
  return {
    externals: ext.map,
    autoDetect: ext.auto,
    externalSharing: ext.sharing || o.enableExternalSharing === true,
    externalMasters: ext.masters || o.enableExternalMasters === true,
    enableFs: o.enableFs ?? [],
    skip: o.skipMnt ?? [],
  };
}

const where = (entry: MntEntry): string => `mount ${entry.mnt_id} at ${entry.mountpoint}`;

/** The root of a mount as the namespace sees it, checked to be that mount (not one over it): an O_PATH fd of ours. */
function openMountRoot(pid: number, entry: MntEntry): number | undefined {
  const fd = openSync(`/proc/${pid}/root${entry.mountpoint}`, O.PATH | O.DIRECTORY | O.CLOEXEC);
  if (readFdinfo(process.pid, fd).mnt_id === entry.mnt_id) return fd;
  closeSync(fd);
  return undefined;
}

/** st_dev as stat(2) shows it (new_encode_dev) of a kernel-encoded s_dev. */
const statDev = (kdev: number): number => {
  const major = kdev >>> 20;
  const minor = kdev & 0xfffff;
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
};

/**
 * tar of a tmpfs only hidden under mounts over it: in a private copy of the
 * namespace (nsenter + unshare), those mounts taken off (umount -l) until
 * the file system at the mount point is this one, as upstream's
 * ns_open_mountpoint does.
 */
function tarHidden(pid: number, entry: MntEntry, out: number): ReturnType<typeof spawnSync> {
  const script = 'i=0; while [ "$(stat -c %d "$1")" != "$2" ]; do i=$((i+1)); [ $i -le 16 ] && umount -l "$1" || exit 90; done; cd "$1" || exit 91; shift 2; exec tar "$@"';
  const tarArgs = TAR_CREATE.map((arg) => (arg === '/proc/self/fd/3' ? '.' : arg));
  const args = ['-t', String(pid), '-m', '--', 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', entry.mountpoint, String(statDev(entry.root_dev)), ...tarArgs];
  return spawnSync('nsenter', args, { stdio: ['ignore', out, 'pipe'] });
}

function dumpTmpfs(ctx: DumpContext, pid: number, binds: readonly MntEntry[]): void {
  const first = binds[0]!;
  const fromRoot = binds.filter((b) => b.root === '/');
  if (fromRoot.length === 0) throw new UnsupportedError({ pid, kind: `the tmpfs of ${where(first)}, which no mount shows from its root` });
  const path = imagePath(ctx.options.imagesDir, 'tmpfs-dev', first.root_dev);
  const out = openSync(path, 'wx', 0o600);
  try {
    const reachable = fromRoot.map((entry) => ({ entry, fd: openMountRoot(pid, entry) })).find((r) => r.fd !== undefined);
    const entry = reachable?.entry ?? fromRoot[0]!;
    const tar = reachable === undefined ? tarHidden(pid, entry, out) : spawnSync('tar', TAR_CREATE, { stdio: ['ignore', out, 'pipe', reachable.fd!] });
    if (reachable !== undefined) closeSync(reachable.fd!);
    if (tar.error !== undefined) throw new CriuError(`tar of the tmpfs at ${entry.mountpoint}: ${tar.error.message}`, { cause: tar.error });
    if (tar.status !== 0) throw new CriuError(`tar of the tmpfs at ${entry.mountpoint} (${where(entry)}) failed: ${String(tar.stderr).trim()}`, { code: 'ETAR' });
    ctx.log.info(`mnt: tmpfs ${first.root_dev} saved from ${entry.mountpoint}${reachable === undefined ? ' (under the mounts over it)' : ''} as ${path}`);
  } finally {
    closeSync(out);
  }
}

function checkEmpty(pid: number, entry: MntEntry, fsname: string): void {
  const fd = openMountRoot(pid, entry);
  if (fd === undefined) return;
  try {
    if (readdirSync(`/proc/self/fd/${fd}`).length > 0) throw new UnsupportedError({ pid, kind: `a ${fsname} with files in it (${where(entry)})` });
  } finally {
    closeSync(fd);
  }
}

/** overlay's lowerdir/upperdir/workdir are paths of criu's namespace at restore: each must exist. */
function checkOverlay(pid: number, entry: MntEntry): void {
  for (const option of entry.options.split(',')) {
    const m = /^(lowerdir|upperdir|workdir)=(.*)$/.exec(option);
    if (m === null) continue;
    for (const dir of m[2]!.split(':').filter((d) => d !== '')) {
      if (!dir.startsWith('/') || !existsSync(dir)) throw new UnsupportedError({ pid, kind: `an overlay (${where(entry)}) whose ${m[1]} ${dir} does not exist in criu's mount namespace` });
    }
  }
}

/** How restore makes each mount: refuse those it cannot; the tmpfs superblocks to tar (each once, with its mounts). */
function checkFileSystems(pid: number, entries: readonly MntEntry[], fsnames: ReadonlyMap<number, string>): MntEntry[][] {
  const root = entries.find((e) => !entries.some((p) => p.mnt_id === e.parent_mnt_id))!;
  const tmpfs = new Map<number, MntEntry[]>();
  for (const entry of entries) {
    if (entry === root || entry.ext_key !== undefined) continue;
    if (entry.root_dev === root.root_dev && isSubpath(entry.root, root.root)) continue; // a bind of the root's file system
    const refused = REFUSED[entry.fstype];
    if (refused !== undefined) throw new UnsupportedError({ pid, kind: `a ${refused} mount (${where(entry)})`, hint: `leave it out with --skip-mnt ${entry.mountpoint} or make it external: --external mnt[${entry.mountpoint}]:KEY` });
    if (entry.fstype === Fstype.UNSUPPORTED) {
      throw new UnsupportedError({
        pid, kind: `a mount of file system type ${fsnames.get(entry.mnt_id)} (${where(entry)})`,
        hint: `make it external (--external mnt[${entry.mountpoint}]:KEY, or --external mnt[] if it is a bind of a mount of criu's), --enable-fs it, or --skip-mnt ${entry.mountpoint}`,
      });
    }
    if (entry.fstype === Fstype.TMPFS) tmpfs.set(entry.root_dev, [...(tmpfs.get(entry.root_dev) ?? []), entry]);
    else if (entry.fstype === Fstype.MQUEUE) checkEmpty(pid, entry, 'mqueue');
    else if (entry.fstype === Fstype.PSTORE) checkEmpty(pid, entry, 'pstore');
    else if (entry.fstype === Fstype.OVERLAYFS) checkOverlay(pid, entry);
  }
  return [...tmpfs.values()];
}

/**
 * The kernel hides devpts's newinstance; a devpts other than criu's own
 * /dev/pts was made with it, so it is put back, as upstream's devpts_parse
 * does (its restore mounts with it).
 */
function markNewDevpts(entries: MntEntry[]): void {
  const st = statSync('/dev/pts', { throwIfNoEntry: false });
  const ours = st === undefined ? undefined : kernelDev(Math.floor(st.dev / 256) & 0xfff, (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00));
  for (const entry of entries) {
    if (entry.fstype !== Fstype.DEVPTS || entry.root_dev === ours || entry.options.split(',').includes('newinstance')) continue;
    entry.options = entry.options === '' ? 'newinstance' : `${entry.options},newinstance`;
  }
}

/** Dumps the mount namespace of `pid` (the tree's root) as namespace `id`. */
export function dumpMountNamespace(ctx: DumpContext, pid: number, id: number): DumpedMountNs {
  const options = mountDumpOptions(ctx);
  const mounts = readMountinfo(pid);
  const entries = mountEntries(mounts, readMountinfo(process.pid), options);
  markNewDevpts(entries);
  const roots = entries.filter((e) => !entries.some((p) => p.mnt_id === e.parent_mnt_id));
  if (roots.length !== 1 || roots[0]!.mountpoint !== '/') {
    throw new CriuError(`pid ${pid}: its mount namespace has ${roots.length} mounts without a parent (${roots.map(where).join(', ')}), not one root at /`, { code: 'EINVAL' });
  }
  const tmpfs = checkFileSystems(pid, entries, new Map(mounts.map((m) => [m.mount_id, m.fstype])));
  writeImage(imagePath(ctx.options.imagesDir, 'mountpoints', id), 'mountpoints', entries);
  ctx.log.info(`mnt: namespace ${id} of pid ${pid}: ${entries.length} mounts`);
  for (const e of entries) ctx.log.debug(`mnt:   ${e.mnt_id} <- ${e.parent_mnt_id} ${e.mountpoint} root ${e.root} fstype ${e.fstype} flags 0x${e.flags.toString(16)} sb 0x${(e.sb_flags ?? 0).toString(16)} ${e.options}${e.ext_key === undefined ? '' : ` external ${e.ext_key}`}`);
  return { id, pid, entries, tmpfs };
}

/**
 * The files of each tmpfs, once every task is dumped: what the dump itself
 * puts there (a --link-remap link) goes in with them, as upstream's order has it.
 */
export function dumpTmpfsContents(ctx: DumpContext, ns: DumpedMountNs): void {
  for (const binds of ns.tmpfs) dumpTmpfs(ctx, ns.pid, binds);
}

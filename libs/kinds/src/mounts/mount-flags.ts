// The words of mount(2) and proc_pid_mountinfo(5) as numbers: MS_* flags,
// the per-mount options of mountinfo's 6th field (mount flags), the
// superblock options of its last field (sb flags, the rest kept as the
// options string), and the file system types of mnt.proto, as upstream
// CRIU 4.x codes them (criu/filesystems.c).
import { Fstype } from '@criu-ts/images';

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
} as const;

/** The propagation bits upstream keeps in mnt_entry.flags beside the mount flags. */
export const MS_PROPAGATE = MS.SHARED | MS.SLAVE | MS.UNBINDABLE | MS.PRIVATE;
/** What a bind remount (MS_REMOUNT | MS_BIND) sets on one mount. */
export const MNT_FLAGS = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME;

const MOUNT_OPTIONS: Readonly<Record<string, number>> = {
  rw: 0, ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, noatime: MS.NOATIME, nodiratime: MS.NODIRATIME, relatime: MS.RELATIME,
};

// "mad" is upstream's spelling (so "mand" stays in the options string, as upstream keeps it)
const SB_OPTIONS: Readonly<Record<string, number>> = { rw: 0, ro: MS.RDONLY, sync: MS.SYNCHRONOUS, dirsync: MS.DIRSYNC, mad: MS.MANDLOCK };

/** mountinfo's per-mount options → MS flags; neither relatime nor noatime means strictatime, as the kernel assumes relatime otherwise. */
export function mountFlags(options: readonly string[]): number {
  let flags = 0;
  for (const option of options) {
    const flag = MOUNT_OPTIONS[option];
    if (flag === undefined) throw new Error(`unknown mount option "${option}"`);
    flags |= flag;
  }
  if ((flags & (MS.RELATIME | MS.NOATIME)) === 0) flags |= MS.STRICTATIME;
  return flags >>> 0;
}

/** mountinfo's super options → sb flags and the options string left for mount(2)'s data. */
export function superblockFlags(options: readonly string[]): { flags: number; options: string } {
  let flags = 0;
  const rest: string[] = [];
  for (const option of options) {
    const flag = SB_OPTIONS[option];
    if (flag === undefined) rest.push(option);
    else flags |= flag;
  }
  return { flags, options: rest.join(',') };
}

/** Names of the file systems criu knows, with their codes (Fstype.AUTO: any other, by --enable-fs). */
export const FSTYPES: Readonly<Record<string, number>> = {
  proc: Fstype.PROC,
  sysfs: Fstype.SYSFS,
  devtmpfs: Fstype.DEVTMPFS,
  binfmt_misc: Fstype.BINFMT_MISC,
  tmpfs: Fstype.TMPFS,
  devpts: Fstype.DEVPTS,
  simfs: Fstype.SIMFS,
  btrfs: Fstype.UNSUPPORTED,
  pstore: Fstype.PSTORE,
  mqueue: Fstype.MQUEUE,
  securityfs: Fstype.SECURITYFS,
  fusectl: Fstype.FUSECTL,
  debugfs: Fstype.DEBUGFS,
  tracefs: Fstype.TRACEFS,
  cgroup: Fstype.CGROUP,
  cgroup2: Fstype.CGROUP2,
  aufs: Fstype.AUFS,
  fuse: Fstype.FUSE,
  overlay: Fstype.OVERLAYFS,
  autofs: Fstype.AUTOFS,
};

/** The name mount(2) takes for a code (AUTO: the entry's fsname). */
export function fstypeName(code: number, fsname: string | undefined): string | undefined {
  if (code === Fstype.AUTO) return fsname;
  return Object.keys(FSTYPES).find((name) => FSTYPES[name] === code && code !== Fstype.UNSUPPORTED);
}

/** The code of a mountinfo fs type ("fuse.sshfs" counts as fuse); --enable-fs names (or "all") become AUTO. */
export function fstypeCode(fstype: string, enableFs: readonly string[]): number {
  const name = fstype.split('.')[0]!;
  const code = FSTYPES[name];
  if (code !== undefined && code !== Fstype.UNSUPPORTED) return code;
  const enabled = enableFs.flatMap((list) => list.split(','));
  return enabled.includes('all') || enabled.includes(name) ? Fstype.AUTO : Fstype.UNSUPPORTED;
}

/** Upstream's s_dev encoding (MKKDEV): major << 20 | minor. */
export const kernelDev = (major: number, minor: number): number => ((major << 20) | minor) >>> 0;

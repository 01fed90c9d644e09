// Where the cgroup kind reaches the hierarchies: each one mounted by us,
// detached (fsopen/fsconfig/fsmount: a mount in no namespace's tree, seen
// through /proc/self/fd/N and gone when the fd is closed), so the whole
// hierarchy is visible whatever is mounted where — or, with --cgroup-yard
// DIR, the directories an engine mounted there for us, one per hierarchy,
// named as upstream names them ('cpu,cpuacct', 'systemd', 'unified').
import { closeSync, existsSync } from 'node:fs';
import { CriuError, errnoOf } from '@criu-ts/base';
import { FSCONFIG, fsconfig, fsmount, fsopen } from '@criu-ts/kernel';
import { hierarchyDirName } from './cgroup-file.js';

export interface Yard {
  /** the path of a hierarchy's root: '/proc/self/fd/N' or 'YARD/cpu' */
  root(cnames: readonly string[]): string;
  /** a path under a root as a message shows it: 'pids:/a/b' */
  show(path: string): string;
  /** closes every mount it opened */
  close(): void;
}

/** Mounts one hierarchy, detached; returns the mount's fd. */
export function mountHierarchy(cnames: readonly string[]): number {
  const v2 = cnames.length === 1 && cnames[0] === '';
  const what = v2 ? 'the cgroup v2 hierarchy' : `the cgroup hierarchy ${cnames.join(',')}`;
  const fsFd = fsopen(v2 ? 'cgroup2' : 'cgroup');
  try {
    if (!v2) {
      for (const name of cnames) {
        if (name.startsWith('name=')) fsconfig(fsFd, FSCONFIG.SET_STRING, 'name', name.slice(5));
        else fsconfig(fsFd, FSCONFIG.SET_FLAG, name);
      }
    }
    fsconfig(fsFd, FSCONFIG.CMD_CREATE);
    return fsmount(fsFd);
  } catch (error) {
    throw new CriuError(`cannot mount ${what}: ${error instanceof Error ? error.message : String(error)}`, { code: errnoOf(error) ?? 'EIO', cause: error });
  } finally {
    closeSync(fsFd);
  }
}

/** A yard of our own mounts (undefined dir) or of --cgroup-yard DIR's. */
export function openYard(dir?: string): Yard {
  const mounts = new Map<string, number>();
  return {
    root(cnames) {
      const key = hierarchyDirName(cnames);
      if (dir !== undefined) {
        const path = `${dir}/${key}`;
        if (!existsSync(path)) throw new CriuError(`--cgroup-yard ${dir}: no ${key} in it (mount that hierarchy there)`, { code: 'ENOENT' });
        return path;
      }
      let fd = mounts.get(key);
      if (fd === undefined) {
        fd = mountHierarchy(cnames);
        mounts.set(key, fd);
      }
      return `/proc/self/fd/${fd}`;
    },
    show(path) {
      for (const [key, fd] of mounts) {
        const root = `/proc/self/fd/${fd}`;
        if (path === root || path.startsWith(`${root}/`)) return `${key}:${path.slice(root.length) || '/'}`;
      }
      return path;
    },
    close() {
      for (const fd of mounts.values()) closeSync(fd);
      mounts.clear();
    },
  };
}

// Writing a saved property back into a cgroup, as upstream's restore does:
// its owner and mode first, then the value in one write — but
// cgroup.procs and tasks (permissions only), cgroup.subtree_control
// (what is enabled now turned off, what was saved turned on),
// cgroup.type (only 'threaded'), devices.list (deny all, then allow each
// line), net_prio.ifpriomap (each non-zero line on its own, failures
// skipped); memory.kmem.limit_in_bytes is skipped where the kernel
// dropped it (EOPNOTSUPP).
import { closeSync, fchmodSync, fchownSync, openSync, readSync, writeSync, constants } from 'node:fs';
import { CriuError, errnoOf } from '@criu-ts/base';
import type { Messages } from '@criu-ts/images';

export type CgPropEntry = Messages['cgroup_prop_entry'];

function checkName(name: string): void {
  if (name === '' || name.includes('/') || name.includes('\0') || name === '.' || name === '..') {
    throw new CriuError(`cgroup.img: bad property name '${name}'`, { code: 'EINVAL' });
  }
}

function writeOnce(fd: number, value: string, path: string, skipFailure = false): void {
  try {
    writeSync(fd, value);
  } catch (error) {
    if (skipFailure) return;
    throw new CriuError(`cannot write '${value}' to ${path}: ${errnoOf(error) ?? String(error)}`, { code: errnoOf(error) ?? 'EIO', cause: error });
  }
}

function subtreeControl(fd: number, saved: string, path: string): void {
  const buf = Buffer.alloc(1024);
  const now = buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0)).trim();
  const words = [...(now === '' ? [] : now.split(/\s+/).map((c) => `-${c}`)), ...(saved === '' ? [] : saved.split(/\s+/).map((c) => `+${c}`))];
  if (words.length > 0) writeOnce(fd, words.join(' '), path);
}

/** Writes one property of the cgroup at dir (a path through the yard). */
export function writeProp(dir: string, prop: CgPropEntry): void {
  checkName(prop.name);
  if (prop.name === 'devices.list') {
    writeProp(dir, { name: 'devices.deny', value: 'a', perms: prop.perms === undefined ? undefined : { ...prop.perms, mode: 0o200 } });
    for (const line of prop.value === '' ? [] : prop.value.split('\n')) writeProp(dir, { name: 'devices.allow', value: line });
    return;
  }
  if (prop.name === 'cgroup.type' && prop.value !== 'threaded') return;
  const path = `${dir}/${prop.name}`;
  const subtree = prop.name === 'cgroup.subtree_control';
  let fd: number;
  try {
    fd = openSync(path, subtree ? constants.O_RDWR : constants.O_WRONLY);
  } catch (error) {
    throw new CriuError(`cannot open cgroup property ${path}: ${errnoOf(error) ?? String(error)}`, { code: errnoOf(error) ?? 'EIO', cause: error });
  }
  try {
    if (prop.perms !== undefined) {
      fchownSync(fd, prop.perms.uid, prop.perms.gid);
      fchmodSync(fd, prop.perms.mode & 0o7777);
    }
    if (prop.name === 'cgroup.procs' || prop.name === 'tasks') return;
    if (subtree) return subtreeControl(fd, prop.value, path);
    if (prop.name === 'net_prio.ifpriomap') {
      for (const line of prop.value.split('\n')) if (/\s[1-9]\d*$/.test(line)) writeOnce(fd, line, path, true);
      return;
    }
    try {
      writeSync(fd, prop.value);
    } catch (error) {
      if (prop.name === 'memory.kmem.limit_in_bytes' && errnoOf(error) === 'EOPNOTSUPP') return;
      throw new CriuError(`cannot write '${prop.value}' to ${path}: ${errnoOf(error) ?? String(error)}`, { code: errnoOf(error) ?? 'EIO', cause: error });
    }
  } finally {
    closeSync(fd);
  }
}

/** A special property skipped because its value is the kernel's default (upstream's XXX hack). */
export function isDefaultSpecial(prop: CgPropEntry): boolean {
  return (prop.name === 'memory.swappiness' && prop.value === '60') || (prop.name === 'memory.oom_control' && prop.value === '0');
}

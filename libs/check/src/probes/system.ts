// Probes for cgroups (cgroup v2 and its freezer) and io_uring, which the kernel may offer but we cannot dump.
import { closeSync, existsSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { trySyscall } from '@criu-ts/kernel';
import { missing, type Feature, type ProbeResult } from '../feature.js';

/** x86_64 io_uring_setup (not in @criu-ts/kernel's SYS table) */
const SYS_IO_URING_SETUP = 425;

/** The cgroup v2 mount point, from /proc/self/mountinfo. */
export function cgroup2Mount(): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.startsWith('cgroup2 ')) return left!.split(' ')[4];
  }
  return undefined;
}

export const cgroup2: Feature = {
  name: 'cgroup2',
  category: 2,
  neededFor: 'dumping and restoring cgroup v2 membership and settings (--manage-cgroups)',
  probe: () => {
    const mount = cgroup2Mount();
    if (mount === undefined) return missing('no cgroup2 file system is mounted');
    readFileSync(join(mount, 'cgroup.controllers'), 'utf8');
    return 'ok';
  },
};

/** cgroup.freeze in our cgroup or an ancestor below the root; else in a scratch child we create and remove. */
function probeFreezer(mount: string): ProbeResult {
  const own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
  for (let dir = join(mount, own); dir.length > mount.length; dir = join(dir, '..')) {
    if (existsSync(join(dir, 'cgroup.freeze'))) return 'ok';
  }
  const scratch = mkdtempSync(join(mount, 'criu-check-'));
  try {
    return existsSync(join(scratch, 'cgroup.freeze')) ? 'ok' : missing(`no cgroup.freeze in a new cgroup under ${mount}`);
  } finally {
    rmdirSync(scratch);
  }
}

export const cgroupFreezer: Feature = {
  name: 'cgroup_freezer',
  category: 2,
  neededFor: 'freezing a process tree through its cgroup (--freeze-cgroup)',
  probe: () => {
    const mount = cgroup2Mount();
    return mount === undefined ? missing('no cgroup2 file system is mounted') : probeFreezer(mount);
  },
};

export const ioUring: Feature = {
  name: 'io_uring',
  category: 3,
  neededFor: 'dumping tasks that hold an io_uring instance',
  probe: () => {
    const params = Buffer.alloc(120);
    const { value, errno } = trySyscall(SYS_IO_URING_SETUP, 1, params);
    if (errno !== 0) return 'ok'; // io_uring is off here: no task can hold one
    closeSync(Number(value));
    return missing('io_uring is enabled on this kernel (io_uring_setup works), and criu-ts cannot dump a task holding an io_uring');
  },
};

/** A tree's own cgroup namespace (cgroup_namespaces(7)): its root's cgroups saved as cgns_prefix in cgroup.img. */
export const cgroupns: Feature = {
  name: 'cgroupns',
  category: 2,
  neededFor: 'a tree in a cgroup namespace of its own',
  probe: () => (existsSync('/proc/self/ns/cgroup') ? 'ok' : missing('this kernel has no cgroup namespaces (/proc/self/ns/cgroup)')),
};

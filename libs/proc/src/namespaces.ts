// /proc/PID/ns/*: one link per namespace kind, "net:[4026531833]"
// (namespaces(7)).
import { SyscallError } from '@criu-ts/base';
import { malformed, procPath, readProcDir, readProcLink, type Source } from './proc-files.js';

export interface NsLink {
  /** the link's kind: cgroup, ipc, mnt, net, pid, time, user, uts */
  kind: string;
  inode: number;
}

/** Parses "net:[4026531833]". */
export function parseNsLink(link: string, source: Source = 'ns link'): NsLink {
  const m = /^([a-z_]+):\[(\d+)\]$/.exec(link);
  if (m === null) throw malformed(source, undefined, 'not a namespace link', link);
  return { kind: m[1], inode: Number(m[2]) };
}

/**
 * Namespace inodes of a task by entry name (cgroup, ipc, mnt, net, pid,
 * pid_for_children, time, time_for_children, user, uts). A *_for_children
 * link that cannot be read yet (a new pid namespace without its first
 * process) is left out.
 */
export function readNamespaces(pid: number): Record<string, number> {
  const dir = procPath(pid, 'ns');
  const result: Record<string, number> = {};
  for (const name of readProcDir(pid, dir).sort()) {
    const path = `${dir}/${name}`;
    try {
      result[name] = parseNsLink(readProcLink(pid, path), path).inode;
    } catch (error) {
      if (!(name.endsWith('_for_children') && error instanceof SyscallError && error.code === 'ENOENT')) throw error;
    }
  }
  return result;
}

// /proc/PID/fd: each fd is a symlink whose text says what it is:
// "pipe:[123]", "socket:[456]", "anon_inode:[eventfd]", "/dev/pts/3",
// "/memfd:name (deleted)", a path, ... (proc_pid_fd(5)).
import { SyscallError } from '@criu-ts/base';
import { procPath, readProcDir, readProcLink } from './proc-files.js';

/** The anon_inode kinds the dump engine knows; anything else is 'other'. */
export type AnonInodeKind = 'eventfd' | 'epoll' | 'signalfd' | 'timerfd' | 'inotify' | 'fanotify' | 'io_uring' | 'pidfd' | 'userfaultfd' | 'perf_event' | 'other';

export type FdTarget =
  | { kind: 'pipe'; inode: number }
  | { kind: 'socket'; inode: number }
  | { kind: 'anon_inode'; anon: AnonInodeKind; /** the text after "anon_inode:", e.g. "[eventfd]", "inotify", "bpf-map" */ name: string }
  | { kind: 'namespace'; ns: string; inode: number }
  | { kind: 'memfd'; /** the name given to memfd_create(2) */ name: string; deleted: boolean }
  | { kind: 'pts'; /** N of /dev/pts/N */ index: number }
  | { kind: 'path'; path: string; deleted: boolean }
  | { kind: 'unknown' };

export interface FdEntry {
  fd: number;
  /** the readlink text as shown */
  link: string;
  target: FdTarget;
}

const ANON_KINDS: Readonly<Record<string, AnonInodeKind>> = {
  '[eventfd]': 'eventfd',
  '[eventpoll]': 'epoll',
  '[signalfd]': 'signalfd',
  '[timerfd]': 'timerfd',
  inotify: 'inotify',
  '[fanotify]': 'fanotify',
  '[io_uring]': 'io_uring',
  '[pidfd]': 'pidfd',
  '[userfaultfd]': 'userfaultfd',
  '[perf_event]': 'perf_event',
};

const NAMESPACES = new Set(['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts']);
const INODE_LINK = /^([a-z_]+):\[(\d+)\]$/;
const DELETED = ' (deleted)';
const MEMFD = '/memfd:';

function inodeLink(link: string): FdTarget | undefined {
  const m = INODE_LINK.exec(link);
  if (m === null) return undefined;
  const inode = Number(m[2]);
  if (m[1] === 'pipe' || m[1] === 'socket') return { kind: m[1], inode };
  if (NAMESPACES.has(m[1])) return { kind: 'namespace', ns: m[1], inode };
  return undefined;
}

function pathLink(link: string): FdTarget {
  const deleted = link.endsWith(DELETED);
  const path = deleted ? link.slice(0, -DELETED.length) : link;
  if (path.startsWith(MEMFD)) return { kind: 'memfd', name: path.slice(MEMFD.length), deleted };
  const pts = /^\/dev\/pts\/(\d+)$/.exec(path);
  if (pts !== null && !deleted) return { kind: 'pts', index: Number(pts[1]) };
  return { kind: 'path', path, deleted };
}

/** Classifies the text of a /proc/PID/fd/N link. */
export function classifyFdLink(link: string): FdTarget {
  if (link.startsWith('/')) return pathLink(link);
  if (link.startsWith('anon_inode:')) {
    const name = link.slice('anon_inode:'.length);
    return { kind: 'anon_inode', anon: ANON_KINDS[name] ?? 'other', name };
  }
  return inodeLink(link) ?? { kind: 'unknown' };
}

export function readFdLink(pid: number, fd: number): FdEntry {
  const link = readProcLink(pid, procPath(pid, `fd/${fd}`));
  return { fd, link, target: classifyFdLink(link) };
}

/** The fd numbers open in a task, ascending. */
export function listFdNumbers(pid: number): number[] {
  return readProcDir(pid, procPath(pid, 'fd'))
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * Every open fd with its link, ascending. An fd closed between listing and
 * reading its link (a running task) is left out; a stopped task has none.
 */
export function listFds(pid: number): FdEntry[] {
  const entries: FdEntry[] = [];
  for (const fd of listFdNumbers(pid)) {
    try {
      entries.push(readFdLink(pid, fd));
    } catch (error) {
      if (!(error instanceof SyscallError && error.code === 'ENOENT')) throw error;
    }
  }
  return entries;
}

// What a kind's restore half is given. The restore engine (libs/restore)
// implements these interfaces; kinds never reach for globals. Like the dump
// side, everything is synchronous on the tracer (main) thread.
//
// When a kind's restore runs, the task exists with its pid, session and
// group, its address space is rebuilt and the restore area (trampoline +
// scratch) is still mapped; its registers are not yet set and it has not
// been let go. Threads other than the leader exist too.
import type { Logger } from '@criu-ts/base';
import type { Injector } from '@criu-ts/inject';
import type { CgroupRestoreOptions } from './cgroup/cgroup-options.js';

/** Options of `criu restore` that kinds act on (parsed by the tool). */
export interface RestoreOptions {
  imagesDir: string;
  /** -j/--shell-job: session and group of the root come from criu */
  shellJob: boolean;
  /** -s/--leave-stopped */
  leaveStopped: boolean;
  /** -l/--file-locks */
  fileLocks: boolean;
  /** --tcp-established */
  tcpEstablished: boolean;
  /** --tcp-close: TCP connections of the images are restored closed */
  tcpClose?: boolean;
  /** --inherit-fd fd[N]:RESOURCE, as given */
  inheritFds: readonly string[];
  /** --ext-unix-sk: connect unix sockets whose peer was outside the dumped tree to that peer's name */
  extUnixSk?: boolean;
  /** --file-validation: how open files are checked to be the dumped ones (default 'buildid', as in criu(8)) */
  fileValidation?: 'filesize' | 'buildid';
  /**
   * RPC orphan_pts_master: hands the master of a new pty to the RPC client
   * (throws if it cannot or the client refuses); a pty slave whose master
   * was not dumped is then restored on that pty's slave (tty-external.ts)
   */
  orphanPtsMaster?: (master: number) => void;
  /** -r/--root: where the tree's mount namespace gets its root (default /) */
  root?: string;
  /** --external TYPE[ID]:VALUE, as given (veth[IN]:OUT[@BRIDGE]: a veth's outer end; mnt[KEY]:PATH: an external mount) */
  external?: readonly string[];
  /** -M/--ext-mount-map KEY:PATH or auto */
  extMountMap?: readonly string[];
  /** --veth-pair IN=OUT */
  vethPair?: readonly string[];
  /** --join-ns NS:{PID|PATH}[,EXTRA], as given */
  joinNs?: readonly string[];
  /** --empty-ns net: the network namespace is made empty, for an action script (setup-namespaces) to fill */
  emptyNs?: 'net';
  /** --manage-cgroups, --cgroup-root, --cgroup-yard */
  cgroups?: CgroupRestoreOptions;
}

/** A task being restored, as pstree.img and its core image describe it. */
export interface RestoreTask {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** threads[0] is the leader */
  threads: readonly number[];
  zombie: boolean;
  /** its fd table's id (files_id of ids-PID.img); absent for a zombie or images without ids */
  filesId?: number;
  /**
   * set when the task shares its parent's fd table (it was cloned with
   * CLONE_FILES): the pid of the task that owns the table and restores it
   */
  fdTableOwner?: number;
}

/** Scratch memory inside a task being restored, for structs passed to injected calls. */
export interface TaskScratch {
  readonly addr: bigint;
  readonly size: number;
  /** writes buf at offset; returns its address in the task */
  write(buf: Buffer, offset?: number): bigint;
  read(len: number, offset?: number): Buffer;
}

export interface RestoreContext {
  readonly options: RestoreOptions;
  readonly log: Logger;
  /** every task of the tree, parents first */
  readonly tasks: readonly RestoreTask[];
  /** The injector of a task's leader (restore trampoline), opened by the engine; never release it. */
  injector(pid: number): Injector;
  /** The task's scratch area (valid while the task is being restored). */
  scratch(pid: number): TaskScratch;
  /** A per-restore table that kinds share by name, created on first use. */
  shared<T>(key: string, create: () => T): T;
  /** A pid or tid of the tree as the images (the tree's pid namespace) name it; absent: the same number. */
  nsPid?(pid: number): number;
  /**
   * Runs fn with a short-lived injector on thread `tid` (not the leader) of
   * the task being restored, beside the leader's trampoline; released after.
   */
  withThread?<T>(tid: number, fn: (injector: Injector) => T): T;
  /**
   * Runs fn with injectors on threads `tids` of task `pid` (not its
   * leader), all on the leader's trampoline and batch area, ready for
   * batchOnThreads; released after.
   */
  withThreads?(pid: number, tids: readonly number[], fn: (injectors: readonly Injector[]) => void): void;
}

/** The number the images give pid (a pid or tid of the tree being restored). */
export function imagePidOf(ctx: Pick<RestoreContext, 'nsPid'>, pid: number): number {
  return ctx.nsPid?.(pid) ?? pid;
}

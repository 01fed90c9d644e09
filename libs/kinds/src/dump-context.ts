// What a kind's dump half is given. The dump engine (libs/dump) implements
// these interfaces; kinds never reach for globals. Everything is
// synchronous: the tracer is the main thread and ptrace requests must come
// from it.
import type { Logger } from '@criu-ts/base';
import type { ImageWriter, KindName } from '@criu-ts/images';
import type { Injector } from '@criu-ts/inject';
import type { NetLockMethod } from './net-lock/net-lock.js';
import type { CgroupDumpOptions } from './cgroup/cgroup-options.js';

/** Options of `criu dump` that kinds act on (parsed by the tool, validated). */
export interface DumpOptions {
  imagesDir: string;
  /** -j/--shell-job: the controlling terminal and session are external */
  shellJob: boolean;
  /** RPC orphan_pts_master: one pty slave whose master is outside the tree is allowed without -j (restore gives it a new pty) */
  orphanPtsMaster?: boolean;
  /** --ghost-limit in bytes: deleted-but-open files up to this size go into the image */
  ghostLimit: number;
  /** --link-remap: re-link deleted files instead of carrying them */
  linkRemap: boolean;
  /** -l/--file-locks */
  fileLocks: boolean;
  /** --tcp-established */
  tcpEstablished: boolean;
  /** --tcp-close: connections are saved without their state and restored closed */
  tcpClose?: boolean;
  /** --skip-in-flight: a listener's connections not accepted yet are dropped, not refused */
  skipInFlight?: boolean;
  /** --network-lock (default iptables) */
  networkLock?: NetLockMethod;
  /** --ext-unix-sk */
  extUnixSk: boolean;
  /** --file-validation */
  fileValidation: 'filesize' | 'buildid';
  /** pre-dump: memory only, the tree keeps running */
  preDump: boolean;
  /** --track-mem: pages unchanged since the parent run go in as PE_PARENT; -R arms tracking again */
  trackMem?: boolean;
  /** --prev-images-dir, resolved: the parent run's images directory */
  parentDir?: string;
  /** --pre-dump-mode: splice (vmsplice by the task) or read (process_vm_readv) */
  preDumpMode?: 'splice' | 'read';
  /** the tree runs on after this run (-R, and always for pre-dump) */
  leaveRunning?: boolean;
  /** --auto-dedup: punch the pages this run writes out of the parent images */
  autoDedup?: boolean;
  /** --lazy-pages: PE_LAZY runs go into the pagemap without their data (served after the dump, from the frozen tree) */
  lazyPages?: boolean;
  /** --external TYPE[ID]:VALUE, as given (net[INODE]:KEY: the tree's network namespace is external; mnt[..]: external mounts) */
  external?: readonly string[];
  /** -M/--ext-mount-map KEY:VALUE or auto */
  extMountMap?: readonly string[];
  /** --enable-fs FS[,FS...] (or all): file systems mounted again by name */
  enableFs?: readonly string[];
  /** --skip-mnt mount points left out of the dumped mount namespace */
  skipMnt?: readonly string[];
  enableExternalSharing?: boolean;
  enableExternalMasters?: boolean;
  /** --manage-cgroups, --cgroup-root, --cgroup-props(-file), --cgroup-dump-controller, --freeze-cgroup */
  cgroups?: CgroupDumpOptions;
}

/** A thread of a frozen task, stopped under ptrace. */
export interface DumpThread {
  tid: number;
  /** its tid in the tree's pid namespace (the same as tid in criu's) */
  nsTid?: number;
  /** a signal caught in delivery when we stopped it: saved as pending */
  pendingStopSignal: number;
  /**
   * Blocked signals when frozen (PTRACE_GETSIGMASK), read before anything is
   * injected (an open injector blocks every signal). Without it the core
   * kind reads the mask itself, which is only right if no injector is open.
   */
  sigmask?: bigint;
}

/** A task (thread group) of the frozen tree. */
export interface DumpTask {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** pid, pgid and sid in the tree's pid namespace (0: a group or session from outside it); absent: as above */
  ns?: { pid: number; pgid: number; sid: number };
  /** threads[0] is the leader */
  threads: DumpThread[];
  zombie: boolean;
  /** job-control stopped before the dump */
  wasStopped: boolean;
  /** the signal that stopped it (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) when wasStopped; SIGSTOP if unknown */
  stopSignal?: number;
  exitCode: number;
}

/** Counters that go into stats-dump. */
export interface DumpStats {
  pagesScanned: number;
  pagesSkippedParent: number;
  pagesWritten: number;
  pagesZero: number;
  pagesLazy: number;
  /** microseconds spent dumping memory */
  memdumpTime: number;
  /** microseconds writing page data */
  memwriteTime: number;
  /** pages of shared memory objects (shared anonymous, memfd) scanned and written to pagemap-shmem images */
  shpagesScanned: number;
  shpagesWritten: number;
}

export function emptyStats(): DumpStats {
  return {
    pagesScanned: 0,
    pagesSkippedParent: 0,
    pagesWritten: 0,
    pagesZero: 0,
    pagesLazy: 0,
    memdumpTime: 0,
    memwriteTime: 0,
    shpagesScanned: 0,
    shpagesWritten: 0,
  };
}

/** Where a present run's data comes from, for a page sink. */
export type PageSource = { pipe: number } | { file: number; offset: number } | { data: Uint8Array };

/**
 * Where page data goes instead of local pagemap/pages images (criu dump
 * --page-server): open() starts the pagemap of a task (pid) or of a shared
 * memory object (shmid); each run goes with its data right behind it, in
 * ascending address order. Synchronous; throws when the peer fails.
 */
export interface PageSink {
  open(kind: 'pagemap' | 'pagemap-shmem', id: number): void;
  addRun(run: { vaddr: bigint; nrPages: number; flags: number }, source: PageSource): void;
}

/**
 * criu dump --stream: the output stream itself (a tar writer), so that page
 * data goes straight into it while the memory kind dumps it, as the member
 * pages-N.img whose size is known before its first byte: beginMember, then
 * the data in order (append, or appendFromPipe to splice a pipe's pages),
 * then endMember. Synchronous; throws (EPIPE) when the reader went away.
 */
export interface PageStream {
  beginMember(name: string, size: number): void;
  append(data: Uint8Array): void;
  appendFromPipe(pipeFd: number, length: number): void;
  endMember(): void;
}

export interface DumpContext {
  readonly options: DumpOptions;
  /** set when pages go to a page server: then no pagemap/pages images are written here */
  readonly pageSink?: PageSink;
  /** set with --stream: a task's pages image goes into the stream as it is dumped, never to imagesDir */
  readonly pageStream?: PageStream;
  readonly log: Logger;
  readonly stats: DumpStats;
  /** every task of the tree, parents first */
  readonly tasks: readonly DumpTask[];
  /**
   * An image shared by the whole dump (files.img, pipes-data.img, ...):
   * opened on first use, flushed, fsynced and closed by the engine.
   * Per-task images (core-PID.img) are written with writeImage directly.
   */
  image(kind: KindName, id?: number | bigint): ImageWriter;
  /** A new object id, unique in this dump (file ids, mm ids, ...). */
  nextId(): number;
  /** The injector for a thread of the tree, opened on first use and released by the engine. */
  injector(tid: number): Injector;
  /** A per-dump table that kinds share by name, created on first use. */
  shared<T>(key: string, create: () => T): T;
  /**
   * Register an undo for a change a kind made outside the images (a
   * --link-remap hard link): run, newest first, if the dump fails.
   */
  onAbort?(undo: () => void): void;
  /**
   * A pid or tid of the tree (the tool's view, as in DumpTask) as the
   * tree's own pid namespace sees it: what images hold and are named by.
   * Absent: the tree lives in criu's pid namespace (the same number).
   */
  nsPid?(pid: number): number;
  /** This dump's run id (inventory's dump_criu_run_id; names the nftables lock table). */
  readonly runId?: string;
  /**
   * Register an undo for a change that must go when the tree goes on
   * running — the dump failed, or --leave-running (a connection's network
   * lock and TCP repair mode): run, newest first, while the tree is still
   * frozen. After a dump that kills (or -s stops) the tree they do not run.
   */
  onRunOn?(undo: () => void): void;
}

/** The number images give pid (a pid or tid of the tree): its number in the tree's pid namespace. */
export function imagePid(ctx: Pick<DumpContext, 'nsPid'>, pid: number): number {
  return ctx.nsPid?.(pid) ?? pid;
}

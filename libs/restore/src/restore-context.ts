// The engine's side of @criu-ts/kinds' RestoreContext, and the loop that
// runs the kinds' restore halves for a task: in registry order, again and
// again while some answer 'retry' and others make progress; then each
// kind's restoreLast (signals, credentials).
import { CriuError, FAULT, faultPoint, type Logger } from '@criu-ts/base';
import { readTaskMemory } from '@criu-ts/kernel';
import { inThreadGroups, openInjector, type Injector } from '@criu-ts/inject';
import type { RestoreContext, RestoreOptions, RestoreTask, TaskKind, TaskScratch } from '@criu-ts/kinds';
import { putScratch, type TaskArea } from './task-area.js';
import type { TaskSet } from './task-set.js';
import { TASK_STATE, type TreeImage } from './tree-images.js';

interface ContextInput extends RestoreOptions {
  log: Logger;
}

/** A thread's injector puts its trampoline this far past the leader's (both in the area's first page). */
const THREAD_SITE_OFFSET = 16n;

function withThreadOf<T>(tid: number, area: TaskArea, log: Logger, fn: (injector: Injector) => T): T {
  const injector = openInjector(tid, { site: area.site + THREAD_SITE_OFFSET, batchArea: area.batch, log });
  try {
    return fn(injector);
  } finally {
    injector.release();
  }
}

function scratchOf(pid: number, area: TaskArea): TaskScratch {
  return {
    addr: area.scratch,
    size: area.scratchSize,
    write: (buf, offset = 0) => putScratch(pid, area, buf, offset),
    read: (len, offset = 0) => {
      if (offset < 0 || offset + len > area.scratchSize) throw new RangeError(`scratch holds ${area.scratchSize} bytes, not ${offset}+${len}`);
      const buf = Buffer.alloc(len);
      if (readTaskMemory(pid, area.scratch + BigInt(offset), buf) !== len) throw new CriuError(`task ${pid}: short read from the restore scratch`);
      return buf;
    },
  };
}

export function makeRestoreContext(input: ContextInput, tree: TreeImage, set: TaskSet, area: TaskArea): RestoreContext {
  const shared = new Map<string, unknown>();
  const tasks: RestoreTask[] = tree.tasks.map((task) => ({
    pid: task.pid, ppid: task.ppid, pgid: task.pgid, sid: task.sid,
    threads: task.threads.map((thread) => thread.tid), zombie: task.state === TASK_STATE.DEAD,
    ...(task.filesId === undefined ? {} : { filesId: task.filesId }),
    ...(task.fdTableOwner === undefined ? {} : { fdTableOwner: task.fdTableOwner }),
  }));
  const { log, ...options } = input;
  const nsPids = new Map(tree.tasks.flatMap((task) => [[task.pid, task.nsPid] as const, ...task.threads.map((thread) => [thread.tid, thread.nsTid] as const)]));
  return {
    options: {
      imagesDir: options.imagesDir, shellJob: options.shellJob, leaveStopped: options.leaveStopped,
      fileLocks: options.fileLocks, tcpEstablished: options.tcpEstablished, tcpClose: options.tcpClose ?? false, inheritFds: options.inheritFds,
      extUnixSk: options.extUnixSk ?? false,
      fileValidation: options.fileValidation ?? 'buildid',
      orphanPtsMaster: options.orphanPtsMaster,
      external: options.external, vethPair: options.vethPair, joinNs: options.joinNs, emptyNs: options.emptyNs,
      root: options.root, extMountMap: options.extMountMap,
    },
    log,
    tasks,
    injector: (pid) => {
      const injector = set.injectors.get(pid);
      if (injector === undefined) throw new CriuError(`no open injector for pid ${pid}: it is not being restored now`);
      return injector;
    },
    scratch: (pid) => scratchOf(pid, area),
    shared: <T>(key: string, create: () => T): T => {
      if (!shared.has(key)) shared.set(key, create());
      return shared.get(key) as T;
    },
    withThread: (tid, fn) => withThreadOf(tid, area, log, fn),
    withThreads: (pid, tids, fn) => {
      const leader = set.injectors.get(pid);
      if (leader === undefined) throw new CriuError(`no open injector for pid ${pid}: it is not being restored now`);
      inThreadGroups(leader, tids, tids.length, log, (injectors) => fn(injectors));
    },
    nsPid: (pid) => nsPids.get(pid) ?? pid,
  };
}

/** Runs every kind's restore half for pid until all are done; throws if they stop making progress. */
export function runTaskKinds(ctx: RestoreContext, kinds: readonly TaskKind[], pid: number): void {
  const task = ctx.tasks.find((t) => t.pid === pid);
  if (task === undefined) throw new CriuError(`pid ${pid} is not in the tree`);
  let pending = kinds.filter((kind) => kind.restore !== undefined);
  while (pending.length > 0) {
    const waiting = pending.filter((kind) => {
      faultPoint(FAULT.RESTORE_KIND, kind.name);
      return kind.restore!(ctx, task) === 'retry';
    });
    if (waiting.length === pending.length) {
      throw new CriuError(`pid ${pid}: restore of ${waiting.map((kind) => kind.name).join(', ')} keeps waiting (a dependency never resolved)`);
    }
    pending = waiting;
  }
  for (const kind of kinds) kind.restoreLast?.(ctx, task);
}

// The engine's implementation of the kinds' DumpContext: shared image
// writers, object ids, injectors and shared tables for one dump.
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT, SyscallError, faultPoint, type Logger } from '@criu-ts/base';
import { createImage, imagePath, kindOfFileName, type ImageWriter, type KindName } from '@criu-ts/images';
import { openInjector, type Injector } from '@criu-ts/inject';
import { emptyStats, type DumpContext, type DumpOptions, type DumpTask, type PageSink, type PageStream } from '@criu-ts/kinds';

export interface EngineContext extends DumpContext {
  /** Flush, fsync and close every shared image. */
  closeImages(): void;
  /** Put every injected-into thread back (code, mask, registers). Never throws. */
  releaseInjectors(): void;
  /** Undo what kinds registered with onAbort, close the shared images and remove every image this dump created (after a failure). */
  discardImages(): void;
  /** Run what kinds registered with onRunOn, newest first (the tree goes on running). Never throws. */
  runOn(): void;
}

/** Where page data goes instead of local pagemap/pages images. */
export interface PageOutputs {
  /** --page-server: pagemaps and page data */
  pageSink?: PageSink;
  /** --stream: each task's pages image, into the stream while it is dumped */
  pageStream?: PageStream;
  /** this dump's run id (inventory's dump_criu_run_id) */
  runId?: string;
}

export function createEngineContext(
  options: DumpOptions, log: Logger, tasks: readonly DumpTask[], outputs: PageOutputs = {}, prepared: Record<string, unknown> = {},
): EngineContext {
  const writers = new Map<string, ImageWriter>();
  const nsPids = nsPidTable(tasks);
  const injectors = new Map<number, Injector>();
  const tables = new Map<string, unknown>(Object.entries(prepared));
  const before = new Set(readdirSync(options.imagesDir));
  const undos: (() => void)[] = [];
  const runOnUndos: (() => void)[] = [];
  let lastId = 0;

  const image = (kind: KindName, id?: number | bigint): ImageWriter => {
    const path = imagePath(options.imagesDir, kind, id);
    let writer = writers.get(path);
    if (writer === undefined) {
      writer = createImage(path, kind);
      writers.set(path, writer);
    }
    return writer;
  };

  return {
    options,
    log,
    pageSink: outputs.pageSink,
    pageStream: outputs.pageStream,
    stats: emptyStats(),
    tasks,
    image,
    nextId: () => ++lastId,
    nsPid: (pid) => nsPids.get(pid) ?? pid,
    injector(tid) {
      let injector = injectors.get(tid);
      if (injector === undefined) {
        faultPoint(FAULT.PARASITE_CONNECT);
        injector = openInjector(tid, { log: log.child('inject') });
        injectors.set(tid, injector);
      }
      return injector;
    },
    onAbort(undo) {
      undos.push(undo);
    },
    runId: outputs.runId,
    onRunOn(undo) {
      runOnUndos.push(undo);
    },
    runOn() {
      for (const undo of runOnUndos.splice(0).reverse()) {
        try {
          undo();
        } catch (error) {
          log.warn(`could not undo a change before the tree runs on: ${String(error)}`);
        }
      }
    },
    shared<T>(key: string, create: () => T): T {
      if (!tables.has(key)) tables.set(key, create());
      return tables.get(key) as T;
    },
    closeImages() {
      for (const writer of writers.values()) writer.close();
    },
    releaseInjectors() {
      for (const [tid, injector] of injectors) {
        try {
          injector.release();
        } catch (error) {
          log.error(`could not put thread ${tid} back after injection: ${String(error)}`);
        }
      }
      injectors.clear();
    },
    discardImages() {
      for (const undo of undos.splice(0).reverse()) {
        try {
          undo();
        } catch (error) {
          log.warn(`could not undo a change after the failed dump: ${String(error)}`);
        }
      }
      for (const [path, writer] of writers) {
        try {
          writer.close();
        } catch (error) {
          log.debug(`closing ${path} after failure: ${String(error)}`);
        }
      }
      writers.clear();
      for (const name of readdirSync(options.imagesDir)) {
        if (before.has(name) || kindOfFileName(name) === undefined) continue;
        try {
          unlinkSync(join(options.imagesDir, name));
        } catch (error) {
          log.warn(`could not remove ${name}: ${String(error)}`);
        }
      }
    },
  };
}

/** Every pid and tid of the tree → its number in the tree's pid namespace (the frozen tree's NSpid). */
function nsPidTable(tasks: readonly DumpTask[]): Map<number, number> {
  const table = new Map<number, number>();
  for (const task of tasks) {
    if (task.ns !== undefined) table.set(task.pid, task.ns.pid);
    for (const thread of task.threads) if (thread.nsTid !== undefined) table.set(thread.tid, thread.nsTid);
  }
  return table;
}

/** Rethrow anything that is not "the task is gone". */
export function isGone(error: unknown): boolean {
  return error instanceof SyscallError && error.code === 'ESRCH';
}

// Test harness: freeze a live task with the dump engine's freezeTree and
// run one kind on it with a minimal DumpContext, releasing everything in
// t.teardown. Shared by the memory kind's live tests.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { createLogger, type Logger } from '@criu-ts/base';
import { createImage, imagePath, type ImageWriter, type KindName } from '@criu-ts/images';
import { openInjector, type Injector } from '@criu-ts/inject';
import { freezeTree } from '../../../dump/src/freeze.js';
import { releaseThreads } from '../../../dump/src/thread-stop.js';
import { emptyStats, type DumpContext, type DumpTask } from '../dump-context.js';

export const fixturesDir = join(import.meta.dirname, '..', '..', '..', '..', 'e2e', 'fixtures');

export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-mem-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function compile(name: string, dir: string): string {
  const out = join(dir, name);
  execFileSync('gcc', ['-O1', '-Wall', '-o', out, join(fixturesDir, `${name}.c`)], { timeout: 60_000 });
  return out;
}

/** Start a fixture and wait (bounded) until it prints a line matching `ready`. */
export async function start(t: Test, bin: string, args: string[], ready: RegExp): Promise<{ pid: number; output: () => string }> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const deadline = Date.now() + 10_000;
  while (!ready.test(out)) {
    if (Date.now() > deadline) throw new Error(`fixture ${bin} never printed ${ready}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { pid: child.pid ?? -1, output: () => out };
}

export interface LiveDump {
  ctx: DumpContext;
  task: DumpTask;
  /** close shared images, release injectors, detach threads */
  finish(): void;
}

function quietLogger(): Logger {
  return createLogger({ fd: 2, level: 1, withPid: false, start: process.hrtime.bigint() }, 'test');
}

/** Freeze pid and give a DumpContext writing into dir; t.teardown undoes it all. */
export function freezeForDump(t: Test, pid: number, dir: string): LiveDump {
  const log = quietLogger();
  const tree = freezeTree(pid, { log, timeoutMs: 5000 });
  const writers = new Map<string, ImageWriter>();
  const injectors = new Map<number, Injector>();
  const tables = new Map<string, unknown>();
  let lastId = 0;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    try {
      for (const w of writers.values()) w.close();
      for (const inj of injectors.values()) inj.release();
    } finally {
      releaseThreads(tree.tasks.flatMap((task) => task.threads), log);
    }
  };
  t.teardown(finish);
  const ctx: DumpContext = {
    options: {
      imagesDir: dir, shellJob: false, ghostLimit: 1 << 20, linkRemap: false, fileLocks: false,
      tcpEstablished: false, extUnixSk: false, fileValidation: 'filesize', preDump: false,
    },
    log,
    stats: emptyStats(),
    tasks: tree.tasks,
    image: (kind: KindName, id?: number | bigint) => {
      const path = imagePath(dir, kind, id);
      let w = writers.get(path);
      if (w === undefined) writers.set(path, (w = createImage(path, kind)));
      return w;
    },
    nextId: () => ++lastId,
    injector: (tid) => {
      let inj = injectors.get(tid);
      if (inj === undefined) injectors.set(tid, (inj = openInjector(tid, { log })));
      return inj;
    },
    shared<T>(key: string, create: () => T): T {
      if (!tables.has(key)) tables.set(key, create());
      return tables.get(key) as T;
    },
  };
  return { ctx, task: tree.tasks[0]!, finish };
}

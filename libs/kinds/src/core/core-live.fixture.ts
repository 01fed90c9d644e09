// Test support (not built): start e2e/fixtures/core-state.c (or a shell
// script) as a task that is not node's direct child, freeze it with ptrace,
// and give the core kind a small DumpContext of our own.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, SyscallError } from '@criu-ts/base';
import { openInjector, type Injector } from '@criu-ts/inject';
import {
  PR, WAIT, prctl, ptraceDetach, ptraceGetRegs, ptraceGetSigmask, ptraceInterrupt, ptraceSeize, sleepSync, waitpidWithin, type X86Regs,
} from '@criu-ts/kernel';
import { listTasks, readStat } from '@criu-ts/proc';
import { emptyStats, type DumpContext, type DumpTask } from '../dump-context.js';
import { killAndReap } from '../../../kernel/test/target.js';


export const FIXTURE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../e2e/fixtures/core-state.c');
export type Teardowns = { teardown(fn: () => void | Promise<void>): void };

export function tempDir(t: Teardowns): string {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-core-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** SIGKILL pid and reap it once it is our child (bounded): the kernel tests' helper. */
export { killAndReap };

/** Runs `script` in sh (not node's child, so libuv cannot reap its stops); its first line is the pid to kill. */
export function startInBackground(t: Teardowns, dir: string, script: string, args: string[]): { pid: number; out: string } {
  prctl(PR.SET_CHILD_SUBREAPER, 1);
  const out = join(dir, 'out');
  const sh = spawnSync('sh', ['-c', script, 'sh', ...args], { env: { ...process.env, OUT: out }, encoding: 'utf8' });
  const pid = Number(sh.stdout.trim().split('\n')[0]);
  if (!(pid > 0)) throw new Error(`could not start: ${sh.stderr}`);
  t.teardown(() => killAndReap(pid));
  return { pid, out };
}

export function waitLine(path: string, re: RegExp): RegExpMatchArray {
  for (const end = Date.now() + 5000; Date.now() < end; sleepSync(10)) {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
    }
    const m = re.exec(text);
    if (m !== null) return m;
  }
  throw new Error(`no ${re} in ${path}`);
}

export interface Frozen {
  task: DumpTask;
  regs: Map<number, X86Regs>;
  masks: Map<number, bigint>;
}

export function freeze(t: Teardowns, pid: number): Frozen {
  const tids = listTasks(pid);
  for (const tid of tids) {
    ptraceSeize(tid);
    t.teardown(() => {
      try {
        ptraceDetach(tid);
      } catch (error) {
        if (!(error instanceof SyscallError && error.code === 'ESRCH')) throw error;
      }
    });
    ptraceInterrupt(tid);
    waitpidWithin(tid, WAIT.__WALL, 5000);
  }
  const stat = readStat(pid);
  const threads = tids.map((tid) => ({ tid, pendingStopSignal: 0 }));
  const task: DumpTask = { pid, ppid: stat.ppid, pgid: stat.pgrp, sid: stat.session, threads, zombie: false, wasStopped: false, exitCode: 0 };
  return { task, regs: new Map(tids.map((tid) => [tid, ptraceGetRegs(tid)])), masks: new Map(tids.map((tid) => [tid, ptraceGetSigmask(tid)])) };
}

export function testContext(dir: string, tasks: DumpTask[]): DumpContext & { release(): void } {
  const injectors = new Map<number, Injector>();
  const tables = new Map<string, unknown>();
  const log = createLogger({ fd: 2, level: 2, withPid: false, start: process.hrtime.bigint() }, 'test');
  let id = 0;
  return {
    options: { imagesDir: dir, shellJob: true, ghostLimit: 0, linkRemap: false, fileLocks: false, tcpEstablished: false, extUnixSk: false, fileValidation: 'filesize', preDump: false },
    log,
    stats: emptyStats(),
    tasks,
    image: () => {
      throw new Error('the core kind writes no shared image');
    },
    nextId: () => ++id,
    injector(tid) {
      let injector = injectors.get(tid);
      if (injector === undefined) injectors.set(tid, (injector = openInjector(tid)));
      return injector;
    },
    shared<T>(key: string, create: () => T): T {
      if (!tables.has(key)) tables.set(key, create());
      return tables.get(key) as T;
    },
    release() {
      for (const injector of injectors.values()) injector.release();
      injectors.clear();
    },
  };
}

export function crit(path: string): void {
  execFileSync('/usr/bin/crit', ['decode', '-i', path], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

export function limits(pid: number): Map<string, [bigint, bigint]> {
  const out = new Map<string, [bigint, bigint]>();
  for (const line of readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').slice(1)) {
    const m = /^(.+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m === null) continue;
    const v = (s: string): bigint => (s === 'unlimited' ? 0xffffffffffffffffn : BigInt(s));
    out.set(m[1]!, [v(m[2]!), v(m[3]!)]);
  }
  return out;
}


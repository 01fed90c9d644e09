// Test support (not built, not shipped): compile native/fixtures/kernel-target.c
// and start it as a task that is NOT node's direct child, so libuv never
// waits for it and cannot swallow its ptrace stops. The test process
// becomes a child subreaper, so the orphaned target is reparented to it
// and is reaped here after it is killed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyscallError } from '@criu-ts/base';
import {
  PR, SIG, SYS, WAIT, kill, prctl, ptraceInterrupt, ptraceSeize, sleepSync, waitpid, waitpidWithin, wifexited, wifsignaled,
} from '../src/index.js';

const FIXTURE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../native/fixtures/kernel-target.c');

/** The minimal slice of a tap Test these helpers use. */
export interface Teardowns {
  teardown(fn: () => void | Promise<void>): void;
}

export interface TargetState {
  buf: bigint;
  len: number;
  ro: bigint;
  pipeR: number;
  fdA: number;
  fdB: number;
  fdC: number;
}

export interface Target {
  pid: number;
  dir: string;
  state: TargetState;
  output(): string;
  /** polls the output until re matches (bounded) */
  waitFor(re: RegExp, timeoutMs?: number): RegExpMatchArray;
}

/** A temp dir removed at teardown. */
export function tempDir(t: Teardowns, prefix = 'criu-ts-kernel-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Compiles the fixture into dir with gcc. */
export function compileFixture(dir: string): string {
  const exe = join(dir, 'kernel-target');
  execFileSync('gcc', ['-O1', '-o', exe, FIXTURE], { stdio: 'pipe' });
  return exe;
}

function parseState(line: string): TargetState {
  const field = (name: string): string => {
    const m = new RegExp(`${name}=(\\S+)`).exec(line);
    if (m === null) throw new Error(`fixture line lacks ${name}: ${line}`);
    return m[1]!;
  };
  return {
    buf: BigInt(field('buf')),
    len: Number(field('len')),
    ro: BigInt(field('ro')),
    pipeR: Number(field('pipe_r')),
    fdA: Number(field('fd_a')),
    fdB: Number(field('fd_b')),
    fdC: Number(field('fd_c')),
  };
}

/** Kills pid and reaps it if it became our child; bounded. */
export function killAndReap(pid: number): void {
  // kill(0 or -N) would signal a whole process group, the test's own included
  if (!(pid > 0)) throw new Error(`killAndReap: ${pid} is not a pid`);
  try {
    kill(pid, SIG.KILL);
  } catch (error) {
    if (!(error instanceof SyscallError && error.code === 'ESRCH')) throw error;
  }
  for (let i = 0; i < 500; i++) {
    let got;
    try {
      got = waitpid(pid, WAIT.__WALL | WAIT.WNOHANG);
    } catch (error) {
      if (error instanceof SyscallError && error.code === 'ECHILD') return;
      throw error;
    }
    if (got !== null && (wifexited(got.status) || wifsignaled(got.status))) return;
    if (got === null) sleepSync(10);
  }
}

/** Starts the fixture (mode and args) in the background; killed and reaped at teardown. */
export function startTarget(t: Teardowns, args: string[] = ['idle']): Target {
  prctl(PR.SET_CHILD_SUBREAPER, 1);
  const dir = tempDir(t, 'criu-ts-target-');
  const exe = compileFixture(dir);
  const out = join(dir, 'out');
  const sh = spawnSync('sh', ['-c', '"$0" "$@" >"$OUT" 2>&1 </dev/null & echo $!', exe, ...args], {
    env: { ...process.env, OUT: out },
    encoding: 'utf8',
  });
  const pid = Number(sh.stdout.trim());
  if (!(pid > 0)) throw new Error(`fixture did not start: ${sh.stderr}`);
  t.teardown(() => killAndReap(pid));
  const output = (): string => {
    try {
      return readFileSync(out, 'utf8');
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return '';
      throw error;
    }
  };
  const waitFor = (re: RegExp, timeoutMs = 5000): RegExpMatchArray => {
    for (const end = Date.now() + timeoutMs; Date.now() < end; sleepSync(5)) {
      const m = re.exec(output());
      if (m !== null) return m;
    }
    throw new Error(`fixture ${pid}: no ${re} in output within ${timeoutMs} ms: ${output()}`);
  };
  const ready = waitFor(/^ready .*$/m);
  waitBlockedIn(pid, BLOCKING_SYSCALL[args[0] ?? 'idle'] ?? -1);
  return { pid, dir, state: parseState(ready[0]), output, waitFor };
}

/** The syscall each fixture mode ends up blocked in, after printing "ready". */
const BLOCKING_SYSCALL: Record<string, number> = { idle: SYS.clock_nanosleep, nanosleep: SYS.clock_nanosleep, read: SYS.read };

/** Polls /proc/PID/syscall (bounded) until the task sleeps inside syscall nr. */
export function waitBlockedIn(pid: number, nr: number): void {
  let seen = '';
  for (const end = Date.now() + 5000; Date.now() < end; sleepSync(2)) {
    seen = readFileSync(`/proc/${pid}/syscall`, 'utf8');
    if (seen.split(' ')[0] === String(nr)) return;
  }
  throw new Error(`fixture ${pid} is not blocked in syscall ${nr}: /proc/${pid}/syscall reads ${seen}`);
}

/** A pid that existed and is gone (reaped): its calls fail with ESRCH. */
export function deadPid(): number {
  const child = spawnSync('true');
  if (child.pid === undefined) throw new Error('could not run true');
  return child.pid;
}

/** PTRACE_SEIZE + PTRACE_INTERRUPT + a bounded wait for the stop; returns the wait status. */
export function seizeAndStop(pid: number, options = 0): number {
  ptraceSeize(pid, options);
  ptraceInterrupt(pid);
  return waitpidWithin(pid, WAIT.__WALL, 5000).status;
}

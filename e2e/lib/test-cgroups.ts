// Cgroups for a test, made on this machine's layout and removed again
// however the test ends: a cgroup named criu-ts-test-PID-N in the pids
// (pids.max, and a child cgroup 'sub' for the workload's child), cpu
// (cpu.shares) and freezer hierarchies, in the v2 hierarchy
// (cgroup.max.descendants), and in memory under the test's own memory
// cgroup (memory.limit_in_bytes: a task moved there stays inside the
// limits the test runs under). This is the hybrid layout (v1 controllers
// under /sys/fs/cgroup/NAME, v2 at /sys/fs/cgroup/unified); on a machine
// without it the tests say so and skip.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleepSync } from '@criu-ts/kernel';
import type { Teardowns } from '../../libs/restore/test/live.js';

const V1 = '/sys/fs/cgroup';
const V2 = '/sys/fs/cgroup/unified';

/** A reason to skip, or false where the layout is there. */
export function skipWithoutHybridCgroups(): string | false {
  for (const dir of ['pids', 'cpu', 'memory', 'freezer']) if (!existsSync(join(V1, dir, 'cgroup.procs'))) return `skipped: no cgroup v1 ${dir} hierarchy at ${V1}/${dir}`;
  if (!existsSync(join(V2, 'cgroup.procs'))) return `skipped: no cgroup v2 hierarchy at ${V2}`;
  return false;
}

/** The path of this process's cgroup in a hierarchy ('memory', or '' for v2). */
export function ownCgroup(name: string, pid: number | 'self' = 'self'): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1] === name);
  if (line === undefined) throw new Error(`pid ${pid} is in no ${name || 'v2'} cgroup`);
  return line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
}

export interface TestCgroups {
  name: string;
  /** hierarchy → the cgroup's path in it (as /proc/PID/cgroup shows it) */
  paths: { pids: string; pidsSub: string; cpu: string; memory: string; freezer: string; v2: string };
  /** the directories, by the same keys */
  dirs: { pids: string; pidsSub: string; cpu: string; memory: string; freezer: string; v2: string };
  /** where a task joins (the parent: every one but pidsSub) */
  parentDirs: string[];
  /** makes the cgroups and sets their properties */
  make(): void;
  /** removes them (deepest first), waiting a bounded time for a cgroup still busy */
  remove(): void;
}

let made = 0;

/** SIGKILL every task in a cgroup and below (only the test's own tasks are in its cgroups). */
function killInside(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) killInside(join(dir, entry.name));
  for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l !== '')) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

function rmTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) rmTree(join(dir, entry.name));
  for (let end = Date.now() + 5000; ; sleepSync(20)) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > end) throw error;
    }
  }
}

/** Test cgroups, removed on teardown (with `extra` directories the test makes, e.g. a --cgroup-root). */
export function testCgroups(t: Teardowns, extra: string[] = []): TestCgroups {
  const name = `criu-ts-test-${process.pid}-${++made}`;
  const memory = `${ownCgroup('memory').replace(/\/$/, '')}/${name}`;
  const paths = { pids: `/${name}`, pidsSub: `/${name}/sub`, cpu: `/${name}`, memory, freezer: `/${name}`, v2: `/${name}` };
  const dirs = {
    pids: join(V1, 'pids', name), pidsSub: join(V1, 'pids', name, 'sub'), cpu: join(V1, 'cpu', name),
    memory: join(V1, 'memory', memory), freezer: join(V1, 'freezer', name), v2: join(V2, name),
  };
  const cgroups: TestCgroups = {
    name, paths, dirs,
    parentDirs: [dirs.pids, dirs.cpu, dirs.memory, dirs.freezer, dirs.v2],
    make() {
      for (const dir of [dirs.pids, dirs.pidsSub, dirs.cpu, dirs.memory, dirs.freezer, dirs.v2]) mkdirSync(dir, { recursive: true });
      writeFileSync(join(dirs.pids, 'pids.max'), '50');
      writeFileSync(join(dirs.pidsSub, 'pids.max'), '20');
      writeFileSync(join(dirs.cpu, 'cpu.shares'), '512');
      writeFileSync(join(dirs.memory, 'memory.limit_in_bytes'), String(256 << 20));
      writeFileSync(join(dirs.v2, 'cgroup.max.descendants'), '5');
    },
    remove() {
      const all = [dirs.pids, dirs.cpu, dirs.memory, dirs.freezer, dirs.v2, ...extra];
      // a frozen cgroup's tasks die only once thawed
      if (existsSync(join(dirs.freezer, 'freezer.state'))) writeFileSync(join(dirs.freezer, 'freezer.state'), 'THAWED');
      all.forEach(killInside);
      all.forEach(rmTree);
    },
  };
  t.teardown(() => cgroups.remove());
  cgroups.make();
  return cgroups;
}

/** A property of a cgroup, trimmed. */
export function prop(dir: string, name: string): string {
  return readFileSync(join(dir, name), 'utf8').trim();
}

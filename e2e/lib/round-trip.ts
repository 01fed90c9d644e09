// Round trips as users make them: criu-dump by its workspace path (the tree
// is killed), then wait until every dumped task is gone so that its pids
// are free for criu-restore. Every wait is bounded; every task is killed
// again on teardown.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { alive, killAndReap, waitFor, type Teardowns } from '../../libs/restore/test/live.js';
import { toolPath } from './workspace.js';

export interface DumpAndKillOptions {
  /** the images directory's name inside dir (default 'img') */
  name?: string;
  /** more criu-dump arguments */
  args?: readonly string[];
  timeoutMs?: number;
}

/** criu-dump -t pid into dir/NAME; reaps and waits until every dumped tid is gone. */
export function dumpAndKill(t: Teardowns, dir: string, pid: number, options: DumpAndKillOptions = {}): string {
  const images = join(dir, options.name ?? 'img');
  mkdirSync(images);
  const args = [toolPath('criu-dump'), '-t', String(pid), '-D', images, '-v4', '-o', 'dump.log', ...(options.args ?? [])];
  const run = spawnSync(process.execPath, args, { timeout: options.timeoutMs ?? 120_000 });
  if (run.status !== 0) {
    const log = existsSync(join(images, 'dump.log')) ? readFileSync(join(images, 'dump.log'), 'utf8').slice(-3000) : `(no dump.log) ${String(run.stderr).slice(-3000)}`;
    throw new Error(`criu-dump failed (${run.status ?? run.signal}): ${log}`);
  }
  const tids = readEntries(images, 'pstree').flatMap((entry) => (entry.threads ?? []).filter((tid) => tid > 0));
  for (const tid of tids) killAndReap(tid);
  waitFor('the dumped tasks to be gone', () => tids.every((tid) => !alive(tid)), 20_000);
  t.teardown(() => tids.forEach(killAndReap));
  return images;
}

export interface Ids {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
}

export function idsOf(pid: number): Ids {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]) };
}

/** The ids of pid and every descendant, parents first. */
export function treeOf(pid: number): Ids[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return [idsOf(pid), ...(children === '' ? [] : children.split(' ').map(Number)).flatMap(treeOf)];
}

// The few /proc facts the freezer needs about a task, read tolerantly: a
// task that vanished gives undefined or an empty list, never an error.
import { readdirSync, readFileSync } from 'node:fs';

export interface TaskStat {
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  tracerPid: number;
  exitCode: number;
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw error;
  }
}

export function readTaskStat(pid: number): TaskStat | undefined {
  const stat = readIfThere(`/proc/${pid}/stat`);
  const status = readIfThere(`/proc/${pid}/status`);
  if (stat === undefined || status === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
  const tracer = /^TracerPid:\s*(\d+)/m.exec(status);
  return {
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    tracerPid: tracer ? Number(tracer[1]) : 0,
    exitCode: Number(fields[49] ?? 0),
  };
}

export function listThreads(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Children of a task: the union of its threads' children lists. */
export function listChildren(pid: number, tids: number[]): number[] {
  const children = new Set<number>();
  for (const tid of tids) {
    const text = readIfThere(`/proc/${pid}/task/${tid}/children`) ?? '';
    for (const word of text.split(' ')) if (word !== '' && word !== '\n') children.add(Number(word));
  }
  return [...children].sort((a, b) => a - b);
}

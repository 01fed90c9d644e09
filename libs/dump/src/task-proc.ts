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
  /** the last of NSpid, NSpgid, NSsid: ids in the task's own pid namespace */
  ns: { pid: number; pgid: number; sid: number };
}

/** The last number of a status line such as "NSpid:\t4242\t1" (the innermost namespace's); fallback without the line. */
function innermost(status: string, key: string, fallback: number): number {
  const m = new RegExp(`^${key}:([\\t \\d]*)$`, 'm').exec(status);
  const last = m?.[1]?.trim().split(/\s+/).pop();
  return last === undefined || last === '' ? fallback : Number(last);
}

/** A thread's tid in its own pid namespace; undefined if it is gone. */
export function readNsTid(pid: number, tid: number): number | undefined {
  const status = readIfThere(`/proc/${pid}/task/${tid}/status`);
  return status === undefined ? undefined : innermost(status, 'NSpid', tid);
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
    ns: { pid: innermost(status, 'NSpid', pid), pgid: innermost(status, 'NSpgid', Number(fields[2])), sid: innermost(status, 'NSsid', Number(fields[3])) },
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

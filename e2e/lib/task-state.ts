// What a test checks about a workload after a dump: it is still there,
// running (not stopped, not traced) and unchanged.
import { readFileSync } from 'node:fs';

export interface TaskState {
  state: string;
  tracerPid: number;
}

export function taskState(pid: number): TaskState | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const state = /^State:\s*(\S)/m.exec(status)?.[1] ?? '?';
  const tracerPid = Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1] ?? 0);
  return { state, tracerPid };
}

/** A compact description of a task's mappings, to compare before and after. */
export function mapsOf(pid: number): string {
  return readFileSync(`/proc/${pid}/maps`, 'utf8');
}

/** The fd numbers a task has open, with their targets. */
export function fdsOf(pid: number): string {
  return readFileSync(`/proc/${pid}/status`, 'utf8').match(/^FDSize.*$/m)?.[0] ?? '';
}

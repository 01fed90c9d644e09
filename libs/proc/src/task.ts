// Small per-task /proc files: the thread list, children, cwd/root/exe
// links, loginuid, oom_score_adj, personality, cmdline and environ.
import { decimal, hexNum, malformed, procPath, readProcBuffer, readProcDir, readProcLink, readProcText, type Source } from './proc-files.js';

/** loginuid when none was ever set. */
export const LOGINUID_UNSET = 4294967295;

function numbers(text: string, source: Source): number[] {
  return text.split(/\s+/).filter((s) => s !== '').map((s) => decimal(s, source, 1, 'pid'));
}

/** Thread ids of a process (/proc/PID/task), ascending. */
export function listTasks(pid: number): number[] {
  const path = procPath(pid, 'task');
  return readProcDir(pid, path)
    .map((name) => decimal(name, path, undefined, 'tid'))
    .sort((a, b) => a - b);
}

/** Parses /proc/PID/task/TID/children: space-separated pids. */
export function parseChildren(text: string, source: Source = 'children'): number[] {
  return numbers(text, source);
}

/** Children of one thread (CONFIG_PROC_CHILDREN); a process's children are the union over its threads. */
export function readChildren(pid: number, tid: number = pid): number[] {
  const path = procPath(pid, 'children', tid);
  return parseChildren(readProcText(pid, path), path);
}

export const readCwd = (pid: number): string => readProcLink(pid, procPath(pid, 'cwd'));
export const readRoot = (pid: number): string => readProcLink(pid, procPath(pid, 'root'));
export const readExe = (pid: number): string => readProcLink(pid, procPath(pid, 'exe'));

function oneNumber(text: string, source: Source, parse: typeof decimal): number {
  return parse(text.trim(), source, 1, 'value');
}

export function readLoginuid(pid: number): number {
  const path = procPath(pid, 'loginuid');
  return oneNumber(readProcText(pid, path), path, decimal);
}

export function readOomScoreAdj(pid: number): number {
  const path = procPath(pid, 'oom_score_adj');
  return oneNumber(readProcText(pid, path), path, decimal);
}

/** Parses /proc/PID/personality: 8 hex digits (personality(2)). */
export function parsePersonality(text: string, source: Source = 'personality'): number {
  return oneNumber(text, source, hexNum);
}

export function readPersonality(pid: number): number {
  const path = procPath(pid, 'personality');
  return parsePersonality(readProcText(pid, path), path);
}

/**
 * Splits NUL-terminated strings (cmdline, environ). A missing final NUL
 * (a process that rewrote its argv) still yields the last string.
 */
export function splitNul(data: Uint8Array): string[] {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  if (text === '') return [];
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export const readCmdline = (pid: number): string[] => splitNul(readProcBuffer(pid, procPath(pid, 'cmdline')));
export const readEnviron = (pid: number): string[] => splitNul(readProcBuffer(pid, procPath(pid, 'environ')));

/** environ entries as NAME → value; an entry without '=' is malformed. */
export function environToRecord(entries: string[], source: Source = 'environ'): Record<string, string> {
  const env: Record<string, string> = {};
  entries.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw malformed(source, i + 1, 'not NAME=value', entry);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  });
  return env;
}

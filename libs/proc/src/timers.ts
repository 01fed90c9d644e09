// /proc/PID/timers: the POSIX timers of a process (timer_create(2)), four
// lines each:  ID: 0 / signal: 12/00007ffc... / notify: signal/pid.42 / ClockID: 1
import { decimal, hexBig, malformed, procPath, readProcText, type Source } from './proc-files.js';

export interface PosixTimer {
  ID: number;
  /** sigev_signo */
  signal: number;
  /** sigev_value (as a pointer) */
  sigev_value: bigint;
  /** sigev_notify without SIGEV_THREAD_ID: 'signal', 'none' or 'thread' */
  notify: string;
  /** SIGEV_THREAD_ID was set: the signal goes to thread `notify_pid` */
  thread_id: boolean;
  /** the pid (or tid) notified */
  notify_pid: number;
  ClockID: number;
}

const LINES: readonly string[] = ['ID', 'signal', 'notify', 'ClockID'];

function value(lines: string[], at: number, key: string, source: Source): string {
  const line = lines[at] ?? '';
  if (!line.startsWith(`${key}: `)) throw malformed(source, at + 1, `want a ${key}: line`, line);
  return line.slice(key.length + 2);
}

function timerAt(lines: string[], at: number, source: Source): PosixTimer {
  const [id, signal, notify, clock] = LINES.map((key, k) => value(lines, at + k, key, source));
  const sig = /^(\d+)\/([0-9a-f]+)$/.exec(signal);
  const how = /^([a-z]+)\/(pid|tid)\.(-?\d+)$/.exec(notify);
  if (sig === null) throw malformed(source, at + 2, 'signal is not "N/value"', signal);
  if (how === null) throw malformed(source, at + 3, 'notify is not "how/pid.N"', notify);
  return {
    ID: decimal(id, source, at + 1, 'ID'),
    signal: Number(sig[1]),
    sigev_value: hexBig(sig[2], source, at + 2, 'signal value'),
    notify: how[1],
    thread_id: how[2] === 'tid',
    notify_pid: Number(how[3]),
    ClockID: decimal(clock, source, at + 4, 'ClockID'),
  };
}

export function parseTimers(text: string, source: Source = 'timers'): PosixTimer[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length % LINES.length !== 0) throw malformed(source, lines.length, 'timers come in blocks of 4 lines');
  const timers: PosixTimer[] = [];
  for (let at = 0; at < lines.length; at += LINES.length) timers.push(timerAt(lines, at, source));
  return timers;
}

export function readTimers(pid: number): PosixTimer[] {
  const path = procPath(pid, 'timers');
  return parseTimers(readProcText(pid, path), path);
}

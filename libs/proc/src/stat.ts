// /proc/PID/stat and /proc/PID/task/TID/stat: one line of space-separated
// fields, see proc_pid_stat(5). comm (field 2) may hold spaces and
// parentheses, so it runs from the first '(' to the LAST ')'.
import { malformed, procPath, readProcText, type Source } from './proc-files.js';

/** Fields 1-52 of proc_pid_stat(5), by its names; addresses and masks are bigint. */
export interface ProcStat {
  pid: number; comm: string; state: string; ppid: number; pgrp: number; session: number;
  tty_nr: number; tpgid: number; flags: number; minflt: number; cminflt: number; majflt: number;
  cmajflt: number; utime: number; stime: number; cutime: number; cstime: number; priority: number;
  nice: number; num_threads: number; itrealvalue: number; starttime: number; vsize: bigint;
  rss: number; rsslim: bigint; startcode: bigint; endcode: bigint; startstack: bigint;
  kstkesp: bigint; kstkeip: bigint; signal: bigint; blocked: bigint; sigignore: bigint;
  sigcatch: bigint; wchan: bigint; nswap: number; cnswap: number; exit_signal: number;
  processor: number; rt_priority: number; policy: number; delayacct_blkio_ticks: number;
  guest_time: number; cguest_time: number; start_data: bigint; end_data: bigint;
  start_brk: bigint; arg_start: bigint; arg_end: bigint; env_start: bigint; env_end: bigint;
  exit_code: number;
}

type Kind = 'number' | 'bigint';

/** Fields 4 to 52 in order, with their JS type. */
const STAT_FIELDS: ReadonlyArray<readonly [keyof ProcStat, Kind]> = [
  ['ppid', 'number'], ['pgrp', 'number'], ['session', 'number'], ['tty_nr', 'number'],
  ['tpgid', 'number'], ['flags', 'number'], ['minflt', 'number'], ['cminflt', 'number'],
  ['majflt', 'number'], ['cmajflt', 'number'], ['utime', 'number'], ['stime', 'number'],
  ['cutime', 'number'], ['cstime', 'number'], ['priority', 'number'], ['nice', 'number'],
  ['num_threads', 'number'], ['itrealvalue', 'number'], ['starttime', 'number'],
  ['vsize', 'bigint'], ['rss', 'number'], ['rsslim', 'bigint'], ['startcode', 'bigint'],
  ['endcode', 'bigint'], ['startstack', 'bigint'], ['kstkesp', 'bigint'], ['kstkeip', 'bigint'],
  ['signal', 'bigint'], ['blocked', 'bigint'], ['sigignore', 'bigint'], ['sigcatch', 'bigint'],
  ['wchan', 'bigint'], ['nswap', 'number'], ['cnswap', 'number'], ['exit_signal', 'number'],
  ['processor', 'number'], ['rt_priority', 'number'], ['policy', 'number'],
  ['delayacct_blkio_ticks', 'number'], ['guest_time', 'number'], ['cguest_time', 'number'],
  ['start_data', 'bigint'], ['end_data', 'bigint'], ['start_brk', 'bigint'],
  ['arg_start', 'bigint'], ['arg_end', 'bigint'], ['env_start', 'bigint'], ['env_end', 'bigint'],
  ['exit_code', 'number'],
];

const INTEGER = /^-?\d+$/;

function convert(value: string, kind: Kind, name: string, source: Source): number | bigint {
  if (!INTEGER.test(value)) throw malformed(source, 1, `${name} is not a decimal number`, value);
  if (kind === 'bigint') return BigInt(value);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw malformed(source, 1, `${name} does not fit a number`, value);
  return n;
}

/** Parses the text of /proc/PID/stat (one line). */
export function parseStat(text: string, source: Source = 'stat'): ProcStat {
  const line = text.endsWith('\n') ? text.slice(0, -1) : text;
  const open = line.indexOf(' (');
  const close = line.lastIndexOf(') ');
  if (open < 0 || close < open) throw malformed(source, 1, 'no "(comm)" field', line);
  const rest = line.slice(close + 2).split(' ');
  if (rest.length < STAT_FIELDS.length + 1) throw malformed(source, 1, `${rest.length + 2} fields, want at least 52`, line);
  const stat: Record<string, number | bigint | string> = {
    pid: convert(line.slice(0, open), 'number', 'pid', source),
    comm: line.slice(open + 2, close),
    state: rest[0],
  };
  STAT_FIELDS.forEach(([name, kind], i) => {
    stat[name] = convert(rest[i + 1], kind, name, source);
  });
  return stat as unknown as ProcStat;
}

export function readStat(pid: number, tid?: number): ProcStat {
  const path = procPath(pid, 'stat', tid);
  return parseStat(readProcText(pid, path), path);
}

// /proc/PID/fdinfo/N: pos, flags (octal), mnt_id, ino, then lines that
// depend on the file (fdinfo-kinds.ts) and "lock:" lines for its locks,
// see proc_pid_fdinfo(5).
import { emptyKind, FDINFO_KINDS, type FdinfoKind, type FdinfoLines, type KeyValues } from './fdinfo-kinds.js';
import { decimal, decimalBig, malformed, octal, procPath, readProcText, type Source } from './proc-files.js';

/** One "lock:" line: a lock this open file holds (same text as /proc/locks). */
export interface FileLock {
  id: number;
  /** FLOCK, POSIX, OFDLCK, ACCESS, LEASE, DELEG */
  type: string;
  /** ADVISORY, MANDATORY; for leases ACTIVE, BREAKING, BREAKER */
  mode: string;
  /** READ, WRITE or UNLCK */
  access: string;
  /** owner pid; -1 for OFD locks */
  pid: number;
  major: number;
  minor: number;
  inode: number;
  start: bigint;
  /** last byte, or undefined for "EOF" (to the end of the file) */
  end: bigint | undefined;
}

export interface FdinfoCommon {
  pos: bigint;
  /** open(2) flags, printed in octal by the kernel */
  flags: number;
  mnt_id: number;
  /** absent before Linux 5.3 */
  ino: number | undefined;
  locks: FileLock[];
  /** every single "key: value" line by key, as shown */
  fields: Record<string, string>;
  /** every non-empty line */
  lines: string[];
}

/** fdinfo: the common part plus what the kind of file adds, told apart by `kind`. */
export type Fdinfo = FdinfoCommon & FdinfoKind;

export interface FdinfoOptions {
  /** names the text in error messages */
  source?: Source;
  /**
   * What the fd's link says it is, for kinds whose fdinfo is empty when
   * nothing is registered: an epoll set with no targets or an inotify
   * instance with no watches would otherwise read as 'plain'.
   */
  hint?: 'epoll' | 'inotify';
}

const KEY_VALUE = /([^\s:]+):\s*(\S+)/g;

function keyValues(line: string, lineNo: number): KeyValues {
  const values: Record<string, string> = {};
  for (const m of line.matchAll(KEY_VALUE)) values[m[1]] = m[2];
  return { line: lineNo, values };
}

function parseLock(text: string, source: Source, lineNo: number): FileLock {
  const t = text.trim().split(/\s+/);
  const dev = /^([0-9a-f]+):([0-9a-f]+):(\d+)$/.exec(t[5] ?? '');
  if (t.length !== 8 || !t[0].endsWith(':') || dev === null) throw malformed(source, lineNo, 'not a lock line', text);
  return {
    id: decimal(t[0].slice(0, -1), source, lineNo, 'lock id'),
    type: t[1],
    mode: t[2],
    access: t[3],
    pid: decimal(t[4], source, lineNo, 'lock pid'),
    major: parseInt(dev[1], 16),
    minor: parseInt(dev[2], 16),
    inode: decimal(dev[3], source, lineNo, 'lock inode'),
    start: decimalBig(t[6], source, lineNo, 'lock start'),
    end: t[7] === 'EOF' ? undefined : decimalBig(t[7], source, lineNo, 'lock end'),
  };
}

const LIST_PREFIXES: ReadonlyArray<readonly [string, 'tfd' | 'inotify' | 'fanotify']> = [
  ['tfd:', 'tfd'],
  ['inotify ', 'inotify'],
  ['fanotify ', 'fanotify'],
];

function splitFdinfo(text: string, source: Source): { l: FdinfoLines; locks: FileLock[]; lines: string[] } {
  const l: FdinfoLines = { fields: {}, fieldLine: {}, tfd: [], inotify: [], fanotify: [], source };
  const locks: FileLock[] = [];
  const lines: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    lines.push(line);
    if (line.startsWith('lock:')) {
      locks.push(parseLock(line.slice(5), source, i + 1));
      return;
    }
    const list = LIST_PREFIXES.find(([prefix]) => line.startsWith(prefix));
    if (list !== undefined) {
      l[list[1]].push(keyValues(line, i + 1));
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return; // free-form lines of other files (io_uring, drm) stay in `lines`
    const key = line.slice(0, colon);
    l.fields[key] = line.slice(colon + 1).trim();
    l.fieldLine[key] = i + 1;
  });
  return { l, locks, lines };
}

function required(l: FdinfoLines, key: string): string {
  const value = l.fields[key];
  if (value === undefined) throw malformed(l.source, undefined, `no ${key} line`);
  return value;
}

/** Parses the text of /proc/PID/fdinfo/N. */
export function parseFdinfo(text: string, options: FdinfoOptions = {}): Fdinfo {
  const source = options.source ?? 'fdinfo';
  const { l, locks, lines } = splitFdinfo(text, source);
  const descriptor = FDINFO_KINDS.find((d) => d.present(l));
  const kind: FdinfoKind = descriptor !== undefined ? descriptor.read(l) : options.hint !== undefined ? emptyKind(options.hint) : { kind: 'plain' };
  const ino = l.fields.ino;
  return {
    pos: decimalBig(required(l, 'pos'), source, l.fieldLine.pos, 'pos'),
    flags: octal(required(l, 'flags'), source, l.fieldLine.flags, 'flags'),
    mnt_id: decimal(required(l, 'mnt_id'), source, l.fieldLine.mnt_id, 'mnt_id'),
    ino: ino === undefined ? undefined : decimal(ino, source, l.fieldLine.ino, 'ino'),
    locks,
    fields: l.fields,
    lines,
    ...kind,
  };
}

export function readFdinfo(pid: number, fd: number, hint?: FdinfoOptions['hint']): Fdinfo {
  const path = procPath(pid, `fdinfo/${fd}`);
  return parseFdinfo(readProcText(pid, path), { source: path, hint });
}

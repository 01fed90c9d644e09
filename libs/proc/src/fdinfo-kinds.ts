// What /proc/PID/fdinfo/N adds after pos/flags/mnt_id/ino, per kind of
// file (see proc_pid_fdinfo(5)). Each kind is one descriptor: how to tell
// it is present and how to read it. Numbers keep the kernel's radix:
// eventfd-count, epoll events/data/ino/sdev, inotify and fanotify fields
// are hex; tfd and pos are decimal; settime flags are octal.
import { decimal, decimalBig, hexBig, hexNum, malformed, octal, type Source } from './proc-files.js';

/** One of the kernel's "key:value key:value" lines (tfd, inotify, fanotify), split. */
export interface KeyValues {
  /** 1-based line number in the fdinfo text */
  line: number;
  values: Record<string, string>;
}

export interface FdinfoLines {
  /** single "key: value" lines, by key */
  fields: Record<string, string>;
  /** the line number of each single field */
  fieldLine: Record<string, number>;
  /** "tfd: ..." lines (epoll targets) */
  tfd: KeyValues[];
  /** "inotify wd:..." lines */
  inotify: KeyValues[];
  /** "fanotify ..." lines */
  fanotify: KeyValues[];
  source: Source;
}

export interface FileHandle {
  type: number;
  /** f_handle bytes (fhandle-bytes long) */
  handle: Buffer;
}

export interface EpollTarget { tfd: number; events: number; data: bigint; pos: bigint; ino: number; sdev: number }
export interface InotifyWatch { wd: number; ino: number; sdev: number; mask: number; ignored_mask: number; fhandle: FileHandle | undefined }
export type FanotifyMark =
  | { target: 'inode'; ino: number; sdev: number; mflags: number; mask: number; ignored_mask: number; fhandle: FileHandle | undefined }
  | { target: 'mount'; mnt_id: number; mflags: number; mask: number; ignored_mask: number }
  | { target: 'filesystem'; sdev: number; mflags: number; mask: number; ignored_mask: number };
export interface TimeSpec { tv_sec: bigint; tv_nsec: number }

export type FdinfoKind =
  | { kind: 'eventfd'; count: bigint; id: number | undefined; semaphore: boolean | undefined }
  | { kind: 'epoll'; targets: EpollTarget[] }
  | { kind: 'signalfd'; sigmask: bigint }
  | { kind: 'timerfd'; clockid: number; ticks: bigint; settime_flags: number; it_value: TimeSpec; it_interval: TimeSpec }
  | { kind: 'inotify'; watches: InotifyWatch[] }
  | { kind: 'fanotify'; /** "fanotify flags:" (fanotify_init flags; `flags` is the open flags) */ fanotify_flags: number; event_flags: number; marks: FanotifyMark[] }
  | { kind: 'pidfd'; Pid: number; NSpid: number[] }
  | { kind: 'userfaultfd'; pending: number; total: number; API: string }
  | { kind: 'tty'; tty_index: number }
  | { kind: 'plain' };

export type FdinfoKindName = FdinfoKind['kind'];

function field(l: FdinfoLines, key: string): string {
  const value = l.fields[key];
  if (value === undefined) throw malformed(l.source, undefined, `no ${key} line`);
  return value;
}

function kv(l: FdinfoLines, line: KeyValues, key: string): string {
  const value = line.values[key];
  if (value === undefined) throw malformed(l.source, line.line, `no ${key}: value`);
  return value;
}

function fileHandle(l: FdinfoLines, line: KeyValues): FileHandle | undefined {
  if (line.values['fhandle-bytes'] === undefined) return undefined;
  const hex = kv(l, line, 'f_handle');
  if (hex.length !== hexOf(l, line, 'fhandle-bytes') * 2 || !/^[0-9a-f]*$/.test(hex)) {
    throw malformed(l.source, line.line, 'f_handle does not match fhandle-bytes', hex);
  }
  return { type: hexOf(l, line, 'fhandle-type'), handle: Buffer.from(hex, 'hex') };
}

function hexOf(l: FdinfoLines, line: KeyValues, key: string): number {
  return hexNum(kv(l, line, key), l.source, line.line, key);
}

function timeSpec(l: FdinfoLines, key: string): TimeSpec {
  const m = /^\((\d+), (\d+)\)$/.exec(field(l, key));
  if (m === null) throw malformed(l.source, l.fieldLine[key], `${key} is not "(sec, nsec)"`, l.fields[key]);
  return { tv_sec: BigInt(m[1]), tv_nsec: Number(m[2]) };
}

function epollTarget(l: FdinfoLines, t: KeyValues): EpollTarget {
  return {
    tfd: decimal(kv(l, t, 'tfd'), l.source, t.line, 'tfd'),
    events: hexOf(l, t, 'events'),
    data: hexBig(kv(l, t, 'data'), l.source, t.line, 'data'),
    pos: decimalBig(kv(l, t, 'pos'), l.source, t.line, 'pos'),
    ino: hexOf(l, t, 'ino'),
    sdev: hexOf(l, t, 'sdev'),
  };
}

function inotifyWatch(l: FdinfoLines, w: KeyValues): InotifyWatch {
  return {
    wd: hexOf(l, w, 'wd'), ino: hexOf(l, w, 'ino'), sdev: hexOf(l, w, 'sdev'),
    mask: hexOf(l, w, 'mask'), ignored_mask: hexOf(l, w, 'ignored_mask'), fhandle: fileHandle(l, w),
  };
}

function fanotifyMark(l: FdinfoLines, m: KeyValues): FanotifyMark {
  const common = { mflags: hexOf(l, m, 'mflags'), mask: hexOf(l, m, 'mask'), ignored_mask: hexOf(l, m, 'ignored_mask') };
  if (m.values.ino !== undefined) return { target: 'inode', ino: hexOf(l, m, 'ino'), sdev: hexOf(l, m, 'sdev'), ...common, fhandle: fileHandle(l, m) };
  if (m.values.mnt_id !== undefined) return { target: 'mount', mnt_id: hexOf(l, m, 'mnt_id'), ...common };
  return { target: 'filesystem', sdev: hexOf(l, m, 'sdev'), ...common };
}

function fanotify(l: FdinfoLines): FdinfoKind {
  const header = l.fanotify.find((line) => line.values.flags !== undefined);
  if (header === undefined) throw malformed(l.source, l.fanotify[0]?.line, 'fanotify marks without a "fanotify flags:" line');
  const marks = l.fanotify.filter((line) => line !== header).map((m) => fanotifyMark(l, m));
  return { kind: 'fanotify', fanotify_flags: hexOf(l, header, 'flags'), event_flags: hexOf(l, header, 'event-flags'), marks };
}

function words(text: string | undefined): string[] {
  return text === undefined ? [] : text.split(/\s+/).filter((s) => s !== '');
}

function dec(l: FdinfoLines, key: string): number {
  return decimal(field(l, key), l.source, l.fieldLine[key], key);
}

function big(l: FdinfoLines, key: string, parse: typeof hexBig): bigint {
  return parse(field(l, key), l.source, l.fieldLine[key], key);
}

interface KindDescriptor {
  kind: FdinfoKindName;
  present(l: FdinfoLines): boolean;
  read(l: FdinfoLines): FdinfoKind;
}

/** Checked in order; the first present kind wins, 'plain' when none is. */
export const FDINFO_KINDS: readonly KindDescriptor[] = [
  { kind: 'epoll', present: (l) => l.tfd.length > 0, read: (l) => ({ kind: 'epoll', targets: l.tfd.map((t) => epollTarget(l, t)) }) },
  { kind: 'inotify', present: (l) => l.inotify.length > 0, read: (l) => ({ kind: 'inotify', watches: l.inotify.map((w) => inotifyWatch(l, w)) }) },
  { kind: 'fanotify', present: (l) => l.fanotify.length > 0, read: fanotify },
  {
    kind: 'eventfd',
    present: (l) => 'eventfd-count' in l.fields,
    read: (l) => ({
      kind: 'eventfd',
      count: big(l, 'eventfd-count', hexBig),
      id: l.fields['eventfd-id'] === undefined ? undefined : dec(l, 'eventfd-id'),
      semaphore: l.fields['eventfd-semaphore'] === undefined ? undefined : dec(l, 'eventfd-semaphore') !== 0,
    }),
  },
  { kind: 'signalfd', present: (l) => 'sigmask' in l.fields, read: (l) => ({ kind: 'signalfd', sigmask: big(l, 'sigmask', hexBig) }) },
  {
    kind: 'timerfd',
    present: (l) => 'clockid' in l.fields,
    read: (l) => ({
      kind: 'timerfd',
      clockid: dec(l, 'clockid'),
      ticks: big(l, 'ticks', decimalBig),
      settime_flags: octal(field(l, 'settime flags'), l.source, l.fieldLine['settime flags'], 'settime flags'),
      it_value: timeSpec(l, 'it_value'),
      it_interval: timeSpec(l, 'it_interval'),
    }),
  },
  {
    kind: 'pidfd',
    present: (l) => 'Pid' in l.fields,
    read: (l) => ({ kind: 'pidfd', Pid: dec(l, 'Pid'), NSpid: words(l.fields.NSpid).map((s) => decimal(s, l.source, l.fieldLine.NSpid, 'NSpid')) }),
  },
  { kind: 'userfaultfd', present: (l) => 'API' in l.fields, read: (l) => ({ kind: 'userfaultfd', pending: dec(l, 'pending'), total: dec(l, 'total'), API: field(l, 'API') }) },
  { kind: 'tty', present: (l) => 'tty-index' in l.fields, read: (l) => ({ kind: 'tty', tty_index: dec(l, 'tty-index') }) },
];

/** An empty epoll/inotify set shows no lines: what the fd link says decides. */
export function emptyKind(kind: 'epoll' | 'inotify'): FdinfoKind {
  return kind === 'epoll' ? { kind, targets: [] } : { kind, watches: [] };
}

// /proc/PID/mountinfo, see proc_pid_mountinfo(5):
//   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
// Paths, sources and options have space, tab, newline and backslash
// escaped as \ooo octal; they are decoded here.
import { decodeOctalEscapes } from './escapes.js';
import { decimal, malformed, procPath, readProcText, type Source } from './proc-files.js';

export interface MountInfo {
  mount_id: number;
  parent_id: number;
  major: number;
  minor: number;
  /** the root of the mount within its filesystem */
  root: string;
  mount_point: string;
  /** per-mount options (rw, nosuid, relatime, ...) */
  mount_options: string[];
  /** the optional fields as shown, e.g. ["shared:1", "master:3"] */
  optional: string[];
  /** peer group id for shared:N */
  shared: number | undefined;
  /** peer group id for master:N (this mount is a slave of it) */
  master: number | undefined;
  /** propagate_from:N */
  propagate_from: number | undefined;
  unbindable: boolean;
  fstype: string;
  source: string;
  super_options: string[];
}

function options(text: string): string[] {
  return text === '' ? [] : text.split(',').map(decodeOctalEscapes);
}

function tag(optional: string[], name: string, source: Source, lineNo: number): number | undefined {
  const field = optional.find((o) => o.startsWith(`${name}:`));
  return field === undefined ? undefined : decimal(field.slice(name.length + 1), source, lineNo, name);
}

/** Parses one mountinfo line. */
export function parseMountinfoLine(line: string, source: Source, lineNo: number): MountInfo {
  const f = line.split(' ');
  const dash = f.indexOf('-', 6);
  const dev = /^(\d+):(\d+)$/.exec(f[2] ?? '');
  if (f.length < 10 || dash < 0 || f.length < dash + 3 || dev === null) throw malformed(source, lineNo, 'not a mountinfo line', line);
  const optional = f.slice(6, dash);
  return {
    mount_id: decimal(f[0], source, lineNo, 'mount id'),
    parent_id: decimal(f[1], source, lineNo, 'parent id'),
    major: Number(dev[1]),
    minor: Number(dev[2]),
    root: decodeOctalEscapes(f[3]),
    mount_point: decodeOctalEscapes(f[4]),
    mount_options: options(f[5]),
    optional,
    shared: tag(optional, 'shared', source, lineNo),
    master: tag(optional, 'master', source, lineNo),
    propagate_from: tag(optional, 'propagate_from', source, lineNo),
    unbindable: optional.includes('unbindable'),
    fstype: decodeOctalEscapes(f[dash + 1]),
    source: decodeOctalEscapes(f[dash + 2]),
    super_options: options(f.slice(dash + 3).join(' ')),
  };
}

export function parseMountinfo(text: string, source: Source = 'mountinfo'): MountInfo[] {
  const mounts: MountInfo[] = [];
  text.split('\n').forEach((line, i) => {
    if (line !== '') mounts.push(parseMountinfoLine(line, source, i + 1));
  });
  return mounts;
}

export function readMountinfo(pid: number): MountInfo[] {
  const path = procPath(pid, 'mountinfo');
  return parseMountinfo(readProcText(pid, path), path);
}

// /proc/PID/maps: one line per VMA, see proc_pid_maps(5).
//   start-end perms offset major:minor inode   path
import { malformed, procPath, readProcText, type Source } from './proc-files.js';

/** What a VMA maps, from its path column. */
export type VmaKind =
  | 'file' // a regular file (maybe deleted)
  | 'anon' // no name: private or shared anonymous memory without a name
  | 'shared-anon' // MAP_SHARED|MAP_ANONYMOUS: shows as "/dev/zero (deleted)" on the shmem mount
  | 'sysv-shm' // a SysV shared memory segment: "/SYSV%08x (deleted)"
  | 'memfd' // "/memfd:NAME (deleted)"
  | 'named-anon' // "[anon:NAME]" or "[anon_shmem:NAME]" (PR_SET_VMA_ANON_NAME)
  | 'heap'
  | 'stack'
  | 'vdso'
  | 'vvar'
  | 'vvar_vclock'
  | 'vsyscall'
  | 'special'; // any other "[name]", e.g. [uprobes]

export interface MapsEntry {
  start: bigint;
  end: bigint;
  /** the four permission characters as shown, e.g. "r-xp" */
  perms: string;
  read: boolean;
  write: boolean;
  exec: boolean;
  /** 's' (MAP_SHARED) rather than 'p' (private, copy-on-write) */
  shared: boolean;
  offset: bigint;
  major: number;
  minor: number;
  inode: number;
  /**
   * The path column without the " (deleted)" suffix; "" for unnamed memory.
   * The kernel shows a newline in a file name as "\012" and escapes nothing
   * else, so the text is kept as shown.
   */
  path: string;
  /** the path ended in " (deleted)": the file was unlinked */
  deleted: boolean;
  kind: VmaKind;
}

const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][sp]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)(?: +(.*))?$/;
const DELETED = ' (deleted)';

const SPECIAL_KINDS: Readonly<Record<string, VmaKind>> = {
  '[heap]': 'heap',
  '[stack]': 'stack',
  '[vdso]': 'vdso',
  '[vvar]': 'vvar',
  '[vvar_vclock]': 'vvar_vclock',
  '[vsyscall]': 'vsyscall',
};

function bracketKind(path: string): VmaKind {
  const known = SPECIAL_KINDS[path];
  if (known !== undefined) return known;
  if (path.startsWith('[anon:') || path.startsWith('[anon_shmem:')) return 'named-anon';
  if (path.startsWith('[stack:')) return 'stack';
  return 'special';
}

function vmaKind(path: string, deleted: boolean, major: number): VmaKind {
  if (path === '') return 'anon';
  if (path.startsWith('[') && path.endsWith(']')) return bracketKind(path);
  if (deleted && major === 0) {
    if (path === '/dev/zero') return 'shared-anon';
    if (path.startsWith('/SYSV')) return 'sysv-shm';
    if (path.startsWith('/memfd:')) return 'memfd';
  }
  return 'file';
}

/** Parses one maps line (also the header line of each smaps block). */
export function parseMapsLine(line: string, source: Source, lineNo: number): MapsEntry {
  const m = MAPS_LINE.exec(line);
  if (m === null) throw malformed(source, lineNo, 'not a maps line', line);
  const [, start, end, perms, offset, major, minor, inode, shown] = m;
  const rawPath: string = shown ?? ''; // the path group is absent for unnamed memory
  const deleted = rawPath.endsWith(DELETED);
  const path = deleted ? rawPath.slice(0, -DELETED.length) : rawPath;
  const majorNo = parseInt(major, 16);
  return {
    start: BigInt(`0x${start}`),
    end: BigInt(`0x${end}`),
    perms: perms,
    read: perms[0] === 'r',
    write: perms[1] === 'w',
    exec: perms[2] === 'x',
    shared: perms[3] === 's',
    offset: BigInt(`0x${offset}`),
    major: majorNo,
    minor: parseInt(minor, 16),
    inode: Number(inode),
    path,
    deleted,
    kind: vmaKind(path, deleted, majorNo),
  };
}

/** Parses the whole text of /proc/PID/maps. */
export function parseMaps(text: string, source: Source = 'maps'): MapsEntry[] {
  const lines = text.split('\n');
  const entries: MapsEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '' && i === lines.length - 1) break;
    entries.push(parseMapsLine(line, source, i + 1));
  }
  return entries;
}

export function readMaps(pid: number, tid?: number): MapsEntry[] {
  const path = procPath(pid, 'maps', tid);
  return parseMaps(readProcText(pid, path), path);
}

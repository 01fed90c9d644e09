// What a directory tree holds, seen without following symlinks: each name's
// type, inode, mode, owner, size, mtime, and a regular file's contents
// (hashed) or a symlink's target; a directory by its names. Two snapshots are compared to prove that
// a command changed nothing there.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';

export type FsSnapshot = Map<string, string>;

function kindOf(st: Stats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'other';
}

function describe(path: Buffer, st: Stats): string {
  const kind = kindOf(st);
  const base = `${kind} ino ${st.ino} mode 0${st.mode.toString(8)} uid ${st.uid} gid ${st.gid}`;
  if (kind === 'file') {
    const hash = createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
    return `${base} size ${st.size} mtime ${st.mtimeMs} sha ${hash}`;
  }
  if (kind === 'symlink') return `${base} -> ${readlinkSync(path, { encoding: 'buffer' }).toString('latin1')}`;
  // a directory's mtime moves with every name made and removed in it (a ghost, a link for an open): not compared
  return base;
}

/**
 * Every name under root (root itself as '.'), described; symlinks are not
 * followed. Names are bytes (a restore may make one that is not UTF-8): they
 * are walked as such and keyed as latin1 text, one char a byte.
 */
export function snapshotTree(root: string): FsSnapshot {
  const out: FsSnapshot = new Map();
  const base = Buffer.from(root);
  const walk = (path: Buffer): void => {
    const st = lstatSync(path);
    out.set(path.length === base.length ? '.' : path.subarray(base.length + 1).toString('latin1'), describe(path, st));
    if (!st.isDirectory()) return;
    const names = readdirSync(path, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) walk(Buffer.concat([path, Buffer.from('/'), name]));
  };
  walk(base);
  return out;
}

/** The differences between two snapshots, one line each ("+ name ...", "- name ...", "~ name: before => after"). */
export function diffSnapshots(before: FsSnapshot, after: FsSnapshot): string[] {
  const lines: string[] = [];
  for (const [name, was] of before) {
    const now = after.get(name);
    if (now === undefined) lines.push(`- ${name} (${was})`);
    else if (now !== was) lines.push(`~ ${name}: ${was} => ${now}`);
  }
  for (const [name, now] of after) if (!before.has(name)) lines.push(`+ ${name} (${now})`);
  return lines;
}

// Binding a restored unix socket to its saved name and connecting to a
// peer's name (unix(7)), as upstream CRIU does: abstract names as they are;
// a path relative to name_dir from inside that directory (so getsockname
// reads as before); stale socket files at the paths of the dump's sockets
// are removed before any is bound (only sockets: anything else stays and
// the bind fails naming it); the file gets its saved mode and owner. A
// name whose file was deleted ("ghost") is
// bound, its file kept open O_PATH for peers to connect through
// /proc/self/fd, then unlinked — with any file that sits at the path now
// moved aside and back (upstream would remove a socket there first; it is
// not ours, so we leave it) — never over a file already at the name it is
// moved to —, missing directories made and removed again.
// If the restore fails, the socket files it bound are removed again.
// Image paths are checked: no NUL inside, no '..' component, name_dir
// absolute. A name is bytes, not text: files are reached by its very bytes.
import { chmodSync, lchownSync, lstatSync, mkdirSync, openSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { CriuError, SyscallError } from '@criu-ts/base';
import { AT, O, RENAME, SOCK, SYS, TCP_STATE, trySyscall } from '@criu-ts/kernel';
import type { UnixSkEntry } from '@criu-ts/images';
import { unixPathText } from './unix-name.js';
import { bindSocket, connectSocket, unixSockaddr } from './socket-restore-calls.js';
import type { UnixRestoreTable } from './unix-restore-table.js';

const GHOST_SUFFIX = '.criu-sk-ghost';

/** A name's path as the bytes it is (checkedUnixPath gives it as latin1 text, one char a byte), for the fs calls. */
const raw = (path: string): Buffer => Buffer.from(path, 'latin1');

function invalid(entry: UnixSkEntry, why: string): CriuError {
  return new CriuError(`unix socket id ${entry.id} ino ${entry.ino}: ${why}`, { code: 'EINVAL' });
}

/** The checked path of a path-bound entry (after the kernel's trailing NUL is cut). */
export function checkedUnixPath(entry: UnixSkEntry): string {
  const path = unixPathText(entry.name);
  const cut = entry.name.indexOf(0);
  if (path === '') throw invalid(entry, 'empty path name');
  if (cut >= 0 && entry.name.subarray(cut).some((byte) => byte !== 0)) throw invalid(entry, `path name ${JSON.stringify(path)} has a NUL byte inside`);
  if (path.split('/').includes('..')) throw invalid(entry, `path name ${JSON.stringify(path)} has a '..' component`);
  const dir = entry.name_dir;
  if (!isAbsolute(path) && dir !== undefined) {
    if (!isAbsolute(dir) || dir.includes('\0') || dir.split('/').includes('..')) throw invalid(entry, `name_dir ${JSON.stringify(dir)} is not a clean absolute path`);
  }
  return path;
}

/** Runs fn with the tool's cwd at dir (a relative socket name's directory), then goes back. */
function inDirectory<T>(dir: string | undefined, fn: () => T): T {
  if (dir === undefined) return fn();
  const saved = process.cwd();
  process.chdir(dir);
  try {
    return fn();
  } finally {
    process.chdir(saved);
  }
}

/** What is at path (not following a symlink): a socket, something else, or nothing. */
function fileAt(path: string): 'socket' | 'other' | undefined {
  try {
    return lstatSync(raw(path)).isSocket() ? 'socket' : 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function restorePerms(entry: UnixSkEntry, path: string): void {
  const perms = entry.file_perms;
  if (perms === undefined) return;
  lchownSync(raw(path), perms.uid, perms.gid);
  chmodSync(raw(path), perms.mode & 0o7777);
}

/** Makes the missing directories above path; returns them, deepest last. */
function makeParents(path: string): string[] {
  const missing: string[] = [];
  for (let dir = dirname(path); dir !== '.' && dir !== '/' && fileAt(dir) === undefined; dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) mkdirSync(raw(dir), 0o755);
  return missing;
}

/** rename(2) that never replaces what is at `to` (RENAME_NOREPLACE): EEXIST instead. */
export function renameNoReplace(from: string, to: string): void {
  const z = (path: string): Buffer => Buffer.concat([raw(path), Buffer.alloc(1)]);
  const { errno } = trySyscall(SYS.renameat2, AT.FDCWD, z(from), AT.FDCWD, z(to), RENAME.NOREPLACE);
  if (errno !== 0) throw new SyscallError({ syscall: `rename(${from} → ${to}, RENAME_NOREPLACE)`, errno, path: to });
}

function bindOnDeleted(table: UnixRestoreTable, entry: UnixSkEntry, fd: number, path: string, what: string): void {
  const made = makeParents(path);
  const parked = fileAt(path) === undefined ? undefined : `${path}${GHOST_SUFFIX}`;
  if (parked !== undefined) renameNoReplace(path, parked);
  try {
    bindSocket(fd, unixSockaddr(entry.name), what);
    try {
      restorePerms(entry, path);
      table.ghosts.set(entry.id, table.keep(openSync(raw(path), O.PATH | O.CLOEXEC)));
    } finally {
      unlinkSync(raw(path));
    }
  } finally {
    if (parked !== undefined) renameNoReplace(parked, path);
    for (const dir of made.reverse()) rmdirSync(raw(dir));
  }
}

/** Whether upstream binds this entry at all: connected stream/seqpacket sockets keep no name of their own. */
export function bindsName(entry: UnixSkEntry): boolean {
  return entry.name.length > 0 && !(entry.type !== SOCK.DGRAM && entry.state === TCP_STATE.ESTABLISHED);
}

/**
 * Before any unix socket is bound: removes the socket files left at the
 * paths of the dump's sockets (not of external peers, not deleted names),
 * as upstream does; returns how many.
 */
export function removeStaleSockets(entries: Iterable<UnixSkEntry>, uflagsExtern: number): number {
  let removed = 0;
  for (const entry of entries) {
    if (entry.name.length === 0 || entry.name[0] === 0 || (entry.uflags & uflagsExtern) !== 0 || entry.deleted === true) continue;
    const path = checkedUnixPath(entry);
    inDirectory(isAbsolute(path) ? undefined : entry.name_dir, () => {
      if (fileAt(path) !== 'socket') return;
      unlinkSync(raw(path));
      removed += 1;
    });
  }
  return removed;
}

/** Binds fd to the entry's name (see the module comment). */
export function bindUnixName(table: UnixRestoreTable, entry: UnixSkEntry, fd: number, what: string): void {
  if (!bindsName(entry)) return;
  if (entry.name[0] === 0) {
    bindSocket(fd, unixSockaddr(entry.name), what);
    return;
  }
  const path = checkedUnixPath(entry);
  const where = `${what} at ${isAbsolute(path) || entry.name_dir === undefined ? path : join(entry.name_dir, path)}`;
  inDirectory(isAbsolute(path) ? undefined : entry.name_dir, () => {
    if (entry.deleted === true) return bindOnDeleted(table, entry, fd, path, where);
    bindSocket(fd, unixSockaddr(entry.name), where);
    undoBindOnFailure(table, path, entry.name_dir);
    restorePerms(entry, path);
  });
}

/** If the restore fails, the socket file just bound goes again (if it is still that socket). */
function undoBindOnFailure(table: UnixRestoreTable, path: string, dir: string | undefined): void {
  const at = isAbsolute(path) || dir === undefined ? raw(path) : Buffer.concat([Buffer.from(`${dir}/`), raw(path)]);
  const bound = lstatSync(at, { bigint: true });
  table.undo(() => {
    const now = lstatSync(at, { bigint: true, throwIfNoEntry: false });
    if (now !== undefined && now.isSocket() && now.ino === bound.ino && now.dev === bound.dev) unlinkSync(at);
  });
}

/** Connects fd to the peer's name (through its kept file when that name was deleted). */
export function connectUnixPeer(table: UnixRestoreTable, fd: number, peer: UnixSkEntry, what: string): void {
  const ghost = table.ghosts.get(peer.id);
  if (ghost !== undefined) {
    connectSocket(fd, unixSockaddr(Buffer.from(`/proc/self/fd/${ghost}`)), `${what} to deleted socket of ino ${peer.ino}`);
    return;
  }
  if (peer.name.length === 0) throw new CriuError(`${what}: peer ino ${peer.ino} has no name to connect to`, { code: 'EINVAL' });
  if (peer.name[0] === 0) {
    connectSocket(fd, unixSockaddr(peer.name), what);
    return;
  }
  const path = checkedUnixPath(peer);
  inDirectory(isAbsolute(path) ? undefined : peer.name_dir, () => connectSocket(fd, unixSockaddr(peer.name), `${what} to ${path}`));
}

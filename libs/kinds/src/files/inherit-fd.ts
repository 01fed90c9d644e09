// criu(8) --inherit-fd fd[N]:RESOURCE: the tool's own fd N (given to it by
// whoever runs the restore) stands for the file the images call RESOURCE —
// pipe:[INODE], path/to/file (no leading slash), tty[RDEV:DEV], ... as the
// fd kinds name their entries (FdKind.inheritNames). The task then gets a
// dup of fd N (the same open file description) instead of a new one.
import { CriuError, UsageError } from '@criu-ts/base';
import { F, fcntl } from '@criu-ts/kernel';
import type { FileEntry } from '@criu-ts/images';
import type { FdKind, FdRestoreEnv } from './fd-kind.js';

export interface InheritFd {
  /** the tool's fd */
  fd: number;
  resource: string;
  used: boolean;
}

/** Parses the --inherit-fd arguments. */
export function parseInheritFds(specs: readonly string[]): InheritFd[] {
  return specs.map((spec) => {
    const m = /^fd\[(\d+)\]:(.+)$/s.exec(spec);
    if (m === null) throw new UsageError(`--inherit-fd ${spec}: expected fd[N]:RESOURCE`);
    return { fd: Number(m[1]), resource: m[2]!, used: false };
  });
}

/** Our dup of the inherited fd that stands for entry, or undefined if none does. */
export function inheritedFd(env: FdRestoreEnv, kind: FdKind, entry: FileEntry, inherits: readonly InheritFd[]): number | undefined {
  if (inherits.length === 0) return undefined;
  const names = kind.inheritNames?.(env, entry) ?? [];
  const match = inherits.find((i) => names.includes(i.resource));
  if (match === undefined) return undefined;
  let fd: number;
  try {
    fd = fcntl(match.fd, F.DUPFD_CLOEXEC, 0);
  } catch (error) {
    throw new CriuError(`--inherit-fd fd[${match.fd}]:${match.resource}: fd ${match.fd} is not open in criu`, { code: 'EBADF', cause: error });
  }
  match.used = true;
  env.log.info(`${kind.name} id ${entry.id} (${match.resource}) comes from inherited fd ${match.fd}`);
  return fd;
}

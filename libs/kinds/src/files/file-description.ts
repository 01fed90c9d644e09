// One open file description of the dump, found or dumped: every fd that
// shares it gets its id (file-ids.ts, kcmp); the first is dumped by the fd
// kind that matches it (fd-registry.ts) into files.img, with its locks (-l).
// The same for an fd of a task (files-kind.ts) as for a file in flight
// (in-flight.ts): the id is recorded before the kind runs, so a socket whose
// queue holds the socket itself finds it.
import { CriuError, UnsupportedError } from '@criu-ts/base';
import { FdTypes } from '@criu-ts/images';
import type { FdDumpEnv } from './fd-kind.js';
import { fdKindOf } from './fd-registry.js';
import { fileIds, type Described } from './file-ids.js';
import { fileLockEntries } from './file-locks.js';
import { writeShared } from './image-entry.js';
import type { OpenFd } from './open-fd.js';
import { imagePid } from '../dump-context.js';

function dumpLocks(env: FdDumpEnv, fd: OpenFd): void {
  if (fd.info.locks.length === 0) return;
  if (!env.ctx.options.fileLocks) {
    throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: ${fd.link} holds file locks`, { code: 'EBUSY', hint: 'use -l/--file-locks to dump them' });
  }
  // the owner as the tree's pid namespace names it (the images' pids)
  for (const message of fileLockEntries(fd)) writeShared(env.ctx, 'filelocks', { message: { ...message, pid: imagePid(env.ctx, message.pid) } });
}

/** What a file in flight cannot be: a kind that needs the task holding it, or a holder of locks (whose owner the tool's copy cannot name). */
function checkInFlight(fd: OpenFd, refused: string | undefined): void {
  if (fd.inFlight === undefined) return;
  const { pid, fd: socket } = fd.inFlight;
  if (refused !== undefined) throw new UnsupportedError({ pid, fd: socket, kind: `${refused} in flight in its queue (${fd.link})` });
  if (fd.info.locks.length > 0) throw new UnsupportedError({ pid, fd: socket, kind: `a file in flight in its queue that holds file locks (${fd.link})` });
}

/** The description behind fd: the one already dumped that it shares (fresh false), or dumped now under a new id. */
export function describeFile(env: FdDumpEnv, fd: OpenFd): { desc: Described; fresh: boolean } {
  const ids = fileIds(env.ctx);
  const seen = ids.lookup(fd.pid, fd.fd, fd.stat.dev, fd.stat.ino);
  if (seen !== undefined) {
    env.log.debug(`fd ${fd.fd}: shares description ${seen.id}`);
    return { desc: seen, fresh: false };
  }
  const kind = fdKindOf(fd);
  checkInFlight(fd, kind.inFlightRefused);
  const desc: Described = { id: env.ctx.nextId(), type: (kind.type ?? FdTypes.UND) as FdTypes };
  ids.add(fd.pid, fd.fd, fd.stat.dev, fd.stat.ino, desc);
  const entry = kind.dump(env, fd, desc.id);
  desc.type = entry.type;
  writeShared(env.ctx, 'files', { message: entry });
  env.log.debug(`fd ${fd.fd}: ${kind.name} id ${desc.id} (${fd.link})${fd.inFlight === undefined ? '' : ', in flight'}`);
  dumpLocks(env, fd);
  return { desc, fresh: true };
}

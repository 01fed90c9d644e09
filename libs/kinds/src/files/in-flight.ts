// Files in flight: the fds that messages in a unix socket's receive queue
// carry (SCM_RIGHTS), which no task holds until it receives them. A peek of
// the queue (sockets/unix-queue.ts) installs them in the tool; each is
// dumped as an fd of a task would be, by the kind that matches it
// (file-description.ts), into files.img with no fdinfo entry, and its id
// goes into the packet's scm_entry.rights — what upstream CRIU writes. A
// copy whose description is new stays open until every task is dumped:
// later fds of the same description are found by kcmp(2) against it.
// Refused, as upstream: kinds that need the task holding them (ttys); also
// files holding locks. Restore: files-restore.ts, sockets/unix-restore.ts.
import { closeSync } from 'node:fs';
import { CriuError, UnsupportedError } from '@criu-ts/base';
import type { DumpContext } from '../dump-context.js';
import type { FdDumpEnv } from './fd-kind.js';
import { describeFile } from './file-description.js';
import { ownFd, type InFlight } from './open-fd.js';

/** The tool's copies of files in flight that the ids table refers to; closed when the dump ends either way. */
function heldCopies(ctx: DumpContext): Set<number> {
  return ctx.shared('files.in-flight', () => {
    const fds = new Set<number>();
    ctx.onAbort?.(() => closeAll(fds));
    return fds;
  });
}

function closeAll(fds: Set<number>): void {
  for (const fd of fds) closeSync(fd);
  fds.clear();
}

/** An error about the tool's copy, said of the socket whose queue holds the file. */
function sayWhere(error: unknown, where: InFlight): unknown {
  const prefix = `pid ${where.pid} fd ${where.fd}:`;
  if (error instanceof UnsupportedError) {
    if (error.pid === where.pid) return error;
    return new UnsupportedError({ pid: where.pid, fd: where.fd, kind: `${error.kind} in flight in its queue`, hint: error.hint });
  }
  if (error instanceof CriuError && !error.message.startsWith(prefix)) {
    return new CriuError(`${prefix} a file in flight in its queue: ${error.message}`, { code: error.code, hint: error.hint, cause: error });
  }
  return error;
}

/**
 * Dumps the file behind `local`, an fd of the tool a peek of a queue
 * installed (it is taken over: kept or closed here); its files.img id.
 */
export function dumpFileInFlight(env: FdDumpEnv, local: number, where: InFlight): number {
  const held = heldCopies(env.ctx);
  held.add(local);
  try {
    const { desc, fresh } = describeFile(env, ownFd(local, where));
    if (!fresh) {
      held.delete(local);
      closeSync(local);
    }
    return desc.id;
  } catch (error) {
    if (held.delete(local)) closeSync(local);
    throw sayWhere(error, where);
  }
}

/** Every task is dumped (or the dump failed): the copies go. */
export function closeFilesInFlight(ctx: DumpContext): void {
  closeAll(heldCopies(ctx));
}

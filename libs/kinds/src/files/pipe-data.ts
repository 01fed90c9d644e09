// The bytes queued in a pipe or FIFO, read without consuming them: tee(2)
// from our copy of the read end into a pipe of our own (sized to hold it
// all), then read that. One pipe_data_entry {pipe_id, bytes, size} with the
// bytes after it, once per pipe, from the first read end seen — a pipe
// whose read ends are all outside the dump keeps no data, as in CRIU.
// Restore writes the bytes back into the new pipe, sized as dumped.
import { closeSync, existsSync, readSync, writeSync } from 'node:fs';
import { CriuError, SyscallError, errnoOf } from '@criu-ts/base';
import { F, O, SPLICE_F, fcntl, pipe2, tee } from '@criu-ts/kernel';
import { imagePath, readImageEntries, type PipeDataEntry } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';
import type { RestoreContext } from '../restore-context.js';
import type { OpenFd } from './open-fd.js';
import { writeShared } from './image-entry.js';

/** Copy of the queued bytes of the pipe whose read end `local` is; nothing is consumed. */
export function peekPipe(local: number, pipeSize: number): Buffer {
  const [readEnd, writeEnd] = pipe2(O.CLOEXEC | O.NONBLOCK);
  try {
    fcntl(writeEnd, F.SETPIPE_SZ, pipeSize);
    let bytes = 0;
    try {
      bytes = tee(local, writeEnd, pipeSize, SPLICE_F.NONBLOCK);
    } catch (error) {
      if (!(error instanceof SyscallError && error.code === 'EAGAIN')) throw error;
    }
    const data = Buffer.alloc(bytes);
    let got = 0;
    while (got < bytes) {
      const n = readSync(readEnd, data, got, bytes - got, null);
      if (n === 0) throw new CriuError(`pipe copy ended after ${got} of ${bytes} bytes`, { code: 'EIO' });
      got += n;
    }
    return data;
  } finally {
    closeSync(readEnd);
    closeSync(writeEnd);
  }
}

/** Save the queued data of fd's pipe into `image` ('pipes-data' or 'fifo-data') once per pipe. */
export function dumpPipeData(ctx: DumpContext, image: 'pipes-data' | 'fifo-data', fd: OpenFd, pipeId: number): void {
  if ((fd.flags & O.WRONLY) !== 0) return;
  const done = ctx.shared(`files.${image}`, () => new Set<number>());
  if (done.has(pipeId)) return;
  done.add(pipeId);
  const size = fcntl(fd.local, F.GETPIPE_SZ);
  const data = peekPipe(fd.local, size);
  ctx.log.info(`${image}: pipe ${pipeId} holds ${data.length} bytes`);
  writeShared(ctx, image, { message: { pipe_id: pipeId, bytes: data.length, size }, payload: data });
}

// ---- restore ----

/** The queued bytes of each pipe (or FIFO) in `image`, by pipe_id, read once per restore. */
export function savedPipeData(ctx: RestoreContext, image: 'pipes-data' | 'fifo-data'): ReadonlyMap<number, { size?: number; data: Buffer }> {
  return ctx.shared(`files.${image}.restore`, () => {
    const byPipe = new Map<number, { size?: number; data: Buffer }>();
    const path = imagePath(ctx.options.imagesDir, image);
    if (!existsSync(path)) return byPipe;
    for (const entry of readImageEntries(path, image)) {
      const message = entry.message as unknown as PipeDataEntry;
      byPipe.set(message.pipe_id, { size: message.size, data: entry.payload ?? Buffer.alloc(0) });
    }
    return byPipe;
  });
}

/**
 * Size the pipe behind `writeEnd` as dumped (F_SETPIPE_SZ) and put its
 * queued bytes back. writeEnd must be non-blocking: a pipe that cannot take
 * them is an error, not a hang.
 */
export function refillPipe(writeEnd: number, saved: { size?: number; data: Buffer } | undefined, what: string): void {
  if (saved === undefined) return;
  if (saved.size !== undefined && saved.size > 0 && fcntl(writeEnd, F.GETPIPE_SZ) !== saved.size) fcntl(writeEnd, F.SETPIPE_SZ, saved.size);
  for (let done = 0; done < saved.data.length; ) {
    try {
      done += writeSync(writeEnd, saved.data, done, saved.data.length - done);
    } catch (error) {
      if (errnoOf(error) !== 'EAGAIN') throw error;
      throw new CriuError(`${what}: only ${done} of its ${saved.data.length} queued bytes fit back in`, { code: 'ENOSPC' });
    }
  }
}

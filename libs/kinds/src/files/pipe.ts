// Pipes (pipe(2)): one pipe_entry {pipe_id = inode, flags, fown} per end's
// description in files.img, type PIPE; both ends share pipe_id. Queued
// bytes go to pipes-data.img (pipe-data.ts). Not supported: packet-mode
// pipes (O_DIRECT), as in CRIU. Restore makes one pipe per pipe_id in the
// tool (pipe2), sized and refilled as dumped; the first description of
// each end is that end, any further one a reopen of it through
// /proc/self/fd (a description of its own). See pipe(7).
import { UnsupportedError } from '@criu-ts/base';
import { O, pipe2 } from '@criu-ts/kernel';
import { FdTypes } from '@criu-ts/images';
import type { RestoreContext } from '../restore-context.js';
import type { FdKind } from './fd-kind.js';
import { S_IF, fileType } from './open-fd.js';
import { openPath, restoreFown, setStatusFlags } from './open-path.js';
import { dumpPipeData, refillPipe, savedPipeData } from './pipe-data.js';
import { keepOwnFd } from './restore-table.js';

interface PipeEnds {
  read: number;
  write: number;
  readGiven: boolean;
  writeGiven: boolean;
}

function pipeEnds(ctx: RestoreContext, pipeId: number): PipeEnds {
  const pipes = ctx.shared('files.pipes', () => new Map<number, PipeEnds>());
  let ends = pipes.get(pipeId);
  if (ends === undefined) {
    const [read, write] = pipe2(O.CLOEXEC | O.NONBLOCK);
    keepOwnFd(ctx, read);
    keepOwnFd(ctx, write);
    refillPipe(write, savedPipeData(ctx, 'pipes-data').get(pipeId), `pipe:[${pipeId}]`);
    ends = { read, write, readGiven: false, writeGiven: false };
    pipes.set(pipeId, ends);
  }
  return ends;
}

/** The description for one end: the pipe's own end the first time, a reopen after. */
function endFor(ends: PipeEnds, flags: number): number {
  if ((flags & O.ACCMODE) === O.WRONLY) {
    if (ends.writeGiven) return openPath(`/proc/self/fd/${ends.write}`, flags);
    ends.writeGiven = true;
    return ends.write;
  }
  if (ends.readGiven) return openPath(`/proc/self/fd/${ends.read}`, flags);
  ends.readGiven = true;
  return ends.read;
}

export const pipeKind: FdKind = {
  name: 'pipe',
  type: FdTypes.PIPE,
  matches: (fd) => fd.target.kind === 'pipe' && fileType(fd.stat) === S_IF.FIFO,
  dump(env, fd, id) {
    if ((fd.flags & O.DIRECT) !== 0) throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: 'packet-mode pipe (O_DIRECT)' });
    const pipeId = Number(fd.stat.ino & 0xffffffffn);
    dumpPipeData(env.ctx, 'pipes-data', fd, pipeId);
    return { type: FdTypes.PIPE, id, pipe: { id, pipe_id: pipeId, flags: fd.flags, fown: fd.fown } };
  },
  inheritNames: (_env, entry) => (entry.pipe === undefined ? [] : [`pipe:[${entry.pipe.pipe_id}]`, `pipe[${entry.pipe.pipe_id}]`]),
  open(env, entry) {
    const pipe = entry.pipe!;
    const fd = keepOwnFd(env.ctx, endFor(pipeEnds(env.ctx, pipe.pipe_id), pipe.flags));
    setStatusFlags(fd, pipe.flags);
    restoreFown(fd, pipe.fown);
    return fd;
  },
};

// Pipes (pipe(2)): one pipe_entry {pipe_id = inode, flags, fown} per end's
// description in files.img, type PIPE; both ends share pipe_id. Queued
// bytes go to pipes-data.img (pipe-data.ts). Not supported: packet-mode
// pipes (O_DIRECT), as in CRIU. See pipe(7).
import { UnsupportedError } from '@criu-ts/base';
import { O } from '@criu-ts/kernel';
import { FdTypes } from '@criu-ts/images';
import type { FdKind } from './fd-kind.js';
import { S_IF, fileType } from './open-fd.js';
import { dumpPipeData } from './pipe-data.js';

export const pipeKind: FdKind = {
  name: 'pipe',
  matches: (fd) => fd.target.kind === 'pipe' && fileType(fd.stat) === S_IF.FIFO,
  dump(env, fd, id) {
    if ((fd.flags & O.DIRECT) !== 0) throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: 'packet-mode pipe (O_DIRECT)' });
    const pipeId = Number(fd.stat.ino & 0xffffffffn);
    dumpPipeData(env.ctx, 'pipes-data', fd, pipeId);
    return { type: FdTypes.PIPE, id, pipe: { id, pipe_id: pipeId, flags: fd.flags, fown: fd.fown } };
  },
};

// FIFOs (mkfifo(3)): the path is saved as a reg file of its own (regf_id),
// then fifo_entry {id, pipe_id = inode, regf_id} in files.img, type FIFO;
// queued bytes go to fifo-data.img, read without consuming them. See
// fifo(7).
import { FdTypes } from '@criu-ts/images';
import type { FdKind } from './fd-kind.js';
import { S_IF, fileType } from './open-fd.js';
import { dumpPipeData } from './pipe-data.js';
import { regFileEntry } from './reg-file.js';
import { writeShared } from './image-entry.js';

export const fifoKind: FdKind = {
  name: 'fifo',
  matches: (fd) => fd.target.kind === 'path' && fileType(fd.stat) === S_IF.FIFO,
  dump(env, fd, id) {
    const regfId = env.ctx.nextId();
    const reg = regFileEntry(env, fd, regfId);
    writeShared(env.ctx, 'files', { message: { type: FdTypes.REG, id: regfId, reg } });
    const pipeId = Number(fd.stat.ino & 0xffffffffn);
    dumpPipeData(env.ctx, 'fifo-data', fd, pipeId);
    return { type: FdTypes.FIFO, id, fifo: { id, pipe_id: pipeId, regf_id: regfId } };
  },
};

// FIFOs (mkfifo(3)): the path is saved as a reg file of its own (regf_id),
// then fifo_entry {id, pipe_id = inode, regf_id} in files.img, type FIFO;
// queued bytes go to fifo-data.img, read without consuming them. Restore
// first opens the FIFO O_RDWR|O_NONBLOCK in the tool (so no open blocks
// and the bytes survive until the tasks hold it), refills it once, then
// opens each description with its own flags. See fifo(7).
import { CriuError } from '@criu-ts/base';
import { O } from '@criu-ts/kernel';
import { FdTypes, type RegFileEntry } from '@criu-ts/images';
import type { FdKind, FdRestoreEnv } from './fd-kind.js';
import { S_IF, fileType } from './open-fd.js';
import { checkRestorePath, closingOnError, restoreFown, setStatusFlags } from './open-path.js';
import { dumpPipeData, refillPipe, savedPipeData } from './pipe-data.js';
import { regFileEntry } from './reg-file.js';
import { openRegPath, validateFile } from './reg-open.js';
import { keepOwnFd } from './restore-table.js';
import { writeShared } from './image-entry.js';

function fifoPath(env: FdRestoreEnv, id: number, regfId: number | undefined): RegFileEntry {
  const reg = regfId === undefined ? undefined : env.entry(regfId)?.reg;
  if (reg === undefined) throw new CriuError(`fifo id ${id}: its path (file id ${regfId}) is not in files.img`, { code: 'EIMAGE' });
  checkRestorePath(reg.name, `fifo id ${id}`);
  return reg;
}

/** The tool's own read-write end of the FIFO, opened (and refilled) once per pipe_id. */
function holdFifo(env: FdRestoreEnv, pipeId: number, regfId: number, reg: RegFileEntry): void {
  const held = env.ctx.shared('files.fifos', () => new Set<number>());
  if (held.has(pipeId)) return;
  const fd = keepOwnFd(env.ctx, openRegPath(env.ctx, regfId, reg, O.RDWR | O.NONBLOCK));
  held.add(pipeId);
  refillPipe(fd, savedPipeData(env.ctx, 'fifo-data').get(pipeId), `fifo ${reg.name}`);
}

export const fifoKind: FdKind = {
  name: 'fifo',
  type: FdTypes.FIFO,
  matches: (fd) => fd.target.kind === 'path' && fileType(fd.stat) === S_IF.FIFO,
  dump(env, fd, id) {
    const regfId = env.ctx.nextId();
    const reg = regFileEntry(env, fd, regfId);
    writeShared(env.ctx, 'files', { message: { type: FdTypes.REG, id: regfId, reg } });
    const pipeId = Number(fd.stat.ino & 0xffffffffn);
    dumpPipeData(env.ctx, 'fifo-data', fd, pipeId);
    return { type: FdTypes.FIFO, id, fifo: { id, pipe_id: pipeId, regf_id: regfId } };
  },
  inheritNames(env, entry) {
    const reg = entry.fifo?.regf_id === undefined ? undefined : env.entry(entry.fifo.regf_id)?.reg;
    return reg === undefined ? [] : [reg.name.slice(1), reg.name];
  },
  open(env, entry) {
    const fifo = entry.fifo!;
    const reg = fifoPath(env, entry.id, fifo.regf_id);
    holdFifo(env, fifo.pipe_id, fifo.regf_id!, reg);
    // a deleted FIFO (a ghost) or one linked back at dump is opened through its remap, as a regular file's path
    return closingOnError(openRegPath(env.ctx, fifo.regf_id!, reg, reg.flags | O.NONBLOCK), (fd) => {
      validateFile(env.ctx, fd, reg);
      setStatusFlags(fd, reg.flags);
      restoreFown(fd, reg.fown);
    });
  },
};

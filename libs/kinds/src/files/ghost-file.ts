// Deleted-but-open files (st_nlink 0): the inode is carried in a
// ghost-file-ID.img — attributes, then the contents (whole, or as
// ghost_chunk_entry runs when the file is 12 KiB or more, holes left out) —
// and remap-fpath.img points the file's id at it (remap_type GHOST). One
// ghost per inode, however many descriptions use it. Files over
// --ghost-limit are refused (criu(8) --ghost-limit).
import { closeSync, openSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { RemapType, type GhostFileEntry } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';
import { copyIntoSlot, dataRuns } from './file-copy.js';
import { S_IF, fileType, kernelDev, type OpenFd } from './open-fd.js';
import { writeShared } from './image-entry.js';

/** CRIU's GHOST_CHUNKS_THRESH: smaller files are stored in one piece */
const CHUNKS_THRESHOLD = 3n * 4096n;

function timeval(ns: bigint): { tv_sec: bigint; tv_usec: bigint } {
  return { tv_sec: ns / 1_000_000_000n, tv_usec: (ns % 1_000_000_000n) / 1000n };
}

function ghostHead(fd: OpenFd): GhostFileEntry {
  const { stat } = fd;
  const type = fileType(stat);
  const head: GhostFileEntry = {
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    mode: Number(stat.mode),
    dev: kernelDev(stat.dev),
    ino: stat.ino,
    atim: timeval(stat.atimeNs),
    mtim: timeval(stat.mtimeNs),
  };
  if (type === S_IF.CHR || type === S_IF.BLK) head.rdev = Number(stat.rdev);
  if (type === S_IF.REG && stat.size >= CHUNKS_THRESHOLD) {
    head.chunks = true;
    head.size = stat.size;
  }
  return head;
}

function writeGhostImage(ctx: DumpContext, fd: OpenFd, ghostId: number, path: string): void {
  const head = ghostHead(fd);
  if (fileType(fd.stat) !== S_IF.REG) {
    writeShared(ctx, 'ghost-file', { message: head, payloadLength: 0 }, ghostId);
    return;
  }
  // reopen for reading: the task's fd may be write-only
  const reader = openSync(`/proc/self/fd/${fd.local}`, 'r');
  try {
    const size = Number(fd.stat.size);
    if (head.chunks !== true) {
      const slot = writeShared(ctx, 'ghost-file', { message: head, payloadLength: size }, ghostId);
      if (slot !== undefined && size > 0) copyIntoSlot(reader, 0, slot, `ghost file ${path}`);
      return;
    }
    writeShared(ctx, 'ghost-file', { message: head }, ghostId);
    for (const run of dataRuns(reader, size)) {
      const slot = writeShared(ctx, 'ghost-file', { message: { len: BigInt(run.length), off: BigInt(run.offset) } }, ghostId);
      if (slot !== undefined) copyIntoSlot(reader, run.offset, slot, `ghost file ${path}`);
    }
  } finally {
    closeSync(reader);
  }
}

/** Carry the deleted file behind fd (description `id`) in a ghost image. */
export function dumpGhost(ctx: DumpContext, fd: OpenFd, id: number, path: string): void {
  const limit = BigInt(ctx.options.ghostLimit);
  if (fileType(fd.stat) === S_IF.REG && fd.stat.size > limit) {
    throw new CriuError(`pid ${fd.pid} fd ${fd.fd}: deleted file ${path} is ${fd.stat.size} bytes, over the ghost limit of ${limit}`, {
      code: 'EFBIG',
      hint: 'raise --ghost-limit to carry it inside the images',
    });
  }
  const ghosts = ctx.shared('files.ghosts', () => new Map<string, number>());
  const key = `${fd.stat.dev}:${fd.stat.ino}`;
  let ghostId = ghosts.get(key);
  if (ghostId === undefined) {
    ghostId = ctx.nextId();
    ghosts.set(key, ghostId);
    ctx.log.info(`ghost file ${path} (${fd.stat.size} bytes) as ghost ${ghostId}`);
    writeGhostImage(ctx, fd, ghostId, path);
  }
  writeShared(ctx, 'remap-fpath', { message: { orig_id: id, remap_id: ghostId, remap_type: RemapType.GHOST } });
}

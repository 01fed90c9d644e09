// Opening pty ends in the tool. A master comes from its ptmx path (the
// kernel picks the lowest free index); like upstream we open it again and
// again (at most 32 times) until it gets the dumped index, so the slave is
// /dev/pts/N as before. Unlike upstream, a taken index is not fatal: the
// lowest free one is used and the slave's path names it (the restored
// program then sees another /dev/pts/N — logged). A slave's path is the
// dumped one with its index replaced; a master's path turns into its
// slave's as upstream inverts it (/dev/ptmx → /dev/pts/N, /dev/pts/ptmx →
// /dev/pts/N). Every open adds O_NOCTTY: no controlling terminal is ever
// acquired by accident (tty-ctty.ts does it on purpose). See pty(7).
import { closeSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { CriuError, type Logger } from '@criu-ts/base';
import { F, O, fcntl } from '@criu-ts/kernel';
import { ptyIndex } from './tty-ioctls.js';

const PTMX_TRIES = 32;
/** file status flags open(2) takes from an image's flags; O_ASYNC only works through F_SETFL */
const OPEN_FLAGS = O.ACCMODE | O.APPEND | O.NONBLOCK | O.SYNC | O.LARGEFILE | O.NOATIME;

/** Opens a terminal path with the image's file flags (plus O_NOCTTY, and O_CLOEXEC as Node adds it). */
export function openTtyPath(path: string, flags: number): number {
  const fd = openSync(path, (flags & OPEN_FLAGS) | O.NOCTTY);
  if ((flags & O.ASYNC) !== 0) fcntl(fd, F.SETFL, fcntl(fd, F.GETFL) | O.ASYNC);
  return fd;
}

export interface OpenedMaster {
  fd: number;
  index: number;
}

function openIndexed(path: string, flags: number): OpenedMaster {
  const fd = openTtyPath(path, flags);
  try {
    return { fd, index: ptyIndex(fd) };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** A pty master from `path`, with the pty index `want` if it is free, else the lowest free one. */
export function openPtmx(path: string, want: number, flags: number, log: Logger): OpenedMaster {
  const tried: OpenedMaster[] = [];
  let got: OpenedMaster | undefined;
  try {
    while (got === undefined && tried.length < PTMX_TRIES) {
      const opened = openIndexed(path, flags);
      if (opened.index === want) got = opened;
      else tried.push(opened);
      // the kernel hands out the lowest free index: past `want` means it is taken
      if (opened.index > want) break;
    }
    if (got === undefined) {
      got = tried.shift();
      if (got === undefined) throw new CriuError(`${path}: no pty master opened`, { code: 'EPTY' });
      log.warn(`pty index ${want} is taken: restored as index ${got.index} (its slave is now /dev/pts/${got.index})`);
    }
    return got;
  } finally {
    for (const other of tried) closeSync(other.fd);
  }
}

/** The slave path of index `index`, from a pty end's dumped path (upstream's path inversion for a master's). */
export function slavePath(path: string, master: boolean, index: number): string {
  const dir = dirname(path);
  if (master) return dir.endsWith('pts') ? `${dir}/${index}` : `${dir === '/' ? '' : dir}/pts/${index}`;
  return `${dir === '/' ? '' : dir}/${index}`;
}

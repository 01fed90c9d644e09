// Pty pairs inside the tree, made in the tool, once per pair (ctx.shared),
// by whichever needs the pair first: the master's files.img entry, a
// slave's, or the controlling-terminal step of a session leader. Making a
// pair: open the master (tty-pty-open.ts), unlock it, set its termios,
// packet mode, exclusive mode and owner; then, through a slave opened for
// the purpose and closed again, the slave's termios and exclusive mode and
// the bytes queued for the master; then, through the master, the bytes
// queued for the slave; last (once every slave entry is open) the pty lock.
// The master's description is handed out once, to its files.img entry;
// each slave entry is its own description (an open of /dev/pts/N). A slave
// whose pty was hung up gets a master of its own that is closed at once.
// See pty(7), ioctl_tty(2).
import { closeSync, fchownSync } from 'node:fs';
import { dirname } from 'node:path';
import { CriuError, type Logger } from '@criu-ts/base';
import { F, O, fcntl } from '@criu-ts/kernel';
import type { RestoreContext } from '../../restore-context.js';
import { ttyImages, isMaster, isHungUp, type TtyFile, type TtyImages } from './tty-images.js';
import { queueBytes, setExclusive, setOwner, setPacketMode, setPtyLock, setTtyParams } from './tty-params.js';
import { openPtmx, openTtyPath, slavePath } from './tty-pty-open.js';

export interface PtyPair {
  /** the dumped index, and the one the pair got now */
  index: number;
  restored: number;
  slavePath: string;
  /** our master fd until its files.img entry takes it */
  master: number | undefined;
  /** a copy of the master kept only to lock the pty once the last slave entry is open */
  lockFd: number | undefined;
  slavesLeft: number;
}

const masterId = (index: number): number => index * 2 + 1;
const slaveId = (index: number): number => index * 2;

function filesOf(images: TtyImages, infoId: number): TtyFile[] {
  return [...images.files.values()].filter((file) => file.info.id === infoId);
}

function log(ctx: RestoreContext): Logger {
  return ctx.log.child('tty');
}

/** The slave side's state and the bytes queued for the master, through a slave opened for it. */
function fillSlaveSide(ctx: RestoreContext, images: TtyImages, pair: PtyPair): void {
  const info = images.infos.get(slaveId(pair.index));
  const toMaster = images.data.get(masterId(pair.index));
  if ((info === undefined || isHungUp(info)) && toMaster === undefined) return;
  const slave = openTtyPath(pair.slavePath, O.RDWR);
  try {
    if (info !== undefined) {
      setTtyParams(slave, info);
      // the /dev/pts node's owner (grantpt(3) gives it the opener's uid; a program may fchown it)
      if (info.uid !== undefined && info.gid !== undefined) fchownSync(slave, info.uid, info.gid);
    }
    if (toMaster !== undefined) reportQueued(ctx, `master of pty ${pair.restored}`, toMaster, queueBytes(slave, toMaster));
    if (info !== undefined) setExclusive(slave, info);
  } finally {
    closeSync(slave);
  }
}

function reportQueued(ctx: RestoreContext, what: string, data: Buffer, put: number): void {
  if (put < data.length) log(ctx).warn(`${what}: ${data.length - put} of ${data.length} queued bytes could not be put back`);
  else log(ctx).debug(`${what}: ${put} queued bytes put back`);
}

function createPair(ctx: RestoreContext, index: number): PtyPair {
  const images = ttyImages(ctx);
  const info = images.infos.get(masterId(index));
  if (info === undefined) throw new CriuError(`pty ${index}: its master is not in the images`, { code: 'EIMAGE' });
  const masterFile = filesOf(images, info.id)[0];
  const slaveFiles = filesOf(images, slaveId(index));
  const opened = openPtmx(masterFile?.path ?? '/dev/ptmx', index, masterFile?.entry.flags ?? O.RDWR, log(ctx));
  const pair: PtyPair = {
    index,
    restored: opened.index,
    slavePath: slaveFiles.length > 0 ? slavePath(slaveFiles[0]!.path, false, opened.index) : slavePath(masterFile?.path ?? '/dev/ptmx', true, opened.index),
    master: opened.fd,
    lockFd: undefined,
    slavesLeft: slaveFiles.length,
  };
  try {
    setPtyLock(opened.fd, false);
    setTtyParams(opened.fd, info);
    setPacketMode(opened.fd, info.packet_mode);
    fillSlaveSide(ctx, images, pair);
    const toSlave = images.data.get(slaveId(index));
    if (toSlave !== undefined) reportQueued(ctx, `slave ${pair.slavePath}`, toSlave, queueBytes(opened.fd, toSlave));
    setExclusive(opened.fd, info);
    setOwner(opened.fd, masterFile?.entry.fown);
    if (info.locked && pair.slavesLeft === 0) setPtyLock(opened.fd, true);
    else if (info.locked) pair.lockFd = fcntl(opened.fd, F.DUPFD_CLOEXEC, 0);
  } catch (error) {
    closeSync(opened.fd);
    throw error;
  }
  log(ctx).info(`pty ${index}: made as index ${pair.restored} (${pair.slavePath})`);
  return pair;
}

/** The pty pair of dumped index `index`, made on first use. */
export function ptyPair(ctx: RestoreContext, index: number): PtyPair {
  const pairs = ctx.shared('files.tty.pairs', () => new Map<number, PtyPair>());
  let pair = pairs.get(index);
  if (pair === undefined) {
    pair = createPair(ctx, index);
    pairs.set(index, pair);
  }
  return pair;
}

/** The master's description, for its files.img entry (handed out once). */
export function takeMaster(ctx: RestoreContext, file: TtyFile): number {
  const pair = ptyPair(ctx, file.info.pty!.index);
  const fd = pair.master;
  if (fd === undefined) throw new CriuError(`pty ${pair.index}: a second master description (tty file ${file.entry.id}) of one pty`, { code: 'EIMAGE' });
  pair.master = undefined;
  return fd;
}

/** A new description of the slave of a pair, for a slave's files.img entry. */
export function openPairSlave(ctx: RestoreContext, file: TtyFile): number {
  const pair = ptyPair(ctx, file.info.pty!.index);
  const fd = openTtyPath(pair.slavePath, file.entry.flags);
  setOwner(fd, file.entry.fown);
  pair.slavesLeft--;
  if (pair.slavesLeft === 0 && pair.lockFd !== undefined) {
    setPtyLock(pair.lockFd, true);
    closeSync(pair.lockFd);
    pair.lockFd = undefined;
  }
  return fd;
}

/** A slave that was hung up when dumped: opened on a master of its own, which is closed at once. */
export function openHungSlave(ctx: RestoreContext, file: TtyFile): number {
  const index = file.info.pty!.index;
  const master = openPtmx(`${dirname(file.path)}/ptmx`, index, O.RDWR, log(ctx));
  try {
    setPtyLock(master.fd, false);
    const fd = openTtyPath(slavePath(file.path, false, master.index), file.entry.flags);
    setOwner(fd, file.entry.fown);
    log(ctx).info(`pty ${index}: hung-up slave made on index ${master.index}`);
    return fd;
  } finally {
    closeSync(master.fd);
  }
}

/** Is the tty-info entry one end of a pair whose both ends are in the images? */
export function inPair(images: TtyImages, infoId: number): boolean {
  const info = images.infos.get(infoId);
  if (info === undefined || info.pty === undefined) return false;
  return isMaster(info) || images.infos.has(masterId(info.pty.index));
}

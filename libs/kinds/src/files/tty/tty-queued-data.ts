// Bytes queued in a pty pair whose both ends are dumped: what was written
// to the master and not yet read from the slave, and the reverse. A
// terminal cannot be peeked, so, as CRIU does, each end is read dry
// (non-blocking, the description's flags put back after) and the bytes
// are written back at once through the other end, which queues them again
// for the same reader — the tree is frozen, nobody reads in between. One
// tty_data_entry {tty_id = the info id of the end read, data} per end that
// held bytes, in tty-data.img. Like CRIU, a canonical-mode slave gives up
// only complete lines, and the bytes written back pass through the line
// discipline again (echo, output processing). A packet-mode master's
// headers are not saved. See pty(7), termios(3), ioctl_tty(2) TIOCPKT.
import { closeSync, readSync, writeSync } from 'node:fs';
import type { Logger } from '@criu-ts/base';
import { F, O, fcntl, pidfdGetfd, pidfdOpen } from '@criu-ts/kernel';
import type { DumpContext } from '../../dump-context.js';
import { writeShared } from '../image-entry.js';
import type { TtyEnd } from './tty-table.js';

/** More than a tty queue holds (n_tty keeps 4 KiB; a flip buffer some more): a bound against an outside writer. */
const QUEUE_LIMIT = 1 << 16;

const codeOf = (error: unknown): unknown => (error instanceof Error && 'code' in error ? error.code : undefined);

/**
 * Read what `fd` (non-blocking) holds until it would block, ends, or
 * reaches `limit`. A master in packet mode (TIOCPKT) starts every read with
 * a header byte: 0 before data (dropped), else a lone status byte, which
 * cannot be queued again and is counted in `statusLost`.
 */
export function drainTty(fd: number, limit = QUEUE_LIMIT, packet = false): { data: Buffer; statusLost: number } {
  const buf = Buffer.alloc(limit + 1);
  let got = 0;
  let statusLost = 0;
  while (got < limit) {
    let n: number;
    try {
      n = readSync(fd, buf, got, limit + 1 - got, null);
    } catch (error) {
      // EAGAIN: nothing more queued; EIO: a master whose slaves are all closed
      if (codeOf(error) === 'EAGAIN' || codeOf(error) === 'EIO') break;
      throw error;
    }
    if (n === 0) break;
    if (packet) {
      if (buf[got] !== 0) statusLost++;
      buf.copyWithin(got, got + 1, got + n);
      n--;
    }
    got += n;
  }
  return { data: buf.subarray(0, Math.min(got, limit)), statusLost };
}

/** Write `data` into `fd` (non-blocking); returns how many bytes went in. */
export function refillTty(fd: number, data: Buffer): number {
  let put = 0;
  while (put < data.length) {
    try {
      put += writeSync(fd, data, put, data.length - put);
    } catch (error) {
      if (codeOf(error) === 'EAGAIN') break;
      throw error;
    }
  }
  return put;
}

/** Our copy of the task's fd for `end`, non-blocking; the undo closes it and puts the flags back. */
function pullNonBlocking(end: TtyEnd, undo: (() => void)[]): number {
  const pidfd = pidfdOpen(end.pid);
  let fd: number;
  try {
    fd = pidfdGetfd(pidfd, end.fd);
  } finally {
    closeSync(pidfd);
  }
  undo.push(() => closeSync(fd));
  const flags = fcntl(fd, F.GETFL);
  if ((flags & O.NONBLOCK) === 0) {
    fcntl(fd, F.SETFL, flags | O.NONBLOCK);
    undo.push(() => fcntl(fd, F.SETFL, flags));
  }
  return fd;
}

function writeBack(log: Logger, fd: number, data: Buffer, to: TtyEnd): void {
  const put = refillTty(fd, data);
  if (put < data.length) log.warn(`tty ${to.link}: ${data.length - put} of ${data.length} queued bytes could not be written back`);
}

/** Save (and put back) the queued bytes of the pty pair slave/master. */
export function dumpQueuedData(ctx: DumpContext, slave: TtyEnd, master: TtyEnd): void {
  const log = ctx.log.child('tty');
  const undo: (() => void)[] = [];
  let toSlave: Buffer;
  let toMaster: Buffer;
  try {
    const slaveFd = pullNonBlocking(slave, undo);
    const masterFd = pullNonBlocking(master, undo);
    toSlave = drainTty(slaveFd).data;
    const fromMaster = drainTty(masterFd, QUEUE_LIMIT, master.packetMode);
    toMaster = fromMaster.data;
    if (fromMaster.statusLost > 0) log.warn(`tty ${master.link}: ${fromMaster.statusLost} packet-mode status events read and not put back`);
    writeBack(log, masterFd, toSlave, master);
    writeBack(log, slaveFd, toMaster, slave);
  } finally {
    for (const step of undo.reverse()) step();
  }
  for (const [end, data] of [[slave, toSlave], [master, toMaster]] as const) {
    if (data.length === 0) continue;
    log.info(`tty index ${end.index}: ${data.length} bytes queued for the ${end.driver.role} (id ${end.infoId})`);
    writeShared(ctx, 'tty-data', { message: { tty_id: end.infoId, data } });
  }
}

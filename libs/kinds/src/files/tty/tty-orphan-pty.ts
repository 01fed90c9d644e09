// RPC orphan_pts_master (upstream: an inherited unpaired slave in tty.c,
// sent by cr-service.c): the external terminal — a pty slave whose master
// was not dumped — is restored onto a new pty instead of criu's terminal.
// Its master is opened from the slave's devpts (the ptmx beside the dumped
// slave path; the dumped index if free, as upstream tries, else the lowest
// free one, logged), unlocked, and the dumped termios, locked termios,
// window size and node owner are set through the slave; then the master is handed to the
// RPC client (the orphan-pts-master notification with the fd attached,
// which runc passes on to its console socket). Each fd of the terminal is
// an open of the new slave with its entry's flags. Our master is kept until
// every task has its fds, then closed: the client holds it. A client that
// cannot take it, or refuses it, fails the restore. See pty(7).
import { closeSync, fchownSync } from 'node:fs';
import { dirname } from 'node:path';
import { O } from '@criu-ts/kernel';
import type { RestoreContext } from '../../restore-context.js';
import { keepOwnFd } from '../restore-table.js';
import type { TtyFile } from './tty-images.js';
import { setPtyLock, setTtyParams } from './tty-params.js';
import { openPtmx, openTtyPath, slavePath } from './tty-pty-open.js';

interface OrphanPty {
  slavePath: string;
}

function createOrphanPty(ctx: RestoreContext, file: TtyFile, send: (master: number) => void): OrphanPty {
  const log = ctx.log.child('tty');
  const master = openPtmx(`${dirname(file.path)}/ptmx`, file.info.pty!.index, O.RDWR, log);
  keepOwnFd(ctx, master.fd);
  setPtyLock(master.fd, false);
  const path = slavePath(file.path, false, master.index);
  const slave = openTtyPath(path, O.RDWR);
  try {
    setTtyParams(slave, file.info);
    // the /dev/pts node's owner, as for a pair's slave (tty-pairs.ts)
    if (file.info.uid !== undefined && file.info.gid !== undefined) fchownSync(slave, file.info.uid, file.info.gid);
  } finally {
    closeSync(slave);
  }
  send(master.fd);
  log.info(`${file.path} (tty file ${file.entry.id}) is restored onto a new pty ${path}, its master handed to the RPC client (orphan_pts_master)`);
  return { slavePath: path };
}

/** Our fd on the new pty's slave standing in for the external terminal `file` (the pty made and its master sent once). */
export function openOrphanSlave(ctx: RestoreContext, file: TtyFile, send: (master: number) => void): number {
  const pty = ctx.shared('files.tty.orphan-pty', () => createOrphanPty(ctx, file, send));
  return openTtyPath(pty.slavePath, file.entry.flags);
}

// Terminals (pty masters and slaves, /dev/console, /dev/tty, virtual
// consoles), as CRIU 4.x writes them: the path as a reg file of its own
// (regf_id), then tty_file_entry {id, tty_info_id, flags, fown, regf_id} in
// files.img, type TTY; once per terminal a tty_info_entry in tty-info.img
// {id, type, locked, exclusive, packet_mode, sid, pgrp, rdev, dev, uid,
// gid, termios, termios_locked, winsize, pty.index}. Both ends of a pty
// pair share the index (a master's from TIOCGPTN, a slave's from its
// path). Pairing, sessions and queued bytes are settled once all tasks are
// dumped (tty-tree-kind.ts). Not supported: legacy BSD ptys, serial lines,
// /dev/tty0, pty indices above 1000, external terminals given by
// --external/--inherit-fd. The restore half is in tty-restore.ts.
// See pty(7), ioctl_tty(2), criu(8) --shell-job.
import { UnsupportedError } from '@criu-ts/base';
import { FdTypes, type TtyInfoEntry } from '@criu-ts/images';
import type { FdDumpEnv, FdKind } from '../fd-kind.js';
import { writeShared } from '../image-entry.js';
import { S_IF, devMajor, devMinor, fileType, type OpenFd } from '../open-fd.js';
import { regFileEntry } from '../reg-file.js';
import { MAX_PTY_INDEX, classifyTty, ttyInfoId, type TtyDriver } from './tty-driver.js';
import { localSession, ptyIndex, readTtyState, taskSession } from './tty-ioctls.js';
import { imagePid } from '../../dump-context.js';
import { ttyTable, type TtyEnd } from './tty-table.js';
import { openTtyEntry, ttyInstalled } from './tty-restore.js';
import { ttyFile } from './tty-images.js';

function classify(fd: OpenFd): ReturnType<typeof classifyTty> {
  if (fileType(fd.stat) !== S_IF.CHR) return undefined;
  return classifyTty(devMajor(fd.stat.rdev), devMinor(fd.stat.rdev));
}

/** The pty index of a slave: N of /dev/pts/N (the devpts minor if the path says nothing). */
function slaveIndex(fd: OpenFd): number {
  if (fd.target.kind === 'pts') return fd.target.index;
  const last = /\/(\d+)$/.exec(fd.link);
  return last !== null ? Number(last[1]) : devMinor(fd.stat.rdev);
}

function ttyIndex(fd: OpenFd, driver: TtyDriver): number {
  if (driver.role === 'single') return driver.index ?? 0;
  const index = driver.role === 'master' ? ptyIndex(fd.local) : slaveIndex(fd);
  if (index > MAX_PTY_INDEX) throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `pty ${fd.link} with index ${index} (above ${MAX_PTY_INDEX})` });
  return index;
}

/** u32 of a userspace dev_t, as CRIU's tty-info holds st_rdev and st_dev */
const devU32 = (dev: bigint): number => Number(dev & 0xffffffffn);

function infoEntry(fd: OpenFd, end: TtyEnd, state: ReturnType<typeof readTtyState>): TtyInfoEntry {
  const entry: TtyInfoEntry = {
    id: end.infoId,
    type: end.driver.type,
    locked: state.locked,
    exclusive: state.exclusive,
    packet_mode: state.packetMode,
    sid: state.sid,
    pgrp: state.pgrp,
    rdev: devU32(fd.stat.rdev),
    dev: devU32(fd.stat.dev),
    uid: Number(fd.stat.uid),
    gid: Number(fd.stat.gid),
  };
  if (end.driver.role !== 'single') entry.pty = { index: end.index };
  if (state.termios !== undefined) entry.termios = state.termios;
  if (state.termiosLocked !== undefined) entry.termios_locked = state.termiosLocked;
  if (state.winsize !== undefined) entry.winsize = state.winsize;
  return entry;
}

/** Write the terminal's tty_info_entry the first time one of its fds is met. */
function dumpInfoOnce(env: FdDumpEnv, fd: OpenFd, driver: TtyDriver, index: number): number {
  const infoId = ttyInfoId(driver, index);
  const table = ttyTable(env.ctx);
  const known = table.get(infoId);
  if (known !== undefined) {
    if (known.rdev !== fd.stat.rdev || known.dev !== fd.stat.dev) {
      throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `terminal ${fd.link} beside ${known.link} of pid ${known.pid} (same index ${index}, another devpts)` });
    }
    return infoId;
  }
  // sid and pgrp as the images hold them (the tree's pid namespace): a master's through our copy are ours to translate
  const local = driver.role === 'master' ? localSession(fd.local) : undefined;
  const session = local !== undefined ? { sid: imagePid(env.ctx, local.sid), pgrp: imagePid(env.ctx, local.pgrp) } : driver.role === 'master' ? undefined : taskSession(env.ctx, env.task, fd.fd);
  const state = readTtyState(fd.local, driver.role !== 'single', session);
  const end: TtyEnd = { infoId, driver, index, pid: fd.pid, fd: fd.fd, link: fd.link, rdev: fd.stat.rdev, dev: fd.stat.dev, sid: state.sid, pgrp: state.pgrp, hungUp: state.hungUp, packetMode: state.packetMode };
  table.set(infoId, end);
  writeShared(env.ctx, 'tty-info', { message: infoEntry(fd, end, state) });
  env.log.info(`tty ${driver.name} index ${index} id ${infoId}: sid ${state.sid} pgrp ${state.pgrp}${state.hungUp ? ' (hung up)' : ''}`);
  return infoId;
}

export const ttyKind: FdKind = {
  name: 'tty',
  matches: (fd) => classify(fd) !== undefined,
  // its session and foreground group are the holder's, which a file in flight has none of (upstream refuses it too)
  inFlightRefused: 'a terminal',
  dump(env, fd, id) {
    const found = classify(fd);
    if (found === undefined || 'refused' in found) {
      throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `${found?.refused ?? 'terminal'} ${fd.link}` });
    }
    const index = ttyIndex(fd, found.driver);
    const regfId = env.ctx.nextId();
    writeShared(env.ctx, 'files', { message: { type: FdTypes.REG, id: regfId, reg: regFileEntry(env, fd, regfId) } });
    const infoId = dumpInfoOnce(env, fd, found.driver, index);
    return { type: FdTypes.TTY, id, tty: { id, tty_info_id: infoId, flags: fd.flags, fown: fd.fown, regf_id: regfId } };
  },
  type: FdTypes.TTY,
  open: openTtyEntry,
  installed: ttyInstalled,
  // criu(8) --inherit-fd fd[N]:tty[RDEV:DEV], the name upstream gives a terminal (hex st_rdev, st_dev)
  inheritNames: (env, entry) => {
    const info = ttyFile(env.ctx, entry.id).info;
    return [`tty[${(info.rdev >>> 0).toString(16)}:${((info.dev ?? 0) >>> 0).toString(16)}]`];
  },
};

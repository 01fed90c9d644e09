// What about the terminals can only be settled once every task's fds are
// dumped (so it runs in afterTasks): each
// terminal's session must be led by a dumped task, and each pty slave
// must have its master in the tree — otherwise it is the terminal of the
// shell the tree runs from, which criu(8) dumps only with -j/--shell-job
// or, over RPC, orphan_pts_master (at most one such terminal; restore then
// gives it the terminal criu runs on, or a new pty whose master goes to
// the RPC client). Then the bytes queued in each pty pair go to tty-data.img
// (tty-queued-data.ts). Saved: tty-data.img; the rest are checks.
// On restore: a session leader gets its controlling terminal as soon as
// it is made a session leader (sessionCreated, so members created after it
// inherit it), and the foreground group once all groups exist (restore) —
// unless installing its fds did so already (tty-ctty.ts).
import { UnsupportedError, type Logger } from '@criu-ts/base';
import { readStat } from '@criu-ts/proc';
import { imagePid, type DumpContext } from '../../dump-context.js';
import type { TaskKind } from '../../kind.js';
import { devMajor, devMinor } from '../open-fd.js';
import { peerInfoId } from './tty-driver.js';
import { dumpQueuedData } from './tty-queued-data.js';
import { ttyTable, type TtyEnd } from './tty-table.js';
import { restoreSessionTerminal } from './tty-ctty.js';

const SHELL_JOB_HINT = 'dump it with -j/--shell-job (and restore with -j): the restored tree then gets the terminal criu runs on';

/** Is `sid` (the images' number) led by a dumped task? As CRIU asks: the first task of that session must be its leader. */
function sessionDumped(ctx: DumpContext, sid: number): boolean {
  const first = ctx.tasks.find((task) => (task.ns?.sid ?? task.sid) === sid);
  return first !== undefined && imagePid(ctx, first.pid) === sid;
}

function checkSessions(ctx: DumpContext, ends: readonly TtyEnd[], log: Logger): void {
  for (const end of ends) {
    if (end.sid === 0 || sessionDumped(ctx, end.sid)) continue;
    if (!ctx.options.shellJob) {
      throw new UnsupportedError({ pid: end.pid, fd: end.fd, kind: `terminal ${end.link} of session ${end.sid}, whose leader is not dumped,`, hint: SHELL_JOB_HINT });
    }
    log.info(`${end.link} (pid ${end.pid} fd ${end.fd}) belongs to session ${end.sid} outside the tree (--shell-job)`);
  }
}

/** Slaves whose master is not in the dump: the shell's terminal; only one, and only with -j (or RPC orphan_pts_master, as upstream). */
function checkPairs(ctx: DumpContext, table: ReadonlyMap<number, TtyEnd>, log: Logger): void {
  let external: TtyEnd | undefined;
  for (const end of table.values()) {
    if (end.driver.role !== 'slave' || end.hungUp || table.has(peerInfoId(end.infoId))) continue;
    if (!ctx.options.shellJob && ctx.options.orphanPtsMaster !== true) {
      throw new UnsupportedError({ pid: end.pid, fd: end.fd, kind: `terminal ${end.link}, a pty slave whose master is outside the dumped tree,`, hint: SHELL_JOB_HINT });
    }
    if (external !== undefined) {
      throw new UnsupportedError({
        pid: end.pid,
        fd: end.fd,
        kind: `a second external terminal ${end.link} (besides ${external.link} of pid ${external.pid})`,
        hint: '--shell-job takes one external terminal',
      });
    }
    external = end;
    log.info(`${end.link} (pid ${end.pid} fd ${end.fd}) is the external terminal (${ctx.options.shellJob ? '--shell-job' : 'orphan_pts_master'})`);
  }
}

/** A session leader's controlling terminal that no dumped fd shows is not restored (as in CRIU): say so. */
function warnUnseenCtty(ctx: DumpContext, ends: readonly TtyEnd[], log: Logger): void {
  for (const task of ctx.tasks) {
    if (task.zombie || task.pid !== task.sid || ends.some((end) => end.sid === imagePid(ctx, task.pid))) continue;
    const { tty_nr: ttyNr } = readStat(task.pid);
    if (ttyNr === 0) continue;
    const dev = `${devMajor(BigInt(ttyNr))}:${devMinor(BigInt(ttyNr))}`;
    log.warn(`pid ${task.pid}: its controlling terminal (${dev}) is open in no dumped fd; it is not saved`);
  }
}

function dumpPairsData(ctx: DumpContext, table: ReadonlyMap<number, TtyEnd>): void {
  for (const master of table.values()) {
    const slave = table.get(peerInfoId(master.infoId));
    if (master.driver.role !== 'master' || slave === undefined || master.hungUp || slave.hungUp) continue;
    dumpQueuedData(ctx, slave, master);
  }
}

export const ttyTreeKind: TaskKind = {
  name: 'ttys',
  // tty-info.img is written by the fd kind (tty-kind.ts) as each terminal is met
  images: ['tty-info', 'tty-data'],
  dump() {
    // nothing per task: see afterTasks
  },
  afterTasks(ctx) {
    const table = ttyTable(ctx);
    const ends = [...table.values()];
    const log = ctx.log.child('tty');
    checkSessions(ctx, ends, log);
    checkPairs(ctx, table, log);
    warnUnseenCtty(ctx, ends, log);
    dumpPairsData(ctx, table);
  },
  sessionCreated(ctx, task) {
    // members created after this inherit the controlling terminal; groups do not exist yet
    restoreSessionTerminal(ctx, task, { foreground: false });
  },
  restore(ctx, task) {
    restoreSessionTerminal(ctx, task, { foreground: true });
    return 'done';
  },
};

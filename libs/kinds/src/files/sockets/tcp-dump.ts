// Dumping a TCP connection (--tcp-established): lock it in the network
// (net-lock), put the socket into repair mode through a copy of ours, and
// save its stream into tcp-stream-INO.img (tcp-repair.ts). The copy stays
// open until the tool ends: after a dump that kills the tree, the socket
// is closed still in repair mode, so the peer is sent nothing (no FIN, no
// RST) and the lock keeps its packets away until restore. If the tree runs
// on (failure, -R) repair is turned off again (which clears SO_REUSEADDR:
// the saved value goes back) and the lock removed. With --tcp-close the
// connection is saved as a plain socket, to be restored closed.
import { closeSync } from 'node:fs';
import type { DumpContext } from '../../dump-context.js';
import { F, SO, SOL, TCP_OPT, fcntl, getsockoptInt, setsockoptInt } from '@criu-ts/kernel';
import type { InetSkEntry, TcpOptsEntry } from '@criu-ts/images';
import { createNetLock, type Connection, type NetLock, connectionText } from '../../net-lock/index.js';
import type { FdDumpEnv } from '../fd-kind.js';
import type { OpenFd } from '../open-fd.js';
import { writeShared } from '../image-entry.js';
import { saveStream, setRepair } from './tcp-repair.js';
import { treeNetNs } from '../../ns/net-ns.js';

/** Undo when the tree goes on running (or, where the engine knows no -R hook, when the dump fails). */
function whenRunOn(ctx: DumpContext, undo: () => void): void {
  if (ctx.onRunOn !== undefined) ctx.onRunOn(undo);
  else ctx.onAbort?.(undo);
}

/** The dump's network lock, made on first use; its release is the last undo when the tree runs on. */
function netLockOf(ctx: DumpContext): NetLock {
  return ctx.shared('net-lock', () => {
    const lock = createNetLock(ctx.options.networkLock ?? 'iptables', ctx.runId ?? String(ctx.tasks[0]?.pid ?? 0), ctx.log.child('netlock'));
    whenRunOn(ctx, () => lock.release());
    return lock;
  });
}

/** The per-connection lock of a tree whose network namespace is locked whole: nothing more to do. */
const NAMESPACE_LOCKED: NetLock = { method: 'skip', lock: () => undefined, unlock: () => undefined, release: () => undefined };

/** tcp_opts_entry as upstream writes it: each option only when set. */
export function readTcpOpts(fd: number): TcpOptsEntry {
  const opts: TcpOptsEntry = {};
  const nodelay = getsockoptInt(fd, SOL.TCP, TCP_OPT.NODELAY);
  const cork = getsockoptInt(fd, SOL.TCP, TCP_OPT.CORK);
  if (nodelay !== 0) opts.nodelay = true;
  if (cork !== 0) opts.cork = true;
  for (const [name, option] of [['keepcnt', TCP_OPT.KEEPCNT], ['keepidle', TCP_OPT.KEEPIDLE], ['keepintvl', TCP_OPT.KEEPINTVL]] as const) {
    const value = getsockoptInt(fd, SOL.TCP, option);
    if (value !== 0) opts[name] = value;
  }
  return opts;
}

function putBack(fd: number, lock: NetLock, conn: Connection, reuseaddr: boolean, log: FdDumpEnv['log']): void {
  try {
    setRepair(fd, false, `TCP connection ${connectionText(conn)}`);
    setsockoptInt(fd, SOL.SOCKET, SO.REUSEADDR, reuseaddr ? 1 : 0);
  } finally {
    closeSync(fd);
    lock.unlock(conn);
  }
  log.debug(`TCP connection ${connectionText(conn)} taken out of repair mode`);
}

/**
 * Saves the connection of `isk` (a TCP socket with a peer): its state goes
 * into isk.state, its stream into tcp-stream-INO.img.
 */
export function dumpTcpConnection(env: FdDumpEnv, fd: OpenFd, isk: InetSkEntry, conn: Connection): void {
  const what = `pid ${fd.pid} fd ${fd.fd}: TCP connection ${connectionText(conn)}`;
  if (env.ctx.options.tcpClose === true) {
    env.log.info(`${what}: saved to be restored closed (--tcp-close)`);
    return;
  }
  // a tree with a network namespace of its own has it locked whole (ns/net-ns.ts), as upstream
  const lock = treeNetNs(env.ctx) === undefined ? netLockOf(env.ctx) : NAMESPACE_LOCKED;
  const repairFd = fcntl(fd.local, F.DUPFD_CLOEXEC, 0);
  try {
    lock.lock(conn);
  } catch (error) {
    closeSync(repairFd);
    throw error;
  }
  const undo = (): void => putBack(repairFd, lock, conn, isk.opts.reuseaddr === true, env.log);
  whenRunOn(env.ctx, undo);
  setRepair(repairFd, true, what);
  const saved = saveStream(repairFd, what);
  isk.state = saved.state;
  writeShared(env.ctx, 'tcp-stream', { message: saved.entry, payload: saved.queues }, isk.ino);
  env.log.info(`${what}: state ${saved.state}, ${saved.entry.inq_len} bytes received, ${saved.entry.outq_len} to send (${saved.entry.unsq_len ?? 0} not sent yet)`);
}

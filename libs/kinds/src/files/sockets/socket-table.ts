// What the whole dump knows about sockets, gathered once (DumpContext.shared):
// the kernel's sock_diag view of every unix socket, and of inet sockets per
// family and protocol (asked for on first use), plus the inode of every
// socket some task of the dumped tree holds an fd of — to tell a peer inside
// the tree from one outside it (or from a socket in flight, met in a queue
// and known only once every task is dumped). The tree is frozen, so none of it changes
// while the dump runs. sock_diag is asked in the tree's network namespace
// (criu's, or the root's own: socket-ns.ts).
import { IPPROTO, TCP_STATE, listInetSockets, listUnixSockets, type InetDiagSocket, type UnixDiagSocket } from '@criu-ts/kernel';
import { listFds } from '@criu-ts/proc';
import type { DumpContext } from '../../dump-context.js';
import type { FdDumpEnv } from '../fd-kind.js';
import type { OpenFd } from '../open-fd.js';
import { inTreeNetNs } from './socket-ns.js';

/** A unix socket whose peer is in no task's fd table: maybe a socket in flight not met yet, decided once every task is dumped. */
export interface UnresolvedPeer {
  env: FdDumpEnv;
  /** the socket (its local copy is closed by then) */
  fd: OpenFd;
  peer: UnixDiagSocket;
}

export interface SocketTable {
  /** unix sockets by inode */
  readonly unix: ReadonlyMap<number, UnixDiagSocket>;
  /** inet sockets of one family and protocol, by inode */
  inet(family: number, protocol: number): ReadonlyMap<number, InetDiagSocket>;
  /** inodes of the sockets open in the dumped tree's fd tables */
  readonly treeInodes: ReadonlySet<number>;
  /** unix sockets whose inode a listener lists as a pending connection → that listener */
  listenerOf(ino: number): UnixDiagSocket | undefined;
  /** inodes of external peers already written to files.img (--ext-unix-sk) */
  readonly externalWritten: Set<number>;
  /** inodes of the unix sockets dumped in flight (met in a queue, held by no task) */
  readonly inFlight: Set<number>;
  /** peers to decide on once every task is dumped */
  readonly unresolved: UnresolvedPeer[];
}

/** TCP states sock_diag is asked about: listeners and every connected state (as upstream). */
const TCP_STATES =
  (1 << TCP_STATE.LISTEN) | (1 << TCP_STATE.ESTABLISHED) | (1 << TCP_STATE.FIN_WAIT1) | (1 << TCP_STATE.FIN_WAIT2) |
  (1 << TCP_STATE.CLOSE_WAIT) | (1 << TCP_STATE.LAST_ACK) | (1 << TCP_STATE.CLOSING) | (1 << TCP_STATE.SYN_SENT);

function byInode<T extends { ino: number }>(sockets: readonly T[]): Map<number, T> {
  return new Map(sockets.map((s) => [s.ino, s]));
}

function treeSocketInodes(ctx: DumpContext): Set<number> {
  const inodes = new Set<number>();
  for (const task of ctx.tasks) {
    if (task.zombie) continue;
    for (const { target } of listFds(task.pid)) if (target.kind === 'socket') inodes.add(target.inode);
  }
  return inodes;
}

function listenerIndex(unix: ReadonlyMap<number, UnixDiagSocket>): Map<number, UnixDiagSocket> {
  const index = new Map<number, UnixDiagSocket>();
  for (const sk of unix.values()) for (const icon of sk.icons) if (icon !== 0) index.set(icon, sk);
  return index;
}

function createSocketTable(ctx: DumpContext): SocketTable {
  const unix = byInode(inTreeNetNs(ctx, () => listUnixSockets()));
  const listeners = listenerIndex(unix);
  const inet = new Map<string, Map<number, InetDiagSocket>>();
  return {
    unix,
    inet(family, protocol) {
      const key = `${family}/${protocol}`;
      let table = inet.get(key);
      if (table === undefined) {
        table = byInode(inTreeNetNs(ctx, () => listInetSockets(family, protocol, protocol === IPPROTO.TCP ? TCP_STATES : 0xffffffff)));
        inet.set(key, table);
      }
      return table;
    },
    treeInodes: treeSocketInodes(ctx),
    listenerOf: (ino) => listeners.get(ino),
    externalWritten: new Set(),
    inFlight: new Set(),
    unresolved: [],
  };
}

/** The dump-wide socket table, built on first use. */
export function socketTable(ctx: DumpContext): SocketTable {
  return ctx.shared('sockets.table', () => createSocketTable(ctx));
}

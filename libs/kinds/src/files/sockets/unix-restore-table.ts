// What the restore of unix sockets shares (RestoreContext.shared): every
// unix_sk_entry of the dump by id and by inode (files.img, or unixsk.img of
// older images), the queued messages of sk-queues.img by the id they are
// for, the "queuer" of each socket (the first socket whose peer it is:
// the one that writes its queue back, as upstream picks it), and the
// sockets made but not handed out yet (the other end of a pair, a peer
// made early so something could connect to it). Every fd made is kept in
// the files kind's table of our fds (restore-table.ts), which closes them
// once every task has its fds, or when the restore gives up.
import { existsSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { FdTypes, imagePath, readEntries, readImageEntries, type UnixSkEntry } from '@criu-ts/images';
import type { RestoreContext } from '../../restore-context.js';
import { keepOwnFd } from '../restore-table.js';
import { UNIX_PATH_MAX } from './socket-restore-calls.js';
import { removeStaleSockets } from './unix-bind.js';

/** unix_sk_entry.uflags (upstream sk-unix.h) */
export const USK = { EXTERN: 1, SERVICE: 2, CALLBACK: 4, INHERIT: 8 } as const;

export interface QueuedPacket {
  data: Buffer;
  /** SCM entries the image holds (fds in flight: not restored) */
  scm: number;
}

export interface UnixRestoreTable {
  readonly byId: ReadonlyMap<number, UnixSkEntry>;
  readonly byIno: ReadonlyMap<number, UnixSkEntry>;
  /** id → id of the socket that writes its queue (absent: nobody points at it) */
  readonly queuer: ReadonlyMap<number, number>;
  /** id → its queued messages, in order */
  readonly packets: ReadonlyMap<number, QueuedPacket[]>;
  /** id → our fd, made and set up as far as it can be, not handed out yet */
  readonly made: Map<number, number>;
  /** ids connected to their peer (and having written the peer's queue if they are its queuer) */
  readonly connected: Set<number>;
  /** ids whose own queue has been written back */
  readonly queued: Set<number>;
  /** ids whose flags, owner, options and shutdown are set (nothing more to do but hand out) */
  readonly finished: Set<number>;
  /** id → O_PATH fd of a socket bound at a name that was deleted (peers connect through /proc/self/fd) */
  readonly ghosts: Map<number, number>;
  /** hands an fd of ours to whoever closes our fds at the end; returns it */
  keep(fd: number): number;
}

function unixEntries(dir: string): UnixSkEntry[] {
  const entries: UnixSkEntry[] = [];
  if (existsSync(imagePath(dir, 'files'))) {
    for (const file of readEntries(dir, 'files')) {
      if (file.type === FdTypes.UNIXSK && file.usk !== undefined) entries.push(file.usk);
    }
  }
  if (existsSync(imagePath(dir, 'unixsk'))) entries.push(...readEntries(dir, 'unixsk'));
  return entries;
}

/** Refuses names longer than sun_path holds. */
function checkEntry(entry: UnixSkEntry): void {
  if (entry.name.length > UNIX_PATH_MAX) {
    throw new CriuError(`unix socket id ${entry.id} ino ${entry.ino}: name of ${entry.name.length} bytes (at most ${UNIX_PATH_MAX})`, { code: 'EINVAL' });
  }
}

function readPackets(dir: string): Map<number, QueuedPacket[]> {
  const packets = new Map<number, QueuedPacket[]>();
  const path = imagePath(dir, 'sk-queues');
  if (!existsSync(path)) return packets;
  for (const entry of readImageEntries(path, 'sk-queues')) {
    const message = entry.message as { id_for: number; length: number; scm?: unknown[] };
    const data = entry.payload ?? Buffer.alloc(0);
    const list = packets.get(message.id_for) ?? [];
    list.push({ data, scm: message.scm?.length ?? 0 });
    packets.set(message.id_for, list);
  }
  return packets;
}

/** The table built from the image files; exported for tests. */
export function buildUnixTable(dir: string, keep: (fd: number) => number): UnixRestoreTable {
  const entries = unixEntries(dir);
  entries.forEach(checkEntry);
  const byIno = new Map(entries.map((e) => [e.ino, e]));
  const queuer = new Map<number, number>();
  for (const entry of entries) {
    if (entry.peer === 0) continue;
    const peer = byIno.get(entry.peer);
    if (peer !== undefined && !queuer.has(peer.id)) queuer.set(peer.id, entry.id);
  }
  return {
    byId: new Map(entries.map((e) => [e.id, e])),
    byIno,
    queuer,
    packets: readPackets(dir),
    made: new Map(),
    connected: new Set(),
    queued: new Set(),
    finished: new Set(),
    ghosts: new Map(),
    keep,
  };
}

/** The restore's table, built on first use — when the stale socket files of the dump's names go, before any bind. */
export function unixTable(ctx: RestoreContext): UnixRestoreTable {
  return ctx.shared('sockets.unix-restore', () => {
    const table = buildUnixTable(ctx.options.imagesDir, (fd) => keepOwnFd(ctx, fd));
    const removed = removeStaleSockets(table.byId.values(), USK.EXTERN);
    if (removed > 0) ctx.log.info(`unix: removed ${removed} stale socket file(s) at the dump's socket names`);
    return table;
  });
}

// What the restore of unix sockets shares (RestoreContext.shared): every
// unix_sk_entry of the dump by id and by inode (files.img, or unixsk.img of
// older images), the queued messages of sk-queues.img by the id they are
// for with the ids of the files in flight they carry, the "queuer" of each socket (the first socket whose peer it is:
// the one that writes its queue back, as upstream picks it), and the
// sockets made but not handed out yet (the other end of a pair, a peer
// made early so something could connect to it). Every fd made is kept in
// the files kind's table of our fds (restore-table.ts), which closes them
// once every task has its fds, or when the restore gives up.
import { existsSync } from 'node:fs';
import { CriuError, ImageError } from '@criu-ts/base';
import { SCM } from '@criu-ts/kernel';
import { FdTypes, imagePath, readEntries, readImageEntries, type ImageEntry, type SkPacketEntry, type UnixSkEntry } from '@criu-ts/images';
import type { RestoreContext } from '../../restore-context.js';
import { keepOwnFd, restoreFiles } from '../restore-table.js';
import { UNIX_PATH_MAX } from './socket-restore-calls.js';
import { removeStaleSockets } from './unix-bind.js';

/** unix_sk_entry.uflags (upstream sk-unix.h) */
export const USK = { EXTERN: 1, SERVICE: 2, CALLBACK: 4, INHERIT: 8 } as const;

export interface QueuedPacket {
  data: Buffer;
  /** files.img ids of the fds in flight it carries (SCM_RIGHTS), in order; empty when none */
  rights: readonly number[];
}

export interface UnixRestoreTable {
  readonly byId: ReadonlyMap<number, UnixSkEntry>;
  readonly byIno: ReadonlyMap<number, UnixSkEntry>;
  /** id → id of the socket that writes its queue (absent: nobody points at it) */
  readonly queuer: ReadonlyMap<number, number>;
  /** id → its queued messages, in order */
  readonly packets: ReadonlyMap<number, QueuedPacket[]>;
  /** the files in flight: id → the socket id whose queue holds it (the first, if several) */
  readonly inFlight: ReadonlyMap<number, number>;
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
  /** registers what undoes a step if the restore fails (a bound socket's file is removed) */
  undo(fn: () => void): void;
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

/** The rights of a message's scm entries: one SCM_RIGHTS at most (the kernel merges them), as upstream writes and reads them. */
function rightsOf(path: string, entry: ImageEntry, message: SkPacketEntry): number[] {
  const scm = message.scm ?? [];
  const at = { image: path, offset: entry.payloadOffset ?? 0 };
  if (scm.length > 1) throw new ImageError(`the message before (for socket id ${message.id_for}) has ${scm.length} scm entries, not one`, at);
  if (scm.length === 0) return [];
  if (scm[0]!.type !== SCM.RIGHTS) throw new ImageError(`the message before (for socket id ${message.id_for}) has scm type ${scm[0]!.type}, not SCM_RIGHTS`, at);
  return scm[0]!.rights ?? [];
}

function readPackets(dir: string): Map<number, QueuedPacket[]> {
  const packets = new Map<number, QueuedPacket[]>();
  const path = imagePath(dir, 'sk-queues');
  if (!existsSync(path)) return packets;
  for (const entry of readImageEntries(path, 'sk-queues')) {
    const message = entry.message as unknown as SkPacketEntry;
    const data = entry.payload ?? Buffer.alloc(0);
    const list = packets.get(message.id_for) ?? [];
    list.push({ data, rights: rightsOf(path, entry, message) });
    packets.set(message.id_for, list);
  }
  return packets;
}

function inFlightFiles(packets: ReadonlyMap<number, QueuedPacket[]>): Map<number, number> {
  const inFlight = new Map<number, number>();
  for (const [socket, list] of packets) for (const packet of list) for (const id of packet.rights) if (!inFlight.has(id)) inFlight.set(id, socket);
  return inFlight;
}

/** The table built from the image files; exported for tests. */
export function buildUnixTable(dir: string, keep: (fd: number) => number, undo: (fn: () => void) => void = () => undefined): UnixRestoreTable {
  const entries = unixEntries(dir);
  entries.forEach(checkEntry);
  const byIno = new Map(entries.map((e) => [e.ino, e]));
  const queuer = new Map<number, number>();
  for (const entry of entries) {
    if (entry.peer === 0) continue;
    const peer = byIno.get(entry.peer);
    if (peer !== undefined && !queuer.has(peer.id)) queuer.set(peer.id, entry.id);
  }
  const packets = readPackets(dir);
  return {
    byId: new Map(entries.map((e) => [e.id, e])),
    byIno,
    queuer,
    packets,
    inFlight: inFlightFiles(packets),
    made: new Map(),
    connected: new Set(),
    queued: new Set(),
    finished: new Set(),
    ghosts: new Map(),
    keep,
    undo,
  };
}

/** The restore's table, built on first use — when the stale socket files of the dump's names go, before any bind. */
export function unixTable(ctx: RestoreContext): UnixRestoreTable {
  return ctx.shared('sockets.unix-restore', () => {
    const table = buildUnixTable(ctx.options.imagesDir, (fd) => keepOwnFd(ctx, fd), (fn) => restoreFiles(ctx).afterFailure.push(fn));
    const removed = removeStaleSockets(table.byId.values(), USK.EXTERN);
    if (removed > 0) ctx.log.info(`unix: removed ${removed} stale socket file(s) at the dump's socket names`);
    return table;
  });
}

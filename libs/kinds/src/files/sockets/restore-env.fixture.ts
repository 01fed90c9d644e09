// Test helpers for the socket kinds' restore halves: an images directory
// with files.img / sk-queues.img written from entries (or a real dump's; queued
// messages may carry files in flight), a RestoreContext and
// FdRestoreEnv over it (no tasks: open() works in the tool alone), and
// every fd the test gets closed at teardown.
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { createLogger } from '@criu-ts/base';
import { FdTypes, imagePath, readEntries, writeImage, type EntryInput, type FileEntry, type InetSkEntry, type SkOptsEntry, type SkPacketEntry, type UnixSkEntry } from '@criu-ts/images';
import type { RestoreContext, RestoreOptions } from '../../restore-context.js';
import type { FdRestoreEnv } from '../fd-kind.js';

export const defaultOpts = (): SkOptsEntry => ({
  so_sndbuf: 212992, so_rcvbuf: 212992, so_snd_tmo_sec: 0n, so_snd_tmo_usec: 0n, so_rcv_tmo_sec: 0n, so_rcv_tmo_usec: 0n,
});

const NOBODY = { uid: 0, euid: 0, signum: 0, pid_type: 0, pid: 0 };

export function unixEntry(fields: Partial<UnixSkEntry> & Pick<UnixSkEntry, 'id' | 'ino' | 'type' | 'state'>): UnixSkEntry {
  return { flags: 2, uflags: 0, backlog: 0, peer: 0, fown: NOBODY, opts: defaultOpts(), name: new Uint8Array(0), ...fields };
}

export function inetEntry(fields: Partial<InetSkEntry> & Pick<InetSkEntry, 'id' | 'family' | 'type' | 'proto' | 'state'>): InetSkEntry {
  return { ino: 1000 + fields.id, src_port: 0, dst_port: 0, flags: 2, backlog: 0, fown: NOBODY, opts: defaultOpts(), ...fields };
}

export const pathName = (path: string): Uint8Array => Buffer.concat([Buffer.from(path), Buffer.alloc(1)]);
export const abstractName = (name: string): Uint8Array => Buffer.concat([Buffer.alloc(1), Buffer.from(name)]);

/** A queued message: its text, and the files.img ids of the files in flight it carries (SCM_RIGHTS) */
export type QueuedMessage = string | { text: string; rights: number[] };

export interface SocketImages {
  unix?: UnixSkEntry[];
  inet?: InetSkEntry[];
  /** id_for → messages */
  queues?: Record<number, QueuedMessage[]>;
  /** files.img entries of other kinds (files in flight) */
  others?: FileEntry[];
  /** id → our fd of an entry the files kind opened already (what FdRestoreEnv.opened answers) */
  opened?: Map<number, number>;
  options?: Partial<RestoreOptions>;
}

function packetOf(id: number, queued: QueuedMessage): EntryInput<SkPacketEntry> {
  const { text, rights } = typeof queued === 'string' ? { text: queued, rights: [] } : queued;
  const scm = rights.length === 0 ? {} : { scm: [{ type: 1, rights }] };
  return { message: { id_for: id, length: Buffer.byteLength(text), ...scm }, payload: Buffer.from(text) };
}

export interface TestEnv {
  dir: string;
  env: FdRestoreEnv;
  file(id: number): FileEntry;
  /** registers an fd to close at teardown */
  track(fd: number): number;
}

function makeContext(dir: string, options: Partial<RestoreOptions>): RestoreContext {
  const shared = new Map<string, unknown>();
  return {
    options: { imagesDir: dir, shellJob: false, leaveStopped: false, fileLocks: false, tcpEstablished: false, inheritFds: [], ...options },
    log: createLogger({ fd: 2, level: Number(process.env.SOCKET_TEST_LOG ?? 1), withPid: false, start: process.hrtime.bigint() }, 'test'),
    tasks: [],
    injector: () => {
      throw new Error('no tasks in this test');
    },
    scratch: () => {
      throw new Error('no tasks in this test');
    },
    shared: <T>(key: string, create: () => T): T => {
      if (!shared.has(key)) shared.set(key, create());
      return shared.get(key) as T;
    },
  };
}

/** Writes the images into a fresh directory (removed at teardown) and returns an env over them. */
export function socketEnv(t: Test, images: SocketImages): TestEnv {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-rsock-'));
  const fds: number[] = [];
  t.teardown(() => {
    for (const fd of fds) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  const files: FileEntry[] = [
    ...(images.unix ?? []).map((usk): FileEntry => ({ type: FdTypes.UNIXSK, id: usk.id, usk })),
    ...(images.inet ?? []).map((isk): FileEntry => ({ type: FdTypes.INETSK, id: isk.id, isk })),
    ...(images.others ?? []),
  ];
  writeImage(imagePath(dir, 'files'), 'files', files);
  const packets = Object.entries(images.queues ?? {}).flatMap(([id, messages]) => messages.map((queued) => packetOf(Number(id), queued)));
  if (packets.length > 0) writeImage(imagePath(dir, 'sk-queues'), 'sk-queues', packets);
  return envOver(dir, files, fds, images.options ?? {}, images.opened);
}

function envOver(dir: string, files: readonly FileEntry[], fds: number[], options: Partial<RestoreOptions> = {}, opened = new Map<number, number>()): TestEnv {
  const ctx = makeContext(dir, options);
  const byId = new Map(files.map((f) => [f.id, f]));
  const env: FdRestoreEnv = { ctx, log: ctx.log, entry: (id) => byId.get(id), opened: (id) => opened.get(id) };
  return {
    dir,
    env,
    file: (id) => byId.get(id)!,
    track: (fd) => {
      fds.push(fd);
      return fd;
    },
  };
}

/** An env over an existing images directory (a real dump); tracked fds are closed at teardown. */
export function imagesEnv(t: Test, dir: string): TestEnv {
  const fds: number[] = [];
  t.teardown(() => fds.forEach((fd) => closeSync(fd)));
  return envOver(dir, readEntries(dir, 'files'), fds);
}

// The descriptor every fd kind module exports (regular file, pipe, eventfd,
// ...). fd-registry.ts lists them; the first whose `matches` says yes dumps
// the open file description. Nothing switches on kinds.
import type { Logger } from '@criu-ts/base';
import type { FileEntry } from '@criu-ts/images';
import type { DumpContext, DumpTask } from '../dump-context.js';
import type { OpenFd } from './open-fd.js';

/** What an fd kind's dump is given besides the fd. */
export interface FdDumpEnv {
  ctx: DumpContext;
  task: DumpTask;
  log: Logger;
}

export interface FdKind {
  /** short name for logs: 'reg', 'pipe', 'eventfd', ... */
  readonly name: string;
  matches(fd: OpenFd): boolean;
  /**
   * Dump the open file description behind fd (seen for the first time in
   * this dump) under `id`: write any side images (pipes-data, ghost files,
   * ...) and return its files.img entry, which the caller writes.
   */
  dump(env: FdDumpEnv, fd: OpenFd, id: number): FileEntry;
}

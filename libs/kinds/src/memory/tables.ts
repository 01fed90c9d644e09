// Per-dump state the memory kind keeps across tasks (through ctx.shared,
// never module globals): the zero page's PFN, the batch buffer, which
// shared objects were dumped and which files already have an entry.
import type { DumpContext } from '../dump-context.js';
import { findZeroPagePfn } from './zero-page.js';

/** Bytes moved per batch: one process_vm_readv and one write each. */
export const BATCH_BYTES = 32 * 1024 * 1024;

export interface MemoryTables {
  zeroPfn: bigint;
  buffer: Buffer;
  /** shmids whose pagemap-shmem image is written */
  shmemDumped: Set<number>;
  /** "dev:ino" of a mapped regular file → its reg_file_entry id */
  regFiles: Map<string, number>;
  /** "dev:ino" of a mapped memfd → its memfd file_entry id */
  memfdFiles: Map<string, number>;
}

export const MEMORY_TABLES_KEY = 'memory';

export function memoryTables(ctx: DumpContext): MemoryTables {
  return ctx.shared<MemoryTables>(MEMORY_TABLES_KEY, () => ({
    zeroPfn: findZeroPagePfn(),
    buffer: Buffer.allocUnsafe(BATCH_BYTES),
    shmemDumped: new Set(),
    regFiles: new Map(),
    memfdFiles: new Map(),
  }));
}

/**
 * memfd inodes (memfd.img entries) by "dev:ino" → inode_id, shared by name
 * with any kind that meets a memfd (an open fd on one, say) so each inode
 * is written once.
 */
export const MEMFD_INODES_KEY = 'memfd-inodes';

export function memfdInodes(ctx: DumpContext): Map<string, number> {
  return ctx.shared<Map<string, number>>(MEMFD_INODES_KEY, () => new Map());
}

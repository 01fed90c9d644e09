// seccomp.img as data: the table of classic-BPF filters the dump builds
// (each filter linked by `prev` to the one installed before it, identical
// chains stored once whichever threads or tasks hold them) and, on
// restore, a thread's chain read back from it (oldest first), checked.
// No kernel calls here. See seccomp(2), ptrace(2) PTRACE_SECCOMP_GET_FILTER.
import { ImageError } from '@criu-ts/base';
import type { Messages } from '@criu-ts/images';

export type SeccompFilterEntry = Messages['seccomp_filter'];

/** linux/seccomp.h SECCOMP_FILTER_FLAG_* */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

/** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k */
export const SOCK_FILTER_BYTES = 8;
/** linux/bpf_common.h BPF_MAXINSNS: the longest program seccomp(2) accepts */
export const BPF_MAXINSNS = 4096;

/** One filter of a thread as the dump read it. */
export interface SeccompFilter {
  /** the program: 8 bytes per instruction */
  program: Buffer;
  flags: number;
}

/** The filters of a dump, in seccomp.img order, each chain prefix once. */
export interface SeccompTable {
  entries: SeccompFilterEntry[];
  /** `${prev}:${flags}:${program}` → index */
  byKey: Map<string, number>;
}

export function newSeccompTable(): SeccompTable {
  return { entries: [], byKey: new Map() };
}

/**
 * Adds a thread's chain (oldest filter first) and returns the index of its
 * newest filter, the value of thread_core.seccomp_filter. A filter already
 * in the table with the same predecessor and flags is the same filter.
 */
export function addChain(table: SeccompTable, chain: readonly SeccompFilter[]): number {
  if (chain.length === 0) throw new RangeError('a seccomp chain has at least one filter');
  let prev: number | undefined;
  for (const filter of chain) {
    const key = `${prev ?? -1}:${filter.flags}:${filter.program.toString('base64')}`;
    let index = table.byKey.get(key);
    if (index === undefined) {
      index = table.entries.length;
      const entry: SeccompFilterEntry = { filter: Uint8Array.from(filter.program), flags: filter.flags };
      if (prev !== undefined) entry.prev = prev;
      table.entries.push(entry);
      table.byKey.set(key, index);
    }
    prev = index;
  }
  return prev!;
}

/** Same programs with the same flags, in the same order? */
export function sameChain(a: readonly SeccompFilter[], b: readonly SeccompFilter[]): boolean {
  return a.length === b.length && a.every((filter, i) => filter.flags === b[i]!.flags && filter.program.equals(b[i]!.program));
}

function checkProgram(entry: SeccompFilterEntry, index: number, image: string): void {
  const bytes = entry.filter.length;
  if (bytes === 0 || bytes % SOCK_FILTER_BYTES !== 0 || bytes > BPF_MAXINSNS * SOCK_FILTER_BYTES) {
    throw new ImageError(`seccomp filter ${index}: program of ${bytes} bytes is not 1 to ${BPF_MAXINSNS} instructions of ${SOCK_FILTER_BYTES} bytes`, { image, offset: 0 });
  }
}

/**
 * The image indices of the chain ending at `newest`, oldest first, with
 * every index, link and program length checked (a loop of prev links is
 * an error, not a hang).
 */
export function chainIndices(filters: readonly SeccompFilterEntry[], newest: number, image: string): number[] {
  const chain: number[] = [];
  const seen = new Set<number>();
  for (let index: number | undefined = newest; index !== undefined; index = filters[index]!.prev) {
    if (!Number.isInteger(index) || index < 0 || index >= filters.length) {
      throw new ImageError(`seccomp filter ${index} does not exist (the image holds ${filters.length})`, { image, offset: 0 });
    }
    if (seen.has(index)) throw new ImageError(`seccomp filter ${index}: its prev links loop`, { image, offset: 0 });
    seen.add(index);
    checkProgram(filters[index]!, index, image);
    chain.push(index);
  }
  return chain.reverse();
}

// seccomp.img as data, in upstream CRIU 4.x's layout: a thread's
// thread_core.seccomp_filter names the first filter to install (its
// oldest) and each filter's `prev` names the next one to install (the one
// installed after it), the newest having none; restore follows the links
// from the thread's index and installs in that order. The dump's table
// stores identical chain ends once, whichever threads or tasks hold them.
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
  /** `${prev}:${flags}:${program}` → index (prev: the next filter installed, -1 for the newest) */
  byKey: Map<string, number>;
}

export function newSeccompTable(): SeccompTable {
  return { entries: [], byKey: new Map() };
}

/**
 * Adds a thread's chain (oldest filter first) and returns the index of its
 * oldest filter, the value of thread_core.seccomp_filter. Entries are made
 * newest first, so a filter already in the table with the same flags and
 * the same successor (prev) is the same filter.
 */
export function addChain(table: SeccompTable, chain: readonly SeccompFilter[]): number {
  if (chain.length === 0) throw new RangeError('a seccomp chain has at least one filter');
  let next: number | undefined;
  for (const filter of [...chain].reverse()) {
    const key = `${next ?? -1}:${filter.flags}:${filter.program.toString('base64')}`;
    let index = table.byKey.get(key);
    if (index === undefined) {
      index = table.entries.length;
      const entry: SeccompFilterEntry = { filter: Uint8Array.from(filter.program), flags: filter.flags };
      if (next !== undefined) entry.prev = next;
      table.entries.push(entry);
      table.byKey.set(key, index);
    }
    next = index;
  }
  return next!;
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
 * The image indices of the chain starting at `first`, in the order the
 * filters are installed (oldest first), with every index, link and program
 * length checked (a loop of prev links is an error, not a hang).
 */
export function chainIndices(filters: readonly SeccompFilterEntry[], first: number, image: string): number[] {
  const chain: number[] = [];
  const seen = new Set<number>();
  for (let index: number | undefined = first; index !== undefined; index = filters[index]!.prev) {
    if (!Number.isInteger(index) || index < 0 || index >= filters.length) {
      throw new ImageError(`seccomp filter ${index} does not exist (the image holds ${filters.length})`, { image, offset: 0 });
    }
    if (seen.has(index)) throw new ImageError(`seccomp filter ${index}: its prev links loop`, { image, offset: 0 });
    seen.add(index);
    checkProgram(filters[index]!, index, image);
    chain.push(index);
  }
  return chain;
}

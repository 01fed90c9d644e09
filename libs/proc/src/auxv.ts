// /proc/PID/auxv: the ELF auxiliary vector, pairs of native u64 (type,
// value) ending with AT_NULL (getauxval(3)).
import { malformed, procPath, readProcBuffer, type Source } from './proc-files.js';

/** AT_* numbers from <linux/auxvec.h> and <asm/auxvec.h> (x86_64). */
export const AT = {
  NULL: 0, IGNORE: 1, EXECFD: 2, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, BASE: 7, FLAGS: 8,
  ENTRY: 9, NOTELF: 10, UID: 11, EUID: 12, GID: 13, EGID: 14, PLATFORM: 15, HWCAP: 16,
  CLKTCK: 17, SECURE: 23, BASE_PLATFORM: 24, RANDOM: 25, HWCAP2: 26, RSEQ_FEATURE_SIZE: 27,
  RSEQ_ALIGN: 28, HWCAP3: 29, HWCAP4: 30, EXECFN: 31, SYSINFO_EHDR: 33, MINSIGSTKSZ: 51,
} as const;

export interface AuxvEntry {
  type: number;
  value: bigint;
}

/** Parses auxv bytes up to (not including) AT_NULL. */
export function parseAuxv(data: Uint8Array, source: Source = 'auxv'): AuxvEntry[] {
  if (data.length % 16 !== 0) throw malformed(source, undefined, `${data.length} bytes is not a whole number of (type, value) pairs`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const entries: AuxvEntry[] = [];
  for (let off = 0; off < data.length; off += 16) {
    const type = view.getBigUint64(off, true);
    if (type === 0n) return entries;
    if (type > 0xffffn) throw malformed(source, undefined, `entry at byte ${off} has type ${type}`);
    entries.push({ type: Number(type), value: view.getBigUint64(off + 8, true) });
  }
  throw malformed(source, undefined, 'no AT_NULL entry');
}

export function readAuxv(pid: number): AuxvEntry[] {
  const path = procPath(pid, 'auxv');
  return parseAuxv(readProcBuffer(pid, path), path);
}

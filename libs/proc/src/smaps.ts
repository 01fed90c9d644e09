// /proc/PID/smaps: each maps line followed by "Field:   N kB" lines and a
// "VmFlags:" line of two-letter flags, see proc_pid_smaps(5). Parsing is
// one pass over the lines: a line starting with an upper-case letter is a
// field, anything else is the next VMA's header.
import { malformed, procPath, readProcText, type Source } from './proc-files.js';
import { parseMapsLine, type MapsEntry } from './maps.js';

/** VmFlags mnemonics (fs/proc/task_mmu.c, show_smap_vma_flags) and what they mean. */
export const VM_FLAGS: Readonly<Record<string, string>> = {
  rd: 'readable', wr: 'writable', ex: 'executable', sh: 'shared',
  mr: 'may read', mw: 'may write', me: 'may execute', ms: 'may share',
  gd: 'stack segment grows down', pf: 'pure PFN range', lo: 'pages are locked in memory',
  io: 'memory mapped I/O area', sr: 'sequential read advise', rr: 'random read advise',
  dc: 'do not copy on fork', de: 'do not expand on remapping', ac: 'area is accountable',
  nr: 'swap space is not reserved', ht: 'area uses huge tlb pages', sf: 'synchronous page fault',
  ar: 'architecture specific flag', wf: 'wipe on fork', dd: 'do not include in core dump',
  sd: 'soft-dirty', mm: 'mixed map area', hg: 'huge page advise', nh: 'no huge page advise',
  mg: 'mergeable advise (KSM)', bt: 'arm64 BTI guarded page', mt: 'arm64 MTE allocation tags',
  um: 'userfaultfd missing tracking', uw: 'userfaultfd wr-protect tracking',
  ui: 'userfaultfd minor fault', ss: 'shadow stack page', sl: 'sealed', lf: 'lock on fault',
  dp: 'always lazily freeable', gu: 'stack segment grows up',
};

export interface SmapsEntry extends MapsEntry {
  /** every "Name:  N kB" line in kB, by the kernel's name: Size, Rss, Pss, Shared_Clean, ... */
  kB: Record<string, number>;
  /** resident, in kB */
  Rss: number;
  /** proportional share, in kB */
  Pss: number;
  /** anonymous (including COW-copied file) memory, in kB */
  Anonymous: number;
  /** swapped out, in kB */
  Swap: number;
  /** anonymous transparent huge pages, in kB (0 where the kernel omits it) */
  AnonHugePages: number;
  /** mlocked, in kB */
  Locked: number;
  /** THPeligible: 1/0; undefined on kernels before 5.0 */
  THPeligible: boolean | undefined;
  /** ProtectionKey, only shown on pkeys-capable machines */
  ProtectionKey: number | undefined;
  /** the two-letter VmFlags, e.g. has('gd') for a grows-down stack */
  VmFlags: Set<string>;
}

const REQUIRED_KB = ['Rss', 'Pss', 'Anonymous', 'Swap', 'Locked'] as const;

interface Block {
  header: MapsEntry;
  headerLine: number;
  kB: Record<string, number>;
  numbers: Record<string, number>;
  flags: Set<string>;
}

function finish(block: Block, source: Source): SmapsEntry {
  for (const name of REQUIRED_KB) {
    if (block.kB[name] === undefined) throw malformed(source, block.headerLine, `VMA has no ${name} line`);
  }
  const thp = block.numbers.THPeligible;
  const h = block.header;
  // listed out (not spread) so every entry has the same shape: much faster for many VMAs
  return {
    start: h.start, end: h.end, perms: h.perms, read: h.read, write: h.write, exec: h.exec, shared: h.shared,
    offset: h.offset, major: h.major, minor: h.minor, inode: h.inode, path: h.path, deleted: h.deleted, kind: h.kind,
    kB: block.kB,
    Rss: block.kB.Rss,
    Pss: block.kB.Pss,
    Anonymous: block.kB.Anonymous,
    Swap: block.kB.Swap,
    AnonHugePages: block.kB.AnonHugePages ?? 0,
    Locked: block.kB.Locked,
    THPeligible: thp === undefined ? undefined : thp !== 0,
    ProtectionKey: block.numbers.ProtectionKey,
    VmFlags: block.flags,
  };
}

function addField(block: Block, line: string, source: Source, lineNo: number): void {
  const colon = line.indexOf(':');
  if (colon < 0) throw malformed(source, lineNo, 'field line without ":"', line);
  const name = line.slice(0, colon);
  if (name === 'VmFlags') {
    for (const flag of line.slice(colon + 1).split(' ')) if (flag !== '') block.flags.add(flag);
    return;
  }
  const isKb = line.endsWith(' kB');
  const value = line.slice(colon + 1, isKb ? line.length - 3 : line.length).trim();
  const n = Number(value);
  if (value === '' || !Number.isSafeInteger(n)) throw malformed(source, lineNo, `${name} is not a number`, line);
  if (isKb) block.kB[name] = n;
  else block.numbers[name] = n;
}

function isFieldLine(line: string): boolean {
  const c = line.charCodeAt(0);
  return c >= 65 && c <= 90; // 'A'..'Z'; VMA headers start with a hex digit
}

/** Parses the whole text of /proc/PID/smaps. */
export function parseSmaps(text: string, source: Source = 'smaps'): SmapsEntry[] {
  const lines = text.split('\n');
  const entries: SmapsEntry[] = [];
  let block: Block | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') {
      if (i === lines.length - 1) break;
      throw malformed(source, i + 1, 'empty line');
    }
    if (isFieldLine(line)) {
      if (block === undefined) throw malformed(source, i + 1, 'field before the first VMA', line);
      addField(block, line, source, i + 1);
      continue;
    }
    if (block !== undefined) entries.push(finish(block, source));
    block = { header: parseMapsLine(line, source, i + 1), headerLine: i + 1, kB: {}, numbers: {}, flags: new Set() };
  }
  if (block !== undefined) entries.push(finish(block, source));
  return entries;
}

export function readSmaps(pid: number, tid?: number): SmapsEntry[] {
  const path = procPath(pid, 'smaps', tid);
  return parseSmaps(readProcText(pid, path), path);
}

// /proc/PID/smaps: each maps line followed by "Field:   N kB" lines and a
// "VmFlags:" line of two-letter flags, see proc_pid_smaps(5). Parsing is
// one pass over the lines: a line starting with an upper-case letter is a
// field, anything else is the next VMA's header. A task with 100,000 VMAs
// has ~70 MB of smaps: the file is read in chunks, never as one string, and
// what repeats from VMA to VMA (a VmFlags set, the permissions, a path) is
// kept once, so the entries do not hold the text.
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { malformed, procPath, withProcErrors, type Source } from './proc-files.js';
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
  /** every "Name:  N kB" line in kB, by the kernel's name: Size, Rss, Pss, Shared_Clean, ... (undefined: no such line) */
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
  /** the two-letter VmFlags, e.g. has('gd') for a grows-down stack (one set shared by the VMAs with the same flags: do not change it) */
  VmFlags: ReadonlySet<string>;
}

const REQUIRED_KB = ['Rss', 'Pss', 'Anonymous', 'Swap', 'Locked'] as const;

/**
 * A VMA's kB fields, every name the kernel shows (show_smap) laid out up
 * front: an object that grows a property per line goes to dictionary mode
 * (~1.6 KB each, 160 MB for 100,000 VMAs), this shape stays ~200 B. A name
 * not listed (a newer kernel's) is added as it comes.
 */
function kBFields(): Record<string, number> {
  const fields: Record<string, number | undefined> = {
    Size: undefined, KernelPageSize: undefined, MMUPageSize: undefined, Rss: undefined, Pss: undefined, Pss_Dirty: undefined,
    Shared_Clean: undefined, Shared_Dirty: undefined, Private_Clean: undefined, Private_Dirty: undefined, Referenced: undefined,
    Anonymous: undefined, KSM: undefined, LazyFree: undefined, AnonHugePages: undefined, ShmemPmdMapped: undefined,
    FilePmdMapped: undefined, Shared_Hugetlb: undefined, Private_Hugetlb: undefined, Swap: undefined, SwapPss: undefined, Locked: undefined,
  };
  return fields as Record<string, number>;
}

interface Block {
  header: MapsEntry;
  headerLine: number;
  kB: Record<string, number>;
  numbers: Record<string, number>;
  flags: ReadonlySet<string>;
}

const EMPTY_FLAGS: ReadonlySet<string> = new Set();

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

function addField(block: Block, line: string, source: Source, lineNo: number, interned: Interned): void {
  const colon = line.indexOf(':');
  if (colon < 0) throw malformed(source, lineNo, 'field line without ":"', line);
  const name = line.slice(0, colon);
  if (name === 'VmFlags') {
    block.flags = flagSet(interned, line.slice(colon + 1).trim());
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

/** What repeats between VMAs, kept once per parse: VmFlags sets by their text, strings by value (copied, so they hold no text). */
interface Interned {
  flags: Map<string, Set<string>>;
  strings: Map<string, string>;
}

function internString(interned: Interned, text: string): string {
  let kept = interned.strings.get(text);
  if (kept === undefined) {
    // a fresh copy: a substring would keep the chunk it was cut from alive
    kept = Buffer.from(text, 'utf8').toString('utf8');
    interned.strings.set(kept, kept);
  }
  return kept;
}

function flagSet(interned: Interned, text: string): Set<string> {
  let set = interned.flags.get(text);
  if (set === undefined) {
    set = new Set(text.split(' ').filter((flag) => flag !== '').map((flag) => internString(interned, flag)));
    interned.flags.set(internString(interned, text), set);
  }
  return set;
}

/** The lines of a string (no trailing empty line). */
function* linesOf(text: string): Generator<string> {
  let at = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
    yield text.slice(at, nl);
    at = nl + 1;
  }
  if (at < text.length) yield text.slice(at);
}

/** The lines of a file, read 1 MiB at a time (UTF-8 split across reads is put together). */
function* fileLines(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    const decoder = new StringDecoder('utf8');
    const buf = Buffer.allocUnsafe(1 << 20);
    let rest = '';
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) {
      const text = rest + decoder.write(buf.subarray(0, n));
      const last = text.lastIndexOf('\n');
      yield* linesOf(text.slice(0, last + 1));
      rest = text.slice(last + 1);
    }
    rest += decoder.end();
    if (rest !== '') yield rest;
  } finally {
    closeSync(fd);
  }
}

/** Parses smaps lines (without the final newline's empty line). */
function parseLines(lines: Iterable<string>, source: Source): SmapsEntry[] {
  const interned: Interned = { flags: new Map(), strings: new Map() };
  const entries: SmapsEntry[] = [];
  let block: Block | undefined;
  let lineNo = 0;
  for (const line of lines) {
    lineNo += 1;
    if (line === '') throw malformed(source, lineNo, 'empty line');
    if (isFieldLine(line)) {
      if (block === undefined) throw malformed(source, lineNo, 'field before the first VMA', line);
      addField(block, line, source, lineNo, interned);
      continue;
    }
    if (block !== undefined) entries.push(finish(block, source));
    const header = parseMapsLine(line, source, lineNo);
    header.perms = internString(interned, header.perms);
    header.path = internString(interned, header.path);
    block = { header, headerLine: lineNo, kB: kBFields(), numbers: {}, flags: EMPTY_FLAGS };
  }
  if (block !== undefined) entries.push(finish(block, source));
  return entries;
}

/** Parses the whole text of /proc/PID/smaps. */
export function parseSmaps(text: string, source: Source = 'smaps'): SmapsEntry[] {
  return parseLines(linesOf(text), source);
}

/** Parses a smaps file read in chunks (its fs errors as Node throws them). */
export function parseSmapsFile(path: string): SmapsEntry[] {
  return parseLines(fileLines(path), path);
}

/** /proc/PID/smaps (of thread tid), read in chunks. */
export function readSmaps(pid: number, tid?: number): SmapsEntry[] {
  const path = procPath(pid, 'smaps', tid);
  return withProcErrors(pid, path, () => parseSmapsFile(path));
}

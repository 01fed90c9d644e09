// The GNU build-id of an ELF file (the NT_GNU_BUILD_ID note), which
// --file-validation buildid stores in reg_file_entry.build_id as 32-bit
// words so restore can tell the file is the same one. Like CRIU, only the
// first MiB is looked at.
import { readSync } from 'node:fs';

const MAP_SIZE = 1 << 20;
const PT_NOTE = 4;
const NT_GNU_BUILD_ID = 3;

interface Layout {
  phoff: number;
  phentsize: number;
  phnum: number;
  /** reads an address-sized field */
  word(buf: Buffer, at: number): number;
  /** offset of p_offset and p_filesz in a program header */
  offsetAt: number;
  sizeAt: number;
}

function layout(buf: Buffer): Layout | undefined {
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[5] !== 1) return undefined; // little-endian ELF only
  if (buf[4] === 2 && buf.length >= 64) {
    const word = (b: Buffer, at: number): number => Number(b.readBigUInt64LE(at));
    return { phoff: word(buf, 32), phentsize: buf.readUInt16LE(54), phnum: buf.readUInt16LE(56), word, offsetAt: 8, sizeAt: 32 };
  }
  if (buf[4] === 1) {
    const word = (b: Buffer, at: number): number => b.readUInt32LE(at);
    return { phoff: word(buf, 28), phentsize: buf.readUInt16LE(42), phnum: buf.readUInt16LE(44), word, offsetAt: 4, sizeAt: 16 };
  }
  return undefined;
}

const align4 = (n: number): number => (n + 3) & ~3;

function findInNotes(buf: Buffer, start: number, end: number): Buffer | undefined {
  for (let at = start; at + 12 <= end; ) {
    const namesz = buf.readUInt32LE(at);
    const descsz = buf.readUInt32LE(at + 4);
    const type = buf.readUInt32LE(at + 8);
    const desc = at + 12 + align4(namesz);
    if (desc + descsz > end) return undefined;
    if (type === NT_GNU_BUILD_ID && buf.toString('latin1', at + 12, at + 12 + namesz) === 'GNU\0') return buf.subarray(desc, desc + descsz);
    at = desc + align4(descsz);
  }
  return undefined;
}

/** The build-id bytes of the ELF file open as fd, or undefined if it has none in its first MiB. */
export function readBuildId(fd: number, size: number): Buffer | undefined {
  const buf = Buffer.alloc(Math.min(size, MAP_SIZE));
  const got = readSync(fd, buf, 0, buf.length, 0);
  const elf = layout(buf.subarray(0, got));
  if (elf === undefined) return undefined;
  for (let i = 0; i < elf.phnum; i++) {
    const ph = elf.phoff + i * elf.phentsize;
    if (ph + elf.phentsize > got || buf.readUInt32LE(ph) !== PT_NOTE) continue;
    const offset = elf.word(buf, ph + elf.offsetAt);
    const end = Math.min(offset + elf.word(buf, ph + elf.sizeAt), got);
    const id = findInNotes(buf, offset, end);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** Build-id bytes as reg_file_entry's repeated uint32 (zero-padded to whole words). */
export function buildIdWords(id: Buffer): number[] {
  const padded = Buffer.alloc(align4(id.length));
  id.copy(padded);
  const words: number[] = [];
  for (let at = 0; at < padded.length; at += 4) words.push(padded.readUInt32LE(at));
  return words;
}

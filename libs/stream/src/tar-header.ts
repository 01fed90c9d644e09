// One 512-byte tar header block (POSIX.1-1988 ustar, as extended by pax,
// POSIX.1-2001): encoding for the writer, decoding for the reader. The
// reader also takes what GNU tar writes by default (the "ustar  " magic,
// base-256 sizes). Layout: name 0/100, mode 100/8, uid 108/8, gid 116/8,
// size 124/12, mtime 136/12, chksum 148/8, typeflag 156, linkname 157/100,
// magic 257/6, version 263/2, uname 265/32, gname 297/32, devmajor 329/8,
// devminor 337/8, prefix 345/155.

export const BLOCK = 512;
/** the largest size the 11 octal digits of the size field hold (8 GiB - 1) */
export const MAX_OCTAL_SIZE = 0o77777777777;

/** typeflag values we write or read */
export const TYPE = {
  FILE: '0',
  /** pre-POSIX regular file */
  OLD_FILE: '\0',
  /** pax extended header for the next member */
  PAX: 'x',
  /** pax global extended header */
  PAX_GLOBAL: 'g',
  /** GNU long name for the next member */
  GNU_LONG_NAME: 'L',
  DIRECTORY: '5',
} as const;

export interface HeaderFields {
  name: string;
  size: number;
  typeflag: string;
  mode: number;
  mtime: number;
}

/** A decoded header; `magic` tells ustar ('ustar') from GNU ('gnu') and pre-POSIX ('') */
export interface DecodedHeader extends HeaderFields {
  magic: 'ustar' | 'gnu' | '';
  linkname: string;
}

function putText(block: Buffer, text: string, at: number, width: number): void {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > width) throw new RangeError(`'${text}' does not fit a ${width}-byte tar field`);
  bytes.copy(block, at);
}

function putOctal(block: Buffer, value: number, at: number, width: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  if (digits.length > width - 1) throw new RangeError(`${value} does not fit a ${width}-byte octal tar field`);
  block.write(`${digits}\0`, at, 'ascii');
}

/** Sum of the block's bytes with the checksum field counted as spaces. */
export function headerChecksum(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i += 1) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return { unsigned, signed };
}

/** A ustar header block; the name must fit 100 bytes and the size 11 octal digits (callers use pax otherwise). */
export function encodeHeader(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  putText(block, fields.name, 0, 100);
  putOctal(block, fields.mode, 100, 8);
  putOctal(block, 0, 108, 8);
  putOctal(block, 0, 116, 8);
  putOctal(block, fields.size, 124, 12);
  putOctal(block, fields.mtime, 136, 12);
  block.write(fields.typeflag, 156, 'ascii');
  block.write('ustar\x0000', 257, 'ascii');
  putText(block, 'root', 265, 32);
  putText(block, 'root', 297, 32);
  putOctal(block, 0, 329, 8);
  putOctal(block, 0, 337, 8);
  const sum = headerChecksum(block).unsigned;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** One pax record: "LEN key=value\n", LEN counting the whole record with its own digits. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body, 'utf8');
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length !== String(bodyLength).length) length += 1;
  return `${length}${body}`;
}

/** Parse pax records; throws a plain Error saying what is wrong (the reader adds where). */
export function parsePaxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.toString('ascii', at, space));
    if (space < 0 || !Number.isSafeInteger(length) || length <= space - at || at + length > data.length) {
      throw new Error(`bad pax record at byte ${at} of the extended header`);
    }
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq <= 0 || data[at + length - 1] !== 0x0a) throw new Error(`bad pax record at byte ${at} of the extended header`);
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

function text(block: Buffer, at: number, width: number): string {
  const end = block.indexOf(0, at);
  return block.toString('utf8', at, end < 0 || end > at + width ? at + width : end);
}

/** An octal field (NUL/space terminated), or GNU's base-256 (high bit of the first byte set). */
function numeric(block: Buffer, at: number, width: number, what: string): number {
  if ((block[at]! & 0x80) !== 0) {
    let value = BigInt(block[at]! & 0x7f);
    for (let i = 1; i < width; i += 1) value = (value << 8n) | BigInt(block[at + i]!);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} field is too large`);
    return Number(value);
  }
  const digits = block.toString('ascii', at, at + width).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) throw new Error(`${what} field is not octal: '${digits}'`);
  return Number.parseInt(digits, 8);
}

/** True if the block is all zeros (an end-of-archive block). */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 8) if (block.readBigUInt64LE(i) !== 0n) return false;
  return true;
}

/** Decode a header block; throws a plain Error saying what is wrong. */
export function decodeHeader(block: Buffer): DecodedHeader {
  const stored = numeric(block, 148, 8, 'checksum');
  const sum = headerChecksum(block);
  if (stored !== sum.unsigned && stored !== sum.signed) {
    throw new Error(`header checksum mismatch (stored ${stored.toString(8)}, computed ${sum.unsigned.toString(8)}): not a tar header`);
  }
  const magicText = block.toString('ascii', 257, 263);
  const magic = magicText === 'ustar\0' ? 'ustar' : magicText === 'ustar ' ? 'gnu' : '';
  const prefix = magic === 'ustar' ? text(block, 345, 155) : '';
  const name = text(block, 0, 100);
  return {
    name: prefix === '' ? name : `${prefix}/${name}`,
    mode: numeric(block, 100, 8, 'mode'),
    size: numeric(block, 124, 12, 'size'),
    mtime: numeric(block, 136, 12, 'mtime'),
    typeflag: String.fromCharCode(block[156]!),
    linkname: text(block, 157, 100),
    magic,
  };
}

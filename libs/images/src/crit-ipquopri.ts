// IP addresses as crit prints `(criu).ipadd` fields (network-order words,
// Python's ipaddress text), and Python's quoted-printable (binascii b2a_qp /
// a2b_qp with default options) used for unix socket names.
import { isIPv4, isIPv6 } from 'node:net';

function wordsToBytes(words: readonly number[]): Buffer {
  const out = Buffer.alloc(words.length * 4);
  words.forEach((word, i) => out.writeUInt32LE(word >>> 0, i * 4));
  return out;
}

/** One word: IPv4; four words: IPv6 (compressed as Python 3.11 does). */
export function ipToString(words: readonly number[]): string {
  const bytes = wordsToBytes(words);
  if (words.length === 1) return [...bytes].join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  let best = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (bestLength < 2) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

function ipv6Bytes(text: string): Buffer {
  // a trailing dotted quad becomes two hex groups
  const plain = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_all, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [left = '', right] = plain.split('::');
  const head = parse(left);
  const tail = right === undefined ? [] : parse(right);
  const groups = right === undefined ? head : [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** The words of an address text. */
export function ipFromString(text: string): number[] {
  let bytes: Buffer;
  if (isIPv4(text)) bytes = Buffer.from(text.split('.').map(Number));
  else if (isIPv6(text)) bytes = ipv6Bytes(text);
  else throw new SyntaxError(`'${text}' does not appear to be an IPv4 or IPv6 address`);
  const words = [];
  for (let i = 0; i < bytes.length; i += 4) words.push(bytes.readUInt32LE(i));
  return words;
}

const MAXLINESIZE = 76;
const hexByte = (byte: number): string => `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;

function needsQuoting(data: Uint8Array, i: number, lineLength: number): boolean {
  const c = data[i]!;
  const next = data[i + 1];
  if (c > 126 || c === 0x3d) return true;
  if (c === 0x2e && lineLength === 0 && (next === undefined || next === 0x0a || next === 0x0d || next === 0)) return true;
  if ((c === 0x09 || c === 0x20) && i + 1 === data.length) return true;
  return c < 33 && c !== 0x0d && c !== 0x0a && c !== 0x09 && c !== 0x20;
}

/** binascii.b2a_qp(data) (quotetabs=False, istext=True, header=False). */
export function quotedPrintable(data: Uint8Array): string {
  const nl = data.indexOf(0x0a);
  const eol = nl > 0 && data[nl - 1] === 0x0d ? '\r\n' : '\n';
  let out = '';
  let lineLength = 0;
  for (let i = 0; i < data.length; ) {
    const c = data[i]!;
    if (needsQuoting(data, i, lineLength)) {
      if (lineLength + 3 >= MAXLINESIZE) [out, lineLength] = [`${out}=${eol}`, 0];
      out += hexByte(c);
      lineLength += 3;
      i++;
    } else if (c === 0x0a || (c === 0x0d && data[i + 1] === 0x0a)) {
      const last = out.charCodeAt(out.length - 1);
      if (out.length > 0 && (last === 0x20 || last === 0x09)) out = out.slice(0, -1) + hexByte(last);
      out += eol;
      lineLength = 0;
      i += c === 0x0d ? 2 : 1;
    } else {
      if (i + 1 !== data.length && data[i + 1] !== 0x0a && lineLength + 1 >= MAXLINESIZE) [out, lineLength] = [`${out}=${eol}`, 0];
      out += String.fromCharCode(c);
      lineLength++;
      i++;
    }
  }
  return out;
}

const isHexDigit = (ch: string | undefined): boolean => ch !== undefined && /^[0-9A-Fa-f]$/.test(ch);

/** binascii.a2b_qp(text) (header=False). */
export function fromQuotedPrintable(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; ) {
    if (text[i] !== '=') {
      out.push(text.charCodeAt(i++) & 0xff);
      continue;
    }
    i++;
    if (i >= text.length) break;
    if (text[i] === '\n' || text[i] === '\r') {
      while (i < text.length && text[i] !== '\n') i++;
      if (i < text.length) i++;
    } else if (text[i] === '=') {
      out.push(0x3d);
      i++;
    } else if (i + 1 < text.length && isHexDigit(text[i]) && isHexDigit(text[i + 1])) {
      out.push(parseInt(text.slice(i, i + 2), 16));
      i += 2;
    } else {
      out.push(0x3d);
    }
  }
  return Buffer.from(out);
}

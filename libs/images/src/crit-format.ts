// Value formats of crit's JSON (pycriu/images/pb2dict.py): flag and value
// tables, device numbers, IP addresses, base64 with line breaks, and Python's
// quoted-printable for unix socket names.

type FlagTable = readonly (readonly [string, number])[];

const o = (text: string): number => parseInt(text, 8);

/** crit's flag tables, by the name given in `(criu).flags`. */
export const critFlagTables: Readonly<Record<string, FlagTable>> = {
  'mmap.prot': [['PROT_READ', 0x1], ['PROT_WRITE', 0x2], ['PROT_EXEC', 0x4]],
  'mmap.flags': [['MAP_SHARED', 0x1], ['MAP_PRIVATE', 0x2], ['MAP_ANON', 0x20], ['MAP_GROWSDOWN', 0x100]],
  'mmap.status': [
    ['VMA_AREA_NONE', 0], ['VMA_AREA_REGULAR', 1 << 0], ['VMA_AREA_STACK', 1 << 1], ['VMA_AREA_VSYSCALL', 1 << 2],
    ['VMA_AREA_VDSO', 1 << 3], ['VMA_AREA_HEAP', 1 << 5], ['VMA_FILE_PRIVATE', 1 << 6], ['VMA_FILE_SHARED', 1 << 7],
    ['VMA_ANON_SHARED', 1 << 8], ['VMA_ANON_PRIVATE', 1 << 9], ['VMA_AREA_SYSVIPC', 1 << 10], ['VMA_AREA_SOCKET', 1 << 11],
    ['VMA_AREA_VVAR', 1 << 12], ['VMA_AREA_AIORING', 1 << 13], ['VMA_UNSUPP', 2 ** 31],
  ],
  'rfile.flags': [
    ['O_WRONLY', o('1')], ['O_RDWR', o('2')], ['O_CREAT', o('100')], ['O_EXCL', o('200')], ['O_NOCTTY', o('400')],
    ['O_TRUNC', o('1000')], ['O_APPEND', o('2000')], ['O_NONBLOCK', o('4000')], ['O_DSYNC', o('10000')],
    ['FASYNC', o('20000')], ['O_DIRECT', o('40000')], ['O_LARGEFILE', o('100000')], ['O_DIRECTORY', o('200000')],
    ['O_NOFOLLOW', o('400000')], ['O_NOATIME', o('1000000')], ['O_CLOEXEC', o('2000000')],
  ],
  'pmap.flags': [['PE_PARENT', 1 << 0], ['PE_LAZY', 1 << 1], ['PE_PRESENT', 1 << 2]],
  'seals.flags': [['F_SEAL_SEAL', 0x1], ['F_SEAL_SHRINK', 0x2], ['F_SEAL_GROW', 0x4], ['F_SEAL_WRITE', 0x8], ['F_SEAL_FUTURE_WRITE', 0x10]],
};

/** crit's value tables, by `(criu).dict` name, then field name. */
export const critDictTables: Readonly<Record<string, Readonly<Record<string, Readonly<Record<number, string>>>>>> = {
  gen: { task_state: { 1: 'Alive', 3: 'Zombie', 6: 'Stopped' } },
  sk: {
    family: { 1: 'UNIX', 2: 'INET', 10: 'INET6', 16: 'NETLINK', 17: 'PACKET' },
    type: { 1: 'STREAM', 2: 'DGRAM', 3: 'RAW', 5: 'SEQPACKET', 10: 'PACKET' },
    state: { 1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT', 7: 'CLOSE', 8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN' },
    proto: { 0: 'IP', 6: 'TCP', 17: 'UDP', 136: 'UDPLITE' },
  },
};

/** Python's "0x%x". */
export function hexString(value: number | bigint): string {
  const big = BigInt(value);
  return big < 0n ? `-0x${(-big).toString(16)}` : `0x${big.toString(16)}`;
}

/** Python's int(text, 0): decimal, 0x, 0o, 0b, with an optional sign and underscores. */
export function parsePythonInt(text: string): bigint {
  const match = /^\s*([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[1-9][0-9_]*|0+)\s*$/.exec(text);
  if (match === null) throw new SyntaxError(`invalid literal for int() with base 0: '${text}'`);
  const digits = (match[2] ?? '').replace(/_/g, '');
  const value = /^0[xob]/i.test(digits) ? BigInt(digits.toLowerCase()) : BigInt(digits);
  return match[1] === '-' ? -value : value;
}

/** Flag names for the bits set, unknown bits as hex, joined with " | " (0 → ""). */
export function flagsToString(value: number | bigint, table: FlagTable): string {
  let rest = BigInt(value);
  const names: string[] = [];
  let known = 0n;
  for (const [name, bit] of table) {
    if ((rest & BigInt(bit)) !== 0n) names.push(name);
    known |= BigInt(bit);
  }
  rest &= ~known;
  if (rest !== 0n) names.push(hexString(rest));
  return names.join(' | ');
}

/** The inverse of flagsToString: names and numbers joined with "|". */
export function flagsFromString(text: string, table: FlagTable): bigint {
  if (text === '') return 0n;
  const byName = new Map(table);
  return text.split('|').reduce((sum, part) => {
    const item = part.trim();
    const bit = byName.get(item);
    return sum + (bit === undefined ? parsePythonInt(item) : BigInt(bit));
  }, 0n);
}

const MINORBITS = 20n;

/** "major:minor" of a device number (kernel encoding, or glibc's for odev fields). */
export function devToString(value: number | bigint, odev: boolean): string {
  const dev = BigInt(value);
  if (!odev) return `${dev >> MINORBITS}:${dev & ((1n << MINORBITS) - 1n)}`;
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

export function devFromString(text: string, odev: boolean): bigint {
  const [major = 0n, minor = 0n] = text.split(':').map((part) => BigInt(part.trim()));
  if (!odev) return (major << MINORBITS) | minor;
  return ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n);
}

/** Python's base64.encodebytes: lines of 76 characters, each ending in "\n". */
export function base64Lines(data: Uint8Array): string {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  let out = '';
  for (let i = 0; i < text.length; i += 76) out += `${text.slice(i, i + 76)}\n`;
  return out;
}

export function fromBase64(text: string): Buffer {
  return Buffer.from(text.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
}

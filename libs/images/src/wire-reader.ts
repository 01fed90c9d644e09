// Protobuf's wire decoding from one buffer, every read bounded by the
// buffer's end: a length or varint that runs past it is an error naming
// where (protobufjs' Reader's wording), never a read of bytes that are not
// there. 64-bit values come back as bigint, made from a plain number when
// they fit one (nearly every address, size and id).

export interface WireReader {
  readonly buf: Buffer;
  pos: number;
  readonly len: number;
}

export function createReader(bytes: Uint8Array): WireReader {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { buf, pos: 0, len: buf.length };
}

function outOfRange(r: WireReader, length: number): RangeError {
  return new RangeError(`index out of range: ${r.pos} + ${length} > ${r.len}`);
}

function need(r: WireReader, length: number): void {
  if (r.pos + length > r.len) throw outOfRange(r, length);
}

/** A varint's low 32 bits (unsigned); the varint may be up to ten bytes long. */
export function readVarint32(r: WireReader): number {
  const buf = r.buf;
  let value = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (r.pos >= r.len) throw outOfRange(r, 1);
    const byte = buf[r.pos++] as number;
    if (shift < 32) value |= (byte & 127) << shift;
    if (byte < 128) return value >>> 0;
  }
  throw new Error('invalid varint encoding');
}

/** A varint as its low and high 32-bit halves, into `out`. */
function readVarintHalves(r: WireReader, out: [number, number]): void {
  const buf = r.buf;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.len) throw outOfRange(r, 1);
    const byte = buf[r.pos++] as number;
    const bits = byte & 127;
    if (i < 4) lo |= bits << (i * 7);
    else if (i === 4) {
      lo |= bits << 28;
      hi |= bits >>> 4;
    } else hi |= bits << (i * 7 - 32);
    if (byte < 128) {
      out[0] = lo >>> 0;
      out[1] = hi >>> 0;
      return;
    }
  }
  throw new Error('invalid varint encoding');
}

const halves: [number, number] = [0, 0];
const TWO_32 = 0x100000000;

/** Unsigned 64 bits as a bigint. */
function unsigned(lo: number, hi: number): bigint {
  return hi < 0x200000 ? BigInt(hi * TWO_32 + lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** Two's complement 64 bits as a bigint. */
function signed(lo: number, hi: number): bigint {
  if (hi < 0x200000) return BigInt(hi * TWO_32 + lo);
  if (hi >= 0xffe00000) return BigInt((hi - TWO_32) * TWO_32 + lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

export function readUint64(r: WireReader): bigint {
  readVarintHalves(r, halves);
  return unsigned(halves[0], halves[1]);
}

export function readInt64(r: WireReader): bigint {
  readVarintHalves(r, halves);
  return signed(halves[0], halves[1]);
}

export function readSint64(r: WireReader): bigint {
  readVarintHalves(r, halves);
  const [lo, hi] = halves;
  if (hi < 0x200000) {
    const zigzag = hi * TWO_32 + lo;
    return BigInt(zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2);
  }
  const u = unsigned(lo, hi);
  return (u >> 1n) ^ -(u & 1n);
}

export function readFixed32(r: WireReader): number {
  need(r, 4);
  const value = r.buf.readUInt32LE(r.pos);
  r.pos += 4;
  return value;
}

function readFixedHalves(r: WireReader): [number, number] {
  need(r, 8);
  halves[0] = r.buf.readUInt32LE(r.pos);
  halves[1] = r.buf.readUInt32LE(r.pos + 4);
  r.pos += 8;
  return halves;
}

export function readFixed64(r: WireReader): bigint {
  const [lo, hi] = readFixedHalves(r);
  return unsigned(lo, hi);
}

export function readSfixed64(r: WireReader): bigint {
  const [lo, hi] = readFixedHalves(r);
  return signed(lo, hi);
}

export function readFloat(r: WireReader): number {
  need(r, 4);
  const value = r.buf.readFloatLE(r.pos);
  r.pos += 4;
  return value;
}

export function readDouble(r: WireReader): number {
  need(r, 8);
  const value = r.buf.readDoubleLE(r.pos);
  r.pos += 8;
  return value;
}

/** Where a length-delimited part ends, checked against the buffer; pos is left at its start. */
function delimitedEnd(r: WireReader): number {
  const length = readVarint32(r);
  need(r, length);
  return r.pos + length;
}

export function readString(r: WireReader): string {
  const end = delimitedEnd(r);
  const value = r.buf.toString('utf8', r.pos, end);
  r.pos = end;
  return value;
}

/** A bytes field, copied: it does not keep the image's buffer alive. */
export function readBytes(r: WireReader): Buffer {
  const end = delimitedEnd(r);
  const value = Buffer.from(r.buf.subarray(r.pos, end));
  r.pos = end;
  return value;
}

/** Groups nested deeper than this are refused (hostile input, not a stack overflow). */
const MAX_GROUP_DEPTH = 64;

/** Skip a field of that wire type (groups with what they hold). */
export function skipField(r: WireReader, wireType: number, depth = 0): void {
  switch (wireType) {
    case 0:
      readVarint32(r);
      return;
    case 1:
      need(r, 8);
      r.pos += 8;
      return;
    case 2:
      r.pos = delimitedEnd(r);
      return;
    case 5:
      need(r, 4);
      r.pos += 4;
      return;
    case 3:
      if (depth >= MAX_GROUP_DEPTH) throw new Error(`groups nested over ${MAX_GROUP_DEPTH} deep at offset ${r.pos}`);
      for (let inner = readVarint32(r) & 7; inner !== 4; inner = readVarint32(r) & 7) skipField(r, inner, depth + 1);
      return;
    default:
      throw new Error(`invalid wire type ${wireType} at offset ${r.pos}`);
  }
}

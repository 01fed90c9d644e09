// Protobuf's wire encoding into one growing buffer: varints, fixed-width
// integers and floats (little-endian), length-delimited strings, bytes and
// messages. A message's length is reserved as one byte before it is written
// and widened afterwards if it needs more (messages of 128 bytes and up
// move once per level), so the bytes are protobufjs' Writer's without its
// list of pending operations (~1 KB per vma_entry held until finish()).

export interface WireWriter {
  buf: Buffer;
  pos: number;
}

export function createWriter(size = 512): WireWriter {
  return { buf: Buffer.allocUnsafe(size), pos: 0 };
}

/** Room for n more bytes. */
function reserve(w: WireWriter, n: number): void {
  if (w.pos + n <= w.buf.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(w.buf.length * 2, w.pos + n));
  w.buf.copy(bigger, 0, 0, w.pos);
  w.buf = bigger;
}

/** An unsigned 32-bit varint (the value is taken modulo 2^32). */
export function writeVarint32(w: WireWriter, value: number): void {
  reserve(w, 5);
  const buf = w.buf;
  let v = value >>> 0;
  while (v > 127) {
    buf[w.pos++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[w.pos++] = v;
}

/** A 64-bit varint from its low and high 32-bit halves (each unsigned). */
export function writeVarint64(w: WireWriter, low: number, high: number): void {
  reserve(w, 10);
  const buf = w.buf;
  let lo = low >>> 0;
  let hi = high >>> 0;
  while (hi !== 0) {
    buf[w.pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 127) {
    buf[w.pos++] = (lo & 127) | 128;
    lo >>>= 7;
  }
  buf[w.pos++] = lo;
}

/** A non-negative safe integer as a varint, without a bigint. */
export function writeVarintNumber(w: WireWriter, value: number): void {
  if (value <= 0xffffffff) return writeVarint32(w, value);
  writeVarint64(w, value % 0x100000000, Math.floor(value / 0x100000000));
}

/** A signed 32-bit varint: negative values take ten bytes (sign-extended to 64 bits). */
export function writeInt32(w: WireWriter, value: number): void {
  if (value >= 0) return writeVarint32(w, value);
  const bits = BigInt.asUintN(64, BigInt(value));
  writeVarint64(w, Number(bits & 0xffffffffn), Number(bits >> 32n));
}

export function writeFixed32(w: WireWriter, value: number): void {
  reserve(w, 4);
  w.buf.writeUInt32LE(value >>> 0, w.pos);
  w.pos += 4;
}

export function writeFixed64(w: WireWriter, low: number, high: number): void {
  reserve(w, 8);
  w.buf.writeUInt32LE(low >>> 0, w.pos);
  w.buf.writeUInt32LE(high >>> 0, w.pos + 4);
  w.pos += 8;
}

export function writeFloat(w: WireWriter, value: number): void {
  reserve(w, 4);
  w.buf.writeFloatLE(value, w.pos);
  w.pos += 4;
}

export function writeDouble(w: WireWriter, value: number): void {
  reserve(w, 8);
  w.buf.writeDoubleLE(value, w.pos);
  w.pos += 8;
}

export function writeByte(w: WireWriter, value: number): void {
  reserve(w, 1);
  w.buf[w.pos++] = value;
}

/** A length-prefixed UTF-8 string (lone surrogates as U+FFFD, as Buffer writes them). */
export function writeString(w: WireWriter, value: string): void {
  const length = Buffer.byteLength(value, 'utf8');
  writeVarint32(w, length);
  reserve(w, length);
  w.pos += w.buf.write(value, w.pos, length, 'utf8');
}

export function writeBytes(w: WireWriter, value: Uint8Array): void {
  writeVarint32(w, value.length);
  reserve(w, value.length);
  w.buf.set(value, w.pos);
  w.pos += value.length;
}

/** Start a length-delimited part: one byte is kept for its length; give the result to endDelimited. */
export function beginDelimited(w: WireWriter): number {
  reserve(w, 1);
  return w.pos++;
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value >>> 7; v !== 0; v >>>= 7) size++;
  return size;
}

/** Write the length of the part begun at `start`, moving it when the length needs more than one byte. */
export function endDelimited(w: WireWriter, start: number): void {
  const length = w.pos - start - 1;
  if (length < 128) {
    w.buf[start] = length;
    return;
  }
  const extra = varintSize(length) - 1;
  reserve(w, extra);
  w.buf.copyWithin(start + 1 + extra, start + 1, w.pos);
  const end = w.pos + extra;
  w.pos = start;
  writeVarint32(w, length);
  w.pos = end;
}

/** The bytes written (a copy when the buffer is mostly unused, so that it is not kept alive). */
export function finishWriter(w: WireWriter): Buffer {
  const used = w.buf.subarray(0, w.pos);
  return w.pos * 2 >= w.buf.length ? used : Buffer.from(used);
}

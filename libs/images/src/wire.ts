// The codec boundary: our plain messages (bigint for 64-bit integers, Buffer
// for bytes, only present fields) ↔ protobuf bytes. Both directions walk
// the descriptors of wire-types.ts (made from the table codegen/ generates
// from proto/*.proto) with our own writer and reader: no protobufjs
// reflection is built, and no code is generated, at run time. The bytes are
// protobufjs' Type.encode's (fields in number order, repeated fields
// unpacked unless the .proto says [packed=true]); wire.test.ts checks them
// against Type.encode for every type. Every 64-bit field is converted
// without going through a float.
import { CriuError } from '@criu-ts/base';
import { fieldEnumValues, fieldMessage, wireTypeOf, type WireField, type WireType, type WireTypeRef } from './wire-types.js';
import * as wr from './wire-writer.js';
import * as rd from './wire-reader.js';

/** A decoded message: its present fields, by their .proto names. */
export type ImageMessage = Record<string, unknown>;

const limits: Record<string, [bigint, bigint]> = {
  uint64: [0n, (1n << 64n) - 1n],
  fixed64: [0n, (1n << 64n) - 1n],
  int64: [-(1n << 63n), (1n << 63n) - 1n],
  sint64: [-(1n << 63n), (1n << 63n) - 1n],
  sfixed64: [-(1n << 63n), (1n << 63n) - 1n],
};

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** zigzag doubles a value: below this it stays exact as a number */
const ZIGZAG_SAFE = 2 ** 51;

function invalid(type: WireType, field: WireField, what: string): CriuError {
  return new CriuError(`${type.name}: ${field.name}: ${what} expected`, { code: 'EINVAL' });
}

/** A 64-bit field's value, range-checked: a non-negative safe number (most values), else a bigint. */
function longValue(field: WireField, value: unknown): number | bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'bigint' && value >= 0n && value <= SAFE_MAX) return Number(value);
  const big = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
  const range = limits[field.kind];
  if (typeof big !== 'bigint' || range === undefined || big < range[0] || big > range[1]) {
    throw new CriuError(`${field.fullName}: ${String(value)} is not a ${field.kind} (give a bigint)`, { code: 'EINVAL' });
  }
  return big;
}

function writeLong(w: wr.WireWriter, field: WireField, value: unknown): void {
  const v = longValue(field, value);
  const fixed = field.kind === 'fixed64' || field.kind === 'sfixed64';
  if (typeof v === 'number' && !fixed && (field.kind !== 'sint64' || v < ZIGZAG_SAFE)) {
    wr.writeVarintNumber(w, field.kind === 'sint64' ? v * 2 : v);
    return;
  }
  const big = BigInt(v);
  const bits = BigInt.asUintN(64, field.kind === 'sint64' ? (big << 1n) ^ (big >> 63n) : big);
  const lo = Number(bits & 0xffffffffn);
  const hi = Number(bits >> 32n);
  if (fixed) wr.writeFixed64(w, lo, hi);
  else wr.writeVarint64(w, lo, hi);
}

function writeInteger(w: wr.WireWriter, type: WireType, field: WireField, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(type, field, 'integer');
  switch (field.kind) {
    case 'uint32':
      return wr.writeVarint32(w, value);
    case 'int32':
      return wr.writeInt32(w, value);
    case 'sint32':
      return wr.writeVarint32(w, (value << 1) ^ (value >> 31));
    default: // fixed32, sfixed32
      return wr.writeFixed32(w, value);
  }
}

function writeScalar(w: wr.WireWriter, type: WireType, field: WireField, value: unknown): void {
  switch (field.kind) {
    case 'int64': case 'uint64': case 'sint64': case 'fixed64': case 'sfixed64':
      return writeLong(w, field, value);
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(type, field, 'boolean');
      return wr.writeByte(w, value ? 1 : 0);
    case 'string':
      if (typeof value !== 'string') throw invalid(type, field, 'string');
      return wr.writeString(w, value);
    case 'bytes':
      // a string is base64, as protobufjs' Writer takes it
      if (typeof value === 'string') return wr.writeBytes(w, Buffer.from(value, 'base64'));
      if (!(value instanceof Uint8Array)) throw invalid(type, field, 'buffer');
      return wr.writeBytes(w, value);
    case 'float': case 'double':
      if (typeof value !== 'number') throw invalid(type, field, 'number');
      return field.kind === 'float' ? wr.writeFloat(w, value) : wr.writeDouble(w, value);
    case 'enum':
      if (typeof value !== 'number' || !fieldEnumValues(field).has(value)) throw invalid(type, field, 'enum value');
      return wr.writeInt32(w, value);
    default:
      return writeInteger(w, type, field, value);
  }
}

function writeField(w: wr.WireWriter, type: WireType, field: WireField, value: unknown): void {
  wr.writeVarint32(w, field.tag);
  if (field.kind !== 'message') return writeScalar(w, type, field, value);
  if (typeof value !== 'object' || value === null) throw invalid(type, field, 'object');
  const start = wr.beginDelimited(w);
  writeMessage(w, fieldMessage(field), value as ImageMessage);
  wr.endDelimited(w, start);
}

/**
 * A repeated uint32 field (xsave and FPU registers, address words, ...:
 * hundreds in a core entry) written in one tight loop: each element its
 * own tag, as protobufjs writes an unpacked field.
 */
function writeUint32s(w: wr.WireWriter, type: WireType, field: WireField, items: readonly unknown[]): void {
  for (const item of items) {
    if (typeof item !== 'number' || !Number.isInteger(item)) throw invalid(type, field, 'integer');
    wr.writeVarint32(w, field.tag);
    wr.writeVarint32(w, item);
  }
}

/** A [packed=true] field: one tag, the length, the values. */
function writePacked(w: wr.WireWriter, type: WireType, field: WireField, items: readonly unknown[]): void {
  if (items.length === 0) return;
  wr.writeVarint32(w, ((field.id << 3) | 2) >>> 0);
  const start = wr.beginDelimited(w);
  for (const item of items) writeScalar(w, type, field, item);
  wr.endDelimited(w, start);
}

function writeMessage(w: wr.WireWriter, type: WireType, message: ImageMessage): void {
  for (const field of type.wireFields) {
    const value = message[field.name];
    if (value === undefined || value === null) {
      if (field.required) throw new CriuError(`${type.name}: required field ${field.name} is missing`, { code: 'EINVAL' });
      continue;
    }
    if (!field.repeated) {
      writeField(w, type, field, value);
      continue;
    }
    if (!Array.isArray(value)) throw new CriuError(`${field.fullName}: expected an array`, { code: 'EINVAL' });
    if (field.packed) writePacked(w, type, field, value);
    else if (field.kind === 'uint32') writeUint32s(w, type, field, value);
    else for (const item of value) writeField(w, type, field, item);
  }
}

/** Encode one message of that type to protobuf bytes, checking required fields, types and 64-bit ranges. */
export function encodeMessage(type: WireTypeRef, message: ImageMessage): Buffer {
  const w = wr.createWriter();
  writeMessage(w, wireTypeOf(type), message);
  return wr.finishWriter(w);
}

function readScalar(r: rd.WireReader, field: WireField): unknown {
  switch (field.kind) {
    case 'uint32': return rd.readVarint32(r);
    case 'int32': case 'enum': return rd.readVarint32(r) | 0;
    case 'sint32': {
      const v = rd.readVarint32(r);
      return ((v >>> 1) ^ -(v & 1)) | 0;
    }
    case 'bool': return rd.readVarint32(r) !== 0;
    case 'uint64': return rd.readUint64(r);
    case 'int64': return rd.readInt64(r);
    case 'sint64': return rd.readSint64(r);
    case 'fixed64': return rd.readFixed64(r);
    case 'sfixed64': return rd.readSfixed64(r);
    case 'fixed32': return rd.readFixed32(r);
    case 'sfixed32': return rd.readFixed32(r) | 0;
    case 'float': return rd.readFloat(r);
    case 'double': return rd.readDouble(r);
    case 'string': return rd.readString(r);
    case 'bytes': return rd.readBytes(r);
    default: throw new CriuError(`${field.fullName}: unsupported field type ${field.kind}`, { code: 'EINVAL' });
  }
}

function readValue(r: rd.WireReader, field: WireField): unknown {
  if (field.kind === 'message') return readMessage(r, fieldMessage(field), rd.readVarint32(r) + r.pos);
  return readScalar(r, field);
}

function readMessage(r: rd.WireReader, type: WireType, end: number): ImageMessage {
  const out: ImageMessage = {};
  const byId = type.byId;
  while (r.pos < end) {
    const tag = rd.readVarint32(r);
    const field = byId[tag >>> 3];
    if (field === undefined) {
      rd.skipField(r, tag & 7);
      continue;
    }
    if (!field.repeated) {
      out[field.name] = readValue(r, field);
      continue;
    }
    const list = (out[field.name] ??= []) as unknown[];
    const packed = (tag & 7) === 2 && field.kind !== 'message' && field.kind !== 'string' && field.kind !== 'bytes';
    if (!packed) {
      list.push(readValue(r, field));
      continue;
    }
    for (const stop = rd.readVarint32(r) + r.pos; r.pos < stop; ) list.push(readScalar(r, field));
  }
  if (r.pos > end) throw new Error(`${type.name}: a field runs past the message's end`);
  for (const field of type.wireFields) {
    if (field.required && !Object.hasOwn(out, field.name)) throw new Error(`missing required '${field.name}'`);
    if (field.repeated && (out[field.name] as unknown[] | undefined)?.length === 0) delete out[field.name];
  }
  return out;
}

/** Decode protobuf bytes as a message of that type; throws an Error saying what is wrong on bad input. */
export function decodeMessage(type: WireTypeRef, bytes: Uint8Array): ImageMessage {
  const r = rd.createReader(bytes);
  return readMessage(r, wireTypeOf(type), r.len);
}

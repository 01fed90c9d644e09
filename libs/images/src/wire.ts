// The codec boundary: our plain messages (bigint for 64-bit integers, Buffer
// for bytes, only present fields) ↔ protobuf bytes. Both directions walk
// the schema's reflection objects and use protobufjs' Writer and Reader
// directly: protobufjs' own Type.encode/decode are generated with
// `new Function` for every type on first use (five functions per type),
// which cost more than the dump of a small task itself. Every 64-bit field
// is converted without going through a float. The bytes are protobufjs'
// (fields in number order, none packed: CRIU's schemas have no [packed]),
// and wire.test.ts checks them against Type.encode for every type.
import protobuf from 'protobufjs';
import { CriuError } from '@criu-ts/base';
import { longTypes } from './schema.js';

/** A decoded message: its present fields, by their .proto names. */
export type ImageMessage = Record<string, unknown>;

interface LongLike {
  low: number;
  high: number;
}

const limits: Record<string, [bigint, bigint]> = {
  uint64: [0n, (1n << 64n) - 1n],
  fixed64: [0n, (1n << 64n) - 1n],
  int64: [-(1n << 63n), (1n << 63n) - 1n],
  sint64: [-(1n << 63n), (1n << 63n) - 1n],
  sfixed64: [-(1n << 63n), (1n << 63n) - 1n],
};

/** protobuf wire types of the scalar types (enums are int32) */
const WIRE_TYPE: Record<string, number> = {
  int32: 0, uint32: 0, sint32: 0, int64: 0, uint64: 0, sint64: 0, bool: 0,
  fixed64: 1, sfixed64: 1, double: 1,
  string: 2, bytes: 2,
  fixed32: 5, sfixed32: 5, float: 5,
};

function isLongLike(value: unknown): value is LongLike {
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value;
}

function longToBigint(value: unknown, type: string): bigint {
  if (typeof value === 'number') return BigInt(value);
  if (!isLongLike(value)) throw new CriuError(`a ${type} value that is not a Long`, { code: 'EINVAL' });
  const raw = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return type.startsWith('u') || type === 'fixed64' ? raw : BigInt.asIntN(64, raw);
}

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = -SAFE_MAX;

/**
 * A 64-bit field's value as protobufjs' Writer takes it: a plain number when
 * it is exact as one (addresses, sizes, ids: nearly every value; the Writer
 * splits it with float-free integer arithmetic), else a {low, high} pair.
 */
function bigintToLong(value: unknown, field: protobuf.Field): LongLike | number {
  if (typeof value === 'bigint' && value <= SAFE_MAX && value >= SAFE_MIN) {
    const range = limits[field.type];
    if (range !== undefined && value >= range[0]) return Number(value);
  }
  const big = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
  const range = limits[field.type];
  if (typeof big !== 'bigint' || range === undefined || big < range[0] || big > range[1]) {
    throw new CriuError(`${field.fullName.slice(1)}: ${String(value)} is not a ${field.type} (give a bigint)`, { code: 'EINVAL' });
  }
  const bits = BigInt.asUintN(64, big);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0 };
}

const sortedFields = new WeakMap<protobuf.Type, protobuf.Field[]>();

/** The fields in number order (as protobufjs writes them), resolved. */
function fieldsOf(type: protobuf.Type): protobuf.Field[] {
  let fields = sortedFields.get(type);
  if (fields === undefined) {
    fields = [...type.fieldsArray].sort((a, b) => a.id - b.id);
    for (const field of fields) field.resolve();
    sortedFields.set(type, fields);
  }
  return fields;
}

/**
 * Build and resolve a type and every message type its fields name, as
 * the first encode or decode would: done ahead of a freeze, it keeps that
 * work out of the time a tree is frozen.
 */
export function prepareType(type: protobuf.Type, done = new Set<protobuf.Type>()): void {
  if (done.has(type)) return;
  done.add(type);
  for (const field of fieldsOf(type)) if (field.resolvedType instanceof protobuf.Type) prepareType(field.resolvedType, done);
}

function invalid(type: protobuf.Type, field: protobuf.Field, what: string): CriuError {
  return new CriuError(`${type.fullName.slice(1)}: ${field.name}: ${what} expected`, { code: 'EINVAL' });
}

function writeScalar(w: protobuf.Writer, type: protobuf.Type, field: protobuf.Field, value: unknown): void {
  const t = field.resolvedType instanceof protobuf.Enum ? 'enum' : field.type;
  if (longTypes.has(t)) {
    (w[t as 'uint64'] as (v: LongLike | number) => protobuf.Writer).call(w, bigintToLong(value, field));
  } else if (t === 'bool') {
    if (typeof value !== 'boolean') throw invalid(type, field, 'boolean');
    w.bool(value);
  } else if (t === 'string') {
    if (typeof value !== 'string') throw invalid(type, field, 'string');
    w.string(value);
  } else if (t === 'bytes') {
    if (!(value instanceof Uint8Array) && typeof value !== 'string') throw invalid(type, field, 'buffer');
    w.bytes(value);
  } else if (t === 'float' || t === 'double') {
    if (typeof value !== 'number') throw invalid(type, field, 'number');
    w[t](value);
  } else if (t === 'enum') {
    const values = (field.resolvedType as protobuf.Enum).valuesById;
    if (typeof value !== 'number' || values[value] === undefined) throw invalid(type, field, 'enum value');
    w.int32(value);
  } else {
    if (!Number.isInteger(value)) throw invalid(type, field, 'integer');
    (w[t as 'int32'] as (v: number) => protobuf.Writer).call(w, value as number);
  }
}

function writeField(w: protobuf.Writer, type: protobuf.Type, field: protobuf.Field, value: unknown): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    if (typeof value !== 'object' || value === null) throw invalid(type, field, 'object');
    w.uint32((field.id << 3) | 2).fork();
    writeMessage(w, resolved, value as ImageMessage);
    w.ldelim();
    return;
  }
  const wireType = resolved instanceof protobuf.Enum ? 0 : WIRE_TYPE[field.type];
  if (wireType === undefined) throw new CriuError(`${field.fullName.slice(1)}: unsupported field type ${field.type}`, { code: 'EINVAL' });
  w.uint32((field.id << 3) | wireType);
  writeScalar(w, type, field, value);
}

function writeMessage(w: protobuf.Writer, type: protobuf.Type, message: ImageMessage): void {
  for (const field of fieldsOf(type)) {
    const value = message[field.name];
    if (value === undefined || value === null) {
      if (field.required) throw new CriuError(`${type.fullName.slice(1)}: required field ${field.name} is missing`, { code: 'EINVAL' });
      continue;
    }
    if (!field.repeated) {
      writeField(w, type, field, value);
      continue;
    }
    if (!Array.isArray(value)) throw new CriuError(`${field.fullName.slice(1)}: expected an array`, { code: 'EINVAL' });
    if (field.type === 'uint32' && field.resolvedType === null) writeUint32s(w, type, field, value);
    else if (field.resolvedType instanceof protobuf.Type) writeMessages(w, type, field, value);
    else for (const item of value) writeField(w, type, field, item);
  }
}

/**
 * A repeated uint32 field (xsave and FPU registers, address words, ...:
 * hundreds in a core entry) written in one tight loop: each element its
 * own tag, as protobufjs writes an unpacked field.
 */
function writeUint32s(w: protobuf.Writer, type: protobuf.Type, field: protobuf.Field, items: readonly unknown[]): void {
  const tag = field.id << 3;
  for (const item of items) {
    if (typeof item !== 'number' || !Number.isInteger(item)) throw invalid(type, field, 'integer');
    w.uint32(tag).uint32(item);
  }
}

/**
 * A repeated message field, each element encoded on its own and kept as its
 * bytes: the Writer holds an operation per scalar it is given until finish(),
 * ~1 KB per vma_entry, so 100,000 VMAs in one mm_entry took 120 MB; the
 * same bytes (tag, length, message) this way take ~15 MB.
 */
function writeMessages(w: protobuf.Writer, type: protobuf.Type, field: protobuf.Field, items: readonly unknown[]): void {
  const resolved = field.resolvedType as protobuf.Type;
  for (const item of items) {
    if (typeof item !== 'object' || item === null) throw invalid(type, field, 'object');
    const sub = protobuf.Writer.create();
    writeMessage(sub, resolved, item as ImageMessage);
    w.uint32((field.id << 3) | 2).bytes(sub.finish());
  }
}

/** Encode one message of that type to protobuf bytes, checking required fields, types and 64-bit ranges. */
export function encodeMessage(type: protobuf.Type, message: ImageMessage): Buffer {
  const w = protobuf.Writer.create();
  writeMessage(w, type, message);
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readScalar(r: protobuf.Reader, field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Enum) return r.int32();
  const t = field.type;
  if (longTypes.has(t)) return longToBigint((r[t as 'uint64'] as () => unknown).call(r), t);
  if (t === 'bytes') return Buffer.from(r.bytes());
  const read = r[t as 'int32'] as (() => unknown) | undefined;
  if (WIRE_TYPE[t] === undefined || read === undefined) throw new CriuError(`${field.fullName.slice(1)}: unsupported field type ${t}`, { code: 'EINVAL' });
  return read.call(r);
}

function readValue(r: protobuf.Reader, field: protobuf.Field): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return readMessage(r, resolved, r.uint32() + r.pos);
  return readScalar(r, field);
}

function readMessage(r: protobuf.Reader, type: protobuf.Type, end: number): ImageMessage {
  const out: ImageMessage = {};
  fieldsOf(type);
  while (r.pos < end) {
    const tag = r.uint32();
    const field = type.fieldsById[tag >>> 3];
    if (field === undefined) {
      r.skipType(tag & 7);
      continue;
    }
    if (!field.repeated) {
      out[field.name] = readValue(r, field);
      continue;
    }
    const list = (out[field.name] ??= []) as unknown[];
    const packed = (tag & 7) === 2 && !(field.resolvedType instanceof protobuf.Type) && field.type !== 'string' && field.type !== 'bytes';
    if (!packed) {
      list.push(readValue(r, field));
      continue;
    }
    for (const stop = r.uint32() + r.pos; r.pos < stop; ) list.push(readScalar(r, field));
  }
  if (r.pos > end) throw new protobuf.util.ProtocolError(`${type.fullName.slice(1)}: a field runs past the message's end`);
  for (const field of type.fieldsArray) {
    if (field.required && !Object.hasOwn(out, field.name)) throw new protobuf.util.ProtocolError(`missing required '${field.name}'`, { instance: out });
    if (field.repeated && (out[field.name] as unknown[] | undefined)?.length === 0) delete out[field.name];
  }
  return out;
}

/** Decode protobuf bytes as a message of that type; throws protobufjs' error on bad input. */
export function decodeMessage(type: protobuf.Type, bytes: Uint8Array): ImageMessage {
  return readMessage(protobuf.Reader.create(bytes), type, bytes.length);
}

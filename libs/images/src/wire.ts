// The codec boundary: our plain messages (bigint for 64-bit integers, Buffer
// for bytes, only present fields) ↔ protobufjs' wire form (Long-like values).
// Both directions walk the schema, so every 64-bit field is converted
// without going through a float.
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

function isLongLike(value: unknown): value is LongLike {
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value;
}

function longToBigint(value: unknown, type: string): bigint {
  if (typeof value === 'number') return BigInt(value);
  if (!isLongLike(value)) throw new CriuError(`a ${type} value that is not a Long`, { code: 'EINVAL' });
  const raw = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return type.startsWith('u') || type === 'fixed64' ? raw : BigInt.asIntN(64, raw);
}

function bigintToLong(value: unknown, field: protobuf.Field): LongLike {
  const big = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
  const range = limits[field.type];
  if (typeof big !== 'bigint' || range === undefined || big < range[0] || big > range[1]) {
    throw new CriuError(`${field.fullName.slice(1)}: ${String(value)} is not a ${field.type} (give a bigint)`, { code: 'EINVAL' });
  }
  const bits = BigInt.asUintN(64, big);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0 };
}

function valueFromWire(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageFromWire(resolved, value as ImageMessage);
  if (longTypes.has(field.type)) return longToBigint(value, field.type);
  if (field.type === 'bytes') return Buffer.from(value as Uint8Array);
  return value;
}

/** protobufjs' decoded message → our message (own, present fields only). */
export function messageFromWire(type: protobuf.Type, wire: ImageMessage): ImageMessage {
  const out: ImageMessage = {};
  for (const field of type.fieldsArray) {
    if (!Object.hasOwn(wire, field.name)) continue;
    const value = wire[field.name];
    if (field.repeated) {
      if (!Array.isArray(value) || value.length === 0) continue;
      out[field.name] = value.map((item: unknown) => valueFromWire(field, item));
    } else if (value !== undefined && value !== null) {
      out[field.name] = valueFromWire(field, value);
    }
  }
  return out;
}

function valueToWire(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageToWire(resolved, value as ImageMessage);
  if (longTypes.has(field.type)) return bigintToLong(value, field);
  return value;
}

/** Our message → a plain object protobufjs encodes, checking required fields and 64-bit ranges. */
export function messageToWire(type: protobuf.Type, message: ImageMessage): ImageMessage {
  const out: ImageMessage = {};
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined || value === null) {
      if (field.required) {
        throw new CriuError(`${type.fullName.slice(1)}: required field ${field.name} is missing`, { code: 'EINVAL' });
      }
      continue;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) throw new CriuError(`${field.fullName.slice(1)}: expected an array`, { code: 'EINVAL' });
      out[field.name] = value.map((item: unknown) => valueToWire(field, item));
    } else {
      out[field.name] = valueToWire(field, value);
    }
  }
  const problem = type.verify(out);
  if (problem !== null) throw new CriuError(`${type.fullName.slice(1)}: ${problem}`, { code: 'EINVAL' });
  return out;
}

/** Encode one message of that type to protobuf bytes. */
export function encodeMessage(type: protobuf.Type, message: ImageMessage): Buffer {
  const bytes = type.encode(messageToWire(type, message)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decode protobuf bytes as a message of that type; throws protobufjs' error on bad input. */
export function decodeMessage(type: protobuf.Type, bytes: Uint8Array): ImageMessage {
  return messageFromWire(type, type.decode(bytes) as unknown as ImageMessage);
}

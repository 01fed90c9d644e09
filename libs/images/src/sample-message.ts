// A message of any schema type with every field set, for round-trip tests of
// codecs (ours and others'): values at the edges of each type (64-bit values
// beyond 2^53, unsigned values with the top bit set, non-ASCII strings, bytes
// long enough for base64 line breaks), two items per repeated field.
import type protobuf from 'protobufjs';
import { protobufjs } from './protobufjs-lazy.js';
import { critDictTables } from './crit-format.js';
import { critOptions, messageType } from './schema.js';
import type { ImageMessage } from './wire.js';

const scalars: Record<string, (seed: number) => unknown> = {
  int32: (s) => -123456 - s,
  sint32: (s) => -654321 - s,
  sfixed32: (s) => -7 - s,
  uint32: (s) => 0xdeadbeef - s,
  fixed32: (s) => 0x80000001 + s,
  int64: (s) => -0x123456789abcdefn - BigInt(s),
  sint64: (s) => -0x7edcba9876543210n + BigInt(s),
  sfixed64: (s) => -(1n << 62n) - BigInt(s),
  uint64: (s) => 0xfedcba9876543210n - BigInt(s),
  fixed64: (s) => (1n << 63n) + 1n + BigInt(s),
  bool: () => true,
  string: (s) => `name-${s} "quoted" \\ é/ü\t`,
  bytes: (s) => Buffer.from(Array.from({ length: 70 + s }, (_unused, i) => (i * 37 + s) & 0xff)),
  double: (s) => 1.5 + s,
  float: (s) => 0.25 + s,
};

function sampleValue(field: protobuf.Field, seed: number, depth: number): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobufjs().Type) return depth > 4 ? undefined : sampleMessageOf(resolved, seed, depth + 1);
  if (resolved instanceof protobufjs().Enum) {
    const values = Object.values(resolved.values);
    return values[(seed + values.length - 1) % values.length];
  }
  const opts = critOptions(field);
  if (opts.dict !== undefined) {
    const keys = Object.keys(critDictTables[opts.dict]?.[field.name] ?? {});
    if (keys.length > 0) return Number(keys[seed % keys.length]);
  }
  if (opts.conv === 'unix_name') return Buffer.from(`/tmp/sock=${seed} é \n`, 'utf8');
  if (opts.dev === true && field.type === 'uint32') return 0x00812345 + seed;
  const make = scalars[field.type];
  if (make === undefined) throw new TypeError(`no sample for ${field.type}`);
  return make(seed);
}

function sampleField(field: protobuf.Field, seed: number, depth: number): unknown {
  if (!field.repeated) return sampleValue(field, seed, depth);
  if (critOptions(field).ipadd === true) return seed % 2 === 0 ? [0x0100a8c0, 0, 0xffff0000, 0x0403020a] : [0x0100007f];
  const items = [sampleValue(field, seed, depth), sampleValue(field, seed + 1, depth)];
  return items.every((item) => item !== undefined) ? items : undefined;
}

function sampleMessageOf(type: protobuf.Type, seed: number, depth: number): ImageMessage {
  const out: ImageMessage = {};
  for (const field of type.fieldsArray) {
    const value = sampleField(field, seed + field.id, depth);
    if (value !== undefined) out[field.name] = value;
  }
  return out;
}

/** A message of that type with every field set; seed varies the values. */
export function sampleMessage(typeName: string, seed = 0): ImageMessage {
  return sampleMessageOf(messageType(typeName), seed, 0);
}

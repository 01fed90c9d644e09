// One message ↔ crit's JSON object (pycriu pb2dict / dict2pb): present fields
// in field-number order, enums by name, bytes as base64 lines; with pretty,
// (criu).hex / dev / flags / dict / ipadd fields in their readable forms.
import type protobuf from 'protobufjs';
import { protobufjs } from './protobufjs-lazy.js';
import { CriuError } from '@criu-ts/base';
import { critOptions, longTypes } from './schema.js';
import {
  base64Lines, critDictTables, critFlagTables, devFromString, devToString, flagsFromString, flagsToString, fromBase64,
  hexString, parsePythonInt,
} from './crit-format.js';
import { fromQuotedPrintable, ipFromString, ipToString, quotedPrintable } from './crit-ipquopri.js';
import type { JsonValue } from './json-text.js';
import type { ImageMessage } from './wire.js';

type JsonObject = { [key: string]: JsonValue };

function byNumber(type: protobuf.Type): protobuf.Field[] {
  return [...type.fieldsArray].sort((a, b) => a.id - b.id);
}

function prettyInt(field: protobuf.Field, value: number | bigint, isHex: boolean): JsonValue {
  const opts = critOptions(field);
  if (isHex) return hexString(value);
  if (opts.dev === true) return devToString(value, opts.odev === true);
  if (opts.flags !== undefined) {
    const table = critFlagTables[opts.flags];
    return table === undefined ? hexString(value) : flagsToString(value, table);
  }
  if (opts.dict !== undefined) return critDictTables[opts.dict]?.[field.name]?.[Number(value)] ?? value;
  return value;
}

function valueToCrit(field: protobuf.Field, value: unknown, pretty: boolean, isHex: boolean): JsonValue {
  const resolved = field.resolvedType;
  if (resolved instanceof protobufjs().Type) return messageToCrit(resolved, value as ImageMessage, pretty, isHex);
  if (resolved instanceof protobufjs().Enum) return resolved.valuesById[value as number] ?? null;
  if (field.type === 'bytes') {
    const bytes = value as Uint8Array;
    return critOptions(field).conv === 'unix_name' ? quotedPrintable(bytes) : base64Lines(bytes);
  }
  if (typeof value === 'number' || typeof value === 'bigint') return pretty ? prettyInt(field, value, isHex) : value;
  return value as JsonValue;
}

/** A message as crit's JSON object (pretty: `crit decode --pretty` / `crit show`). */
export function messageToCrit(type: protobuf.Type, message: ImageMessage, pretty: boolean, inheritHex = false): JsonObject {
  const out: JsonObject = {};
  for (const field of byNumber(type)) {
    const value = message[field.name];
    if (value === undefined) continue;
    const opts = critOptions(field);
    const isHex = inheritHex || opts.hex === true;
    if (field.repeated && pretty && opts.ipadd === true) {
      out[field.name] = [ipToString(value as number[])];
    } else if (field.repeated) {
      out[field.name] = (value as unknown[]).map((item) => valueToCrit(field, item, pretty, isHex));
    } else {
      out[field.name] = valueToCrit(field, value, pretty, isHex);
    }
  }
  return out;
}

function intFromCrit(field: protobuf.Field, value: JsonValue): bigint {
  if (typeof value === 'number' || typeof value === 'bigint') return BigInt(value);
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value !== 'string') throw new CriuError(`${field.name}: ${JSON.stringify(value)} is not a number`, { code: 'EINVAL' });
  const opts = critOptions(field);
  if (opts.dev === true) return devFromString(value, opts.odev === true);
  const table = opts.flags === undefined ? undefined : critFlagTables[opts.flags];
  if (table !== undefined) return flagsFromString(value, table);
  if (opts.dict !== undefined) {
    const entry = Object.entries(critDictTables[opts.dict]?.[field.name] ?? {}).find(([, name]) => name === value);
    if (entry !== undefined) return BigInt(entry[0]);
  }
  return parsePythonInt(value);
}

function valueFromCrit(field: protobuf.Field, value: JsonValue): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobufjs().Type) return messageFromCrit(resolved, value as JsonObject);
  if (resolved instanceof protobufjs().Enum) {
    const number = resolved.values[String(value)];
    if (number === undefined) throw new CriuError(`${field.name}: no ${resolved.name} value ${String(value)}`, { code: 'EINVAL' });
    return number;
  }
  if (field.type === 'bytes') return critOptions(field).conv === 'unix_name' ? fromQuotedPrintable(String(value)) : fromBase64(String(value));
  if (field.type === 'string') return String(value);
  if (field.type === 'bool') return Boolean(value);
  if (field.type === 'float' || field.type === 'double') return Number(value);
  const int = intFromCrit(field, value);
  return longTypes.has(field.type) ? int : Number(int);
}

/** crit's JSON object → a message (accepts both plain and pretty forms). */
export function messageFromCrit(type: protobuf.Type, object: JsonObject): ImageMessage {
  const out: ImageMessage = {};
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    if (value === undefined) continue;
    if (!field.repeated) {
      out[field.name] = valueFromCrit(field, value);
      continue;
    }
    const list = Array.isArray(value) ? value : [value];
    if (critOptions(field).ipadd === true && typeof list[0] === 'string') out[field.name] = ipFromString(list[0]);
    else out[field.name] = list.map((item) => valueFromCrit(field, item));
  }
  return out;
}

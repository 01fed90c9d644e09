// The message types as the codec sees them: descriptors made from the wire
// table that codegen/ generates from proto/*.proto (generated/wire-table.ts),
// one per type on its first use, its message and enum references resolved
// on theirs. No protobufjs here: building its reflection (Root, Type,
// resolveAll) cost ~12 ms of every small restore.
import { CriuError } from '@criu-ts/base';
import { enumValues, messageFields } from './generated/wire-table.js';
import type { WireFieldRow, WireKindName } from './wire-row.js';

/** The protobuf wire type of each kind: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit. */
const WIRE_TYPE: Readonly<Record<WireKindName, number>> = {
  int32: 0, uint32: 0, sint32: 0, int64: 0, uint64: 0, sint64: 0, bool: 0, enum: 0,
  fixed64: 1, sfixed64: 1, double: 1,
  string: 2, bytes: 2, message: 2,
  fixed32: 5, sfixed32: 5, float: 5,
};

/** The 64-bit integer types: bigint in our API. */
export const longTypes: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

export interface WireField {
  readonly id: number;
  readonly name: string;
  /** 'type.field', for messages */
  readonly fullName: string;
  readonly kind: WireKindName;
  /** its wire type, as written in its tag when not packed */
  readonly wire: number;
  /** its tag: (number << 3) | wire type */
  readonly tag: number;
  readonly required: boolean;
  readonly repeated: boolean;
  readonly packed: boolean;
  /** the message or enum type's protobuf name */
  readonly typeName: string | undefined;
  /** that type's descriptor or values, set on first use (fieldMessage, fieldEnumValues) */
  resolvedMessage: WireType | undefined;
  resolvedEnum: ReadonlySet<number> | undefined;
}

export interface WireType {
  /** protobuf name: 'core_entry', 'mnt_entry.x', ... */
  readonly name: string;
  /** in number order */
  readonly wireFields: readonly WireField[];
  /** the fields by number */
  readonly byId: readonly (WireField | undefined)[];
}

/** A message type as the codec takes it: a descriptor, a protobuf name, or anything named like protobufjs' Type ('.core_entry'). */
export type WireTypeRef = WireType | string | { readonly fullName: string };

const types = new Map<string, WireType>();
const enums = new Map<string, ReadonlySet<number>>();

function noSchema(name: string): CriuError {
  return new CriuError(`no message type ${name} in the image schemas (proto/)`, { code: 'ENOSCHEMA' });
}

function fieldOf(typeName: string, row: WireFieldRow): WireField {
  const [id, name, kind, rule] = row;
  return {
    id, name, kind, fullName: `${typeName}.${name}`, wire: WIRE_TYPE[kind], tag: ((id << 3) | WIRE_TYPE[kind]) >>> 0,
    required: rule === 'required', repeated: rule === 'repeated' || rule === 'packed', packed: rule === 'packed',
    typeName: row[4], resolvedMessage: undefined, resolvedEnum: undefined,
  };
}

/** The descriptor of the message type of that protobuf name, e.g. 'core_entry'. */
export function wireType(name: string): WireType {
  const known = types.get(name);
  if (known !== undefined) return known;
  const rows = Object.hasOwn(messageFields, name) ? messageFields[name] : undefined;
  if (rows === undefined) throw noSchema(name);
  const wireFields = rows.map((row) => fieldOf(name, row));
  const byId: (WireField | undefined)[] = [];
  for (const field of wireFields) byId[field.id] = field;
  const type: WireType = { name, wireFields, byId };
  types.set(name, type);
  return type;
}

/** The descriptor a reference names. */
export function wireTypeOf(ref: WireTypeRef): WireType {
  if (typeof ref === 'string') return wireType(ref);
  if ('wireFields' in ref) return ref;
  return wireType(ref.fullName.replace(/^\./, ''));
}

/** Whether the schemas have a message of that name. */
export function hasWireType(name: string): boolean {
  return Object.hasOwn(messageFields, name);
}

/** Every message type's protobuf name, in the schemas' order. */
export function wireTypeNames(): string[] {
  return Object.keys(messageFields);
}

/** The message type of a message field. */
export function fieldMessage(field: WireField): WireType {
  return (field.resolvedMessage ??= wireType(field.typeName ?? field.fullName));
}

/** The values of an enum field's type. */
export function fieldEnumValues(field: WireField): ReadonlySet<number> {
  if (field.resolvedEnum !== undefined) return field.resolvedEnum;
  const name = field.typeName ?? field.fullName;
  let values = enums.get(name);
  if (values === undefined) {
    const list = Object.hasOwn(enumValues, name) ? enumValues[name] : undefined;
    if (list === undefined) throw new CriuError(`${field.fullName}: no enum ${name} in the image schemas (proto/)`, { code: 'ENOSCHEMA' });
    values = new Set(list);
    enums.set(name, values);
  }
  return (field.resolvedEnum = values);
}

/**
 * Make the descriptors of a type and of every message type its fields
 * name, as the first encode or decode would: done ahead of a freeze, it
 * keeps that work out of the time a tree is frozen.
 */
export function prepareWireType(type: WireType, done = new Set<WireType>()): void {
  if (done.has(type)) return;
  done.add(type);
  for (const field of type.wireFields) {
    if (field.kind === 'message') prepareWireType(fieldMessage(field), done);
    else if (field.kind === 'enum') fieldEnumValues(field);
  }
}

// The wire table: what the codec (src/wire.ts) needs of each message type,
// as plain data, so that encoding and decoding never build protobufjs
// reflection at run time. Per message: its fields in number order, each a
// row [number, name, kind, rule, type?]; per enum: its values.
import protobuf from 'protobufjs';
import { collect } from './emit-types.js';

/** The scalar types the codec knows; a field of any other type stops the build. */
const scalars = new Set([
  'double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32',
  'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'bool', 'string', 'bytes',
]);

/** Whether a repeated field of this type may be packed (numeric scalars and enums). */
function packable(field: protobuf.Field): boolean {
  return field.resolvedType instanceof protobuf.Enum || (field.resolvedType === null && field.type !== 'string' && field.type !== 'bytes');
}

function rule(field: protobuf.Field): string {
  if (field.required) return 'required';
  if (!field.repeated) return '';
  return field.packed && packable(field) ? 'packed' : 'repeated';
}

function fieldRow(field: protobuf.Field): unknown[] {
  if (field.map) throw new Error(`field ${field.fullName}: map fields are not used by CRIU images`);
  const resolved = field.resolvedType;
  const head = [field.id, field.name];
  if (resolved instanceof protobuf.Type) return [...head, 'message', rule(field), resolved.fullName.slice(1)];
  if (resolved instanceof protobuf.Enum) return [...head, 'enum', rule(field), resolved.fullName.slice(1)];
  if (!scalars.has(field.type)) throw new Error(`field ${field.fullName}: unknown type ${field.type}`);
  return [...head, field.type, rule(field)];
}

function messageRows(type: protobuf.Type): string {
  const rows = [...type.fieldsArray].sort((a, b) => a.id - b.id).map((field) => JSON.stringify(fieldRow(field)));
  return `  ${JSON.stringify(type.fullName.slice(1))}: [${rows.join(', ')}],`;
}

function enumRow(en: protobuf.Enum): string {
  const values = [...new Set(Object.values(en.values))].sort((a, b) => a - b);
  return `  ${JSON.stringify(en.fullName.slice(1))}: ${JSON.stringify(values)},`;
}

/** The wire-table.ts module text. */
export function emitWireTable(root: protobuf.Root): string {
  const types: protobuf.Type[] = [];
  const enums: protobuf.Enum[] = [];
  collect(root, types, enums);
  return [
    '// Generated from proto/*.proto by codegen/ at build time. Do not edit.',
    '/* eslint-disable */',
    "import type { WireFieldRow } from '../wire-row.js';",
    '',
    '/** Every message type by its protobuf name: its fields in number order, [number, name, kind, rule, message or enum type]. */',
    'export const messageFields: Readonly<Record<string, readonly WireFieldRow[]>> = {',
    ...types.map(messageRows),
    '};',
    '',
    '/** Every enum by its protobuf name: its values. */',
    'export const enumValues: Readonly<Record<string, readonly number[]>> = {',
    ...enums.map(enumRow),
    '};',
    '',
  ].join('\n');
}

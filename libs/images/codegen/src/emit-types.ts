// TypeScript declarations for every message and enum of the schema: interfaces
// with the .proto's snake_case field names; 64-bit integers are bigint, bytes
// Uint8Array, enums numbers.
import protobuf from 'protobufjs';

const scalarTs: Record<string, string> = {
  double: 'number', float: 'number',
  int32: 'number', uint32: 'number', sint32: 'number', fixed32: 'number', sfixed32: 'number',
  int64: 'bigint', uint64: 'bigint', sint64: 'bigint', fixed64: 'bigint', sfixed64: 'bigint',
  bool: 'boolean', string: 'string', bytes: 'Uint8Array',
};

/** '.core_entry' → 'CoreEntry', '.a.b_c' → 'ABC'. */
export function tsName(fullName: string): string {
  return fullName
    .replace(/^\./, '')
    .split(/[._]/)
    .filter((part) => part !== '')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function fieldType(field: protobuf.Field): string {
  const resolved = field.resolvedType;
  if (resolved !== null) return tsName(resolved.fullName);
  const ts = scalarTs[field.type];
  if (ts === undefined) throw new Error(`field ${field.fullName}: unknown type ${field.type}`);
  return ts;
}

function emitMessage(type: protobuf.Type): string {
  const lines = [`/** ${type.fullName.slice(1)} */`, `export interface ${tsName(type.fullName)} {`];
  for (const field of type.fieldsArray) {
    if (field.map) throw new Error(`field ${field.fullName}: map fields are not used by CRIU images`);
    const optional = field.required ? '' : '?';
    const ts = fieldType(field) + (field.repeated ? '[]' : '');
    lines.push(`  ${field.name}${optional}: ${ts};`);
  }
  lines.push('}');
  return lines.join('\n');
}

function emitEnum(en: protobuf.Enum): string {
  const name = tsName(en.fullName);
  const values = Object.entries(en.values);
  const union = [...new Set(values.map(([, v]) => String(v)))].join(' | ') || 'number';
  const members = values.map(([k, v]) => `  ${JSON.stringify(k)}: ${v},`).join('\n');
  return [
    `/** ${en.fullName.slice(1)} */`,
    `export type ${name} = ${union};`,
    `export const ${name} = {\n${members}\n} as const;`,
  ].join('\n');
}

/** Every message and enum below a namespace, depth first, in declaration order. */
export function collect(ns: protobuf.NamespaceBase, types: protobuf.Type[], enums: protobuf.Enum[]): void {
  for (const item of ns.nestedArray) {
    if (item.fullName === '.google') continue; // descriptor.proto, only needed for the option extension
    if (item instanceof protobuf.Type) types.push(item);
    else if (item instanceof protobuf.Enum) enums.push(item);
    if (item instanceof protobuf.Namespace || item instanceof protobuf.Type) collect(item, types, enums);
  }
}

/** The messages.ts module text. */
export function emitTypes(root: protobuf.Root): string {
  const types: protobuf.Type[] = [];
  const enums: protobuf.Enum[] = [];
  collect(root, types, enums);
  const mapLines = types.map((t) => `  ${JSON.stringify(t.fullName.slice(1))}: ${tsName(t.fullName)};`);
  return [
    '// Generated from proto/*.proto by codegen/ at build time. Do not edit.',
    '/* eslint-disable */',
    ...enums.map(emitEnum),
    ...types.map(emitMessage),
    '/** Every message type by its protobuf name. */',
    `export interface Messages {\n${mapLines.join('\n')}\n}`,
    '',
  ].join('\n\n');
}

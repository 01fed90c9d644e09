// The image schemas at run time: the protobufjs root built from the bundle
// that codegen/ generated from proto/*.proto, and crit's per-field options.
import protobuf from 'protobufjs';
import { CriuError } from '@criu-ts/base';
import { schemaJson } from './generated/schema.js';

const root = protobuf.Root.fromJSON(JSON.parse(schemaJson) as protobuf.INamespace);
root.resolveAll();

/** The 64-bit integer types: bigint in our API. */
export const longTypes: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** crit's field options, `[(criu).hex = true]` and friends (opts.proto). */
export interface CritFieldOptions {
  hex?: boolean;
  ipadd?: boolean;
  flags?: string;
  dev?: boolean;
  odev?: boolean;
  dict?: string;
  conv?: string;
}

/** The message type of that protobuf name, e.g. 'core_entry'. */
export function messageType(name: string): protobuf.Type {
  const found = root.lookup(name);
  if (!(found instanceof protobuf.Type)) {
    throw new CriuError(`no message type ${name} in the image schemas (proto/)`, { code: 'ENOSCHEMA' });
  }
  return found;
}

/** Whether the schemas have a message of that name. */
export function hasMessageType(name: string): boolean {
  return root.lookup(name) instanceof protobuf.Type;
}

function collectTypes(ns: protobuf.NamespaceBase, out: protobuf.Type[]): void {
  for (const item of ns.nestedArray) {
    if (item instanceof protobuf.Type) out.push(item);
    if (item instanceof protobuf.Namespace || item instanceof protobuf.Type) collectTypes(item, out);
  }
}

/** Every message type of the schemas, as protobuf names ('core_entry', 'mnt_entry.x', ...). */
export function messageTypeNames(): string[] {
  const types: protobuf.Type[] = [];
  collectTypes(root, types);
  return types.map((type) => type.fullName.slice(1));
}

/** crit's options of a field, read from `(criu).NAME` entries of its options. */
export function critOptions(field: protobuf.Field): CritFieldOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(field.options ?? {})) {
    const match = /^\(criu\)\.(\w+)$/.exec(key);
    if (match?.[1] !== undefined) out[match[1]] = value;
  }
  return out as CritFieldOptions;
}

/** The field of a message with that number, if the schema has one. */
export function fieldById(type: protobuf.Type, id: number): protobuf.Field | undefined {
  return type.fieldsById[id];
}

// The image schemas as protobufjs reflection, for crit's JSON path (field
// options, enum names) and tests: the root built from the bundle that
// codegen/ generated from proto/*.proto, and crit's per-field options.
// Encoding and decoding do not use it (wire.ts walks wire-types.ts), so
// protobufjs is loaded, and each type added to the root with the types its
// fields name, only when crit first looks one up.
import type protobuf from 'protobufjs';
import { CriuError } from '@criu-ts/base';
import { schemaJson } from './generated/schema.js';
import { protobufjs } from './protobufjs-lazy.js';
import { hasWireType, wireTypeNames } from './wire-types.js';

export { longTypes } from './wire-types.js';

type JsonDef = { fields?: Record<string, { type: string }>; nested?: Record<string, JsonDef> };

let root: protobuf.Root | undefined;
let definitions: Record<string, JsonDef> | undefined;

function schemaDefinitions(): Record<string, JsonDef> {
  definitions ??= (JSON.parse(schemaJson) as { nested: Record<string, JsonDef> }).nested;
  return definitions;
}

/** The top-level names a definition's fields (and its nested types' fields) refer to. */
function referencedNames(def: JsonDef, out: Set<string>): void {
  for (const field of Object.values(def.fields ?? {})) out.add(field.type.replace(/^\./, '').split('.')[0] ?? '');
  for (const nested of Object.values(def.nested ?? {})) referencedNames(nested, out);
}

/** Add the top-level definition `top` and what it refers to, then resolve them. */
function addDefinition(top: string): protobuf.Root {
  const pb = protobufjs();
  const current = (root ??= new pb.Root());
  const defs = schemaDefinitions();
  if (current.get(top) !== null || defs[top] === undefined) return current;
  const wanted = new Set<string>();
  const visit = (name: string): void => {
    if (wanted.has(name) || current.get(name) !== null || defs[name] === undefined) return;
    wanted.add(name);
    const refs = new Set<string>();
    referencedNames(defs[name], refs);
    for (const ref of refs) visit(ref);
  };
  visit(top);
  current.addJSON(Object.fromEntries([...wanted].map((name) => [name, defs[name]])) as Record<string, protobuf.AnyNestedObject>);
  for (const name of wanted) {
    const added = current.get(name);
    if (added instanceof pb.Namespace) {
      plainConstructors(added);
      added.resolveAll();
    }
  }
  return current;
}

/**
 * Give every type a plain constructor before resolving it: resolving a
 * field puts its default on the type's constructor's prototype, and
 * protobufjs would otherwise generate that constructor with new Function
 * per type. We never make message instances (wire.ts works on plain objects).
 */
function plainConstructors(ns: protobuf.NamespaceBase): void {
  const pb = protobufjs();
  if (ns instanceof pb.Type) ns.ctor = function Message(): void {} as unknown as protobuf.Constructor<object>;
  for (const nested of ns.nestedArray) if (nested instanceof pb.Namespace || nested instanceof pb.Type) plainConstructors(nested);
}

function lookup(name: string): protobuf.ReflectionObject | null {
  return addDefinition(name.replace(/^\./, '').split('.')[0] ?? '').lookup(name);
}

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

/** The protobufjs message type of that protobuf name, e.g. 'core_entry' (crit's reflection; the codec takes the name). */
export function messageType(name: string): protobuf.Type {
  const found = hasWireType(name) ? lookup(name) : null;
  if (!(found instanceof protobufjs().Type)) {
    throw new CriuError(`no message type ${name} in the image schemas (proto/)`, { code: 'ENOSCHEMA' });
  }
  return found;
}

/** Whether the schemas have a message of that name. */
export function hasMessageType(name: string): boolean {
  return hasWireType(name);
}

/** Every message type of the schemas, as protobuf names ('core_entry', 'mnt_entry.x', ...). */
export function messageTypeNames(): string[] {
  return wireTypeNames();
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

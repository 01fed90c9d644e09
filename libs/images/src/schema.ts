// The image schemas at run time: the protobufjs root built from the bundle
// that codegen/ generated from proto/*.proto, and crit's per-field options.
// Types are added to the root when first looked up, with the types their
// fields name: building all ~140 at start cost tens of ms of every run.
import protobuf from 'protobufjs';
import { CriuError } from '@criu-ts/base';
import { schemaJson } from './generated/schema.js';

type JsonDef = { fields?: Record<string, { type: string }>; nested?: Record<string, JsonDef> };

const root = new protobuf.Root();
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
function addDefinition(top: string): void {
  const defs = schemaDefinitions();
  if (root.get(top) !== null || defs[top] === undefined) return;
  const wanted = new Set<string>();
  const visit = (name: string): void => {
    if (wanted.has(name) || root.get(name) !== null || defs[name] === undefined) return;
    wanted.add(name);
    const refs = new Set<string>();
    referencedNames(defs[name], refs);
    for (const ref of refs) visit(ref);
  };
  visit(top);
  root.addJSON(Object.fromEntries([...wanted].map((name) => [name, defs[name]])) as Record<string, protobuf.AnyNestedObject>);
  for (const name of wanted) {
    const added = root.get(name);
    if (added instanceof protobuf.Namespace) {
      plainConstructors(added);
      added.resolveAll();
    }
  }
}

/**
 * Give every type a plain constructor before resolving it: resolving a
 * field puts its default on the type's constructor's prototype, and
 * protobufjs would otherwise generate that constructor with new Function
 * per type. We never make message instances (wire.ts works on plain objects).
 */
function plainConstructors(ns: protobuf.NamespaceBase): void {
  if (ns instanceof protobuf.Type) ns.ctor = function Message(): void {} as unknown as protobuf.Constructor<object>;
  for (const nested of ns.nestedArray) if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) plainConstructors(nested);
}

function lookup(name: string): protobuf.ReflectionObject | null {
  addDefinition(name.replace(/^\./, '').split('.')[0] ?? '');
  return root.lookup(name);
}

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
  const found = lookup(name);
  if (!(found instanceof protobuf.Type)) {
    throw new CriuError(`no message type ${name} in the image schemas (proto/)`, { code: 'ENOSCHEMA' });
  }
  return found;
}

/** Whether the schemas have a message of that name. */
export function hasMessageType(name: string): boolean {
  return lookup(name) instanceof protobuf.Type;
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
  for (const name of Object.keys(schemaDefinitions())) addDefinition(name);
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

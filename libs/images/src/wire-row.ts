// The row of the generated wire table (generated/wire-table.ts) for one field.

/** A field's protobuf type: a scalar's name, or a reference to a message or enum type. */
export type WireKindName =
  | 'double' | 'float' | 'int32' | 'uint32' | 'sint32' | 'fixed32' | 'sfixed32'
  | 'int64' | 'uint64' | 'sint64' | 'fixed64' | 'sfixed64' | 'bool' | 'string' | 'bytes'
  | 'message' | 'enum';

/** '' optional, 'required', 'repeated', or 'packed' (repeated, written packed). */
export type WireRule = '' | 'required' | 'repeated' | 'packed';

/** [number, name, kind, rule] for a scalar, [..., type name] for a message or enum field. */
export type WireFieldRow = readonly [number, string, WireKindName, WireRule] | readonly [number, string, WireKindName, WireRule, string];

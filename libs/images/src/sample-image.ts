// Sample entries for any image kind: sample messages whose payload size fields
// agree with the payloads given, so images can be written and compared.
import type { ImageKindSpec, PayloadSpec } from './kinds.js';
import type { EntryInput } from './entry-encode.js';
import { hasWireType, longTypes, wireType } from './wire-types.js';
import { sampleMessage } from './sample-message.js';
import type { ImageMessage } from './wire.js';

function setCount(typeName: string, message: ImageMessage, field: string, value: number): void {
  const type = wireType(typeName).wireFields.find((f) => f.name === field);
  message[field] = type !== undefined && longTypes.has(type.kind) ? BigInt(value) : value;
}

function bytes(length: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length }, (_unused, i) => (i * 7 + seed * 13 + 1) & 0xff));
}

function withPayload(typeName: string, spec: PayloadSpec | undefined, seed: number): EntryInput {
  const message = sampleMessage(typeName, seed);
  if (spec === undefined) return { message };
  if ('sizeOf' in spec) {
    spec.sizeOf.forEach((name, i) => setCount(typeName, message, name, 3 + seed + i * 5));
    const total = spec.sizeOf.reduce((sum, _name, i) => sum + 3 + seed + i * 5, 0) * (spec.unit ?? 1);
    // the inline variant (crit 3.17 and upstream's crit read a payload whatever `unless` says)
    if (spec.unless !== undefined) message[spec.unless] = false;
    return { message, payload: bytes(total, seed) };
  }
  if ('records' in spec) {
    setCount(typeName, message, spec.records.count, 2);
    const records = [0, 1].map((i) => {
      const record = sampleMessage(spec.records.type, seed + i);
      setCount(spec.records.type, record, spec.records.sizeOf, 5 + i);
      return { message: record, payload: bytes(5 + i, seed + i) };
    });
    return { message, records };
  }
  message[spec.unless] = seed % 2 === 1;
  return message[spec.unless] === true ? { message } : { message, payload: bytes(100 + seed, seed) };
}

/** Whether the schemas have every message type the kind needs. */
export function kindHasSchema(kind: ImageKindSpec): boolean {
  const types = [kind.message, kind.head];
  if (kind.payload !== undefined && 'records' in kind.payload) types.push(kind.payload.records.type);
  return kind.message !== undefined && types.every((type) => type === undefined || hasWireType(type));
}

/**
 * Three entries for a kind (head first where it has one). seed picks variants:
 * for ghost files, odd seeds give a chunked file, even a plain one.
 */
export function sampleEntries(kind: ImageKindSpec, seed = 0): EntryInput[] {
  const body = kind.message ?? '';
  const out: EntryInput[] = [];
  if (kind.head !== undefined) out.push(withPayload(kind.head, kind.headPayload, seed));
  const plainGhost = kind.headPayload !== undefined && out[0]?.payload !== undefined;
  if (plainGhost) return out;
  for (let i = out.length; i < 3; i++) out.push(withPayload(body, kind.payload, seed + i));
  return out;
}


// Encoding entries: the length-prefixed message, then the payload the kind
// demands (checked against the message's size fields) and its padding.
import { CriuError } from '@criu-ts/base';
import { IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC, type ImageKindSpec, type PayloadSpec } from './kinds.js';
import { recordCount, recordSize, restFollows, sizedPayload } from './payload.js';
import { encodeMessage, type ImageMessage } from './wire.js';
import type { ImageRecord } from './entry-steps.js';

/** An entry to write: its message, and the payload bytes if the kind has any. */
export interface EntryInput<M = ImageMessage> {
  message: M;
  payload?: Uint8Array;
  records?: ImageRecord[];
  /** for a rest-of-file payload the caller writes itself: its length */
  payloadLength?: number;
}

/** The encoded entry, and the payload bytes the caller still has to write (0 if none). */
export interface EncodedEntry {
  parts: Uint8Array[];
  /** bytes of payload left for the caller, written after parts, followed by `pad` zero bytes */
  deferred: number;
  pad: number;
  /** a rest-of-file payload: no entry may follow */
  last: boolean;
}

/** The image's magic(s). */
export function encodeHeader(kind: ImageKindSpec): Buffer {
  if (kind.header === 'none') return Buffer.alloc(0);
  const first = { common: IMG_COMMON_MAGIC, service: IMG_SERVICE_MAGIC, single: undefined }[kind.header];
  const out = Buffer.alloc(first === undefined ? 4 : 8);
  if (first !== undefined) out.writeUInt32LE(first, 0);
  out.writeUInt32LE(kind.magic, out.length - 4);
  return out;
}

/** A length-prefixed protobuf message. */
export function encodeFramed(typeName: string, message: ImageMessage): Uint8Array[] {
  const body = encodeMessage(typeName, message);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length, 0);
  return [length, body];
}

function badPayload(typeName: string, text: string): CriuError {
  return new CriuError(`${typeName} entry: ${text}`, { code: 'EINVAL' });
}

function encodeRecords(typeName: string, spec: PayloadSpec, input: EntryInput): Uint8Array[] {
  if (!('records' in spec)) return [];
  const records = input.records ?? [];
  const count = recordCount(spec, input.message);
  if (records.length !== count) throw badPayload(typeName, `${records.length} records given, the message says ${count}`);
  return records.flatMap((record) => {
    const size = recordSize(spec, record.message);
    if (record.payload.length !== size.data) {
      throw badPayload(typeName, `record payload of ${record.payload.length} bytes, the record says ${size.data}`);
    }
    return [...encodeFramed(spec.records.type, record.message), record.payload, Buffer.alloc(size.pad)];
  });
}

function encodePayload(typeName: string, spec: PayloadSpec, input: EntryInput): EncodedEntry {
  const sized = sizedPayload(spec, input.message);
  const out: EncodedEntry = { parts: [], deferred: 0, pad: 0, last: false };
  if (sized !== undefined) {
    if (input.payload === undefined) return { ...out, deferred: sized.data, pad: sized.pad };
    if (input.payload.length !== sized.data) {
      throw badPayload(typeName, `payload of ${input.payload.length} bytes, the message says ${sized.data}`);
    }
    out.parts.push(input.payload, Buffer.alloc(sized.pad));
  } else if (restFollows(spec, input.message)) {
    out.last = true;
    if (input.payload !== undefined) out.parts.push(input.payload);
    else out.deferred = input.payloadLength ?? 0;
  } else {
    out.parts.push(...encodeRecords(typeName, spec, input));
  }
  return out;
}

/** Encode the index-th entry of an image of that kind. */
export function encodeEntry(kind: ImageKindSpec, index: number, input: EntryInput): EncodedEntry {
  if (kind.message === undefined) throw new CriuError(`${kind.name} is a raw image, it has no entries`, { code: 'EINVAL' });
  const head = index === 0 ? kind.head : undefined;
  const typeName = head ?? kind.message;
  const framed = encodeFramed(typeName, input.message);
  const spec = head !== undefined ? kind.headPayload : kind.payload;
  if (spec === undefined) {
    if (input.payload !== undefined) throw badPayload(typeName, `${kind.name} entries carry no payload`);
    return { parts: framed, deferred: 0, pad: 0, last: false };
  }
  const payload = encodePayload(typeName, spec, input);
  return { ...payload, parts: [...framed, ...payload.parts] };
}

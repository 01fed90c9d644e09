// Whole images ↔ crit's JSON ({"magic": "CORE", "entries": [...]}), as
// `crit decode` / `crit encode` / `crit info` print and read them.
import { CriuError } from '@criu-ts/base';
import type { ImageKindSpec } from './kinds.js';
import { kindByMagicName } from './kind-lookup.js';
import type { ImageEntry } from './entry-steps.js';
import type { EntryInput } from './entry-encode.js';
import type { ImageReader } from './image-reader.js';
import type { ImageWriter } from './image-writer.js';
import { messageFromCrit, messageToCrit } from './crit-json.js';
import { extraFromCrit, extraSizeText, extraToCrit, hasExtra } from './crit-extra.js';
import { messageType } from './schema.js';
import type { JsonValue } from './json-text.js';

type JsonObject = { [key: string]: JsonValue };

export interface CritDecodeOptions {
  /** numbers in their readable forms (crit decode --pretty, crit show) */
  pretty?: boolean;
  /** payloads as '... <size>' (crit show --nopl); open the reader with skipPayloads */
  noPayload?: boolean;
}

/** One entry as crit prints it. */
export function entryToCrit(kind: ImageKindSpec, entry: ImageEntry, options: CritDecodeOptions = {}): JsonObject {
  const out = messageToCrit(messageType(entry.type), entry.message, options.pretty === true);
  if (!hasExtra(entry)) return out;
  if (options.noPayload !== true) out.extra = extraToCrit(kind, entry);
  else if (kind.name !== 'ghost-file') out.extra = extraSizeText(kind, entry);
  return out;
}

/** An image as crit's JSON: {magic, entries}. */
export function imageToCrit(reader: ImageReader, options: CritDecodeOptions = {}): JsonObject {
  const entries: JsonValue[] = [];
  for (const entry of reader) entries.push(entryToCrit(reader.kind, entry, options));
  return { magic: reader.kind.magicName, entries };
}

/** crit info: the magic and the number of entries (pagemap's head not counted). */
export function imageInfo(reader: ImageReader): { magic: string; count: number } {
  let count = 0;
  for (let entry = reader.next(); entry !== null; entry = reader.next()) count++;
  if (reader.kind.head !== undefined && reader.kind.name.startsWith('pagemap')) count = Math.max(0, count - 1);
  return { magic: reader.kind.magicName, count };
}

/** The kind of a crit JSON image, from its "magic". */
export function critImageKind(json: JsonValue): ImageKindSpec {
  const magic = (json as JsonObject | null)?.magic;
  const kind = typeof magic === 'string' ? kindByMagicName(magic) : undefined;
  if (kind === undefined || kind.message === undefined) {
    throw new CriuError(`no image kind with magic ${JSON.stringify(magic)}`, { code: 'EINVAL' });
  }
  return kind;
}

/** One crit JSON entry → an entry to write. */
export function entryFromCrit(kind: ImageKindSpec, index: number, object: JsonObject): EntryInput {
  const typeName = (index === 0 ? kind.head : undefined) ?? kind.message;
  if (typeName === undefined) throw new CriuError(`${kind.name} is a raw image`, { code: 'EINVAL' });
  const input: EntryInput = { message: messageFromCrit(messageType(typeName), object) };
  const extra = object.extra;
  if (extra !== undefined && extra !== '') extraFromCrit(kind, extra, input);
  const spec = index === 0 && kind.head !== undefined ? kind.headPayload : kind.payload;
  if (spec !== undefined && input.payload === undefined && input.records === undefined) input.payload = Buffer.alloc(0);
  return input;
}

/** crit encode: write a crit JSON image with a writer made for its kind. */
export function writeCritImage(json: JsonValue, open: (kind: ImageKindSpec) => ImageWriter): void {
  const kind = critImageKind(json);
  const entries = (json as JsonObject).entries;
  if (!Array.isArray(entries)) throw new CriuError('crit JSON image without "entries"', { code: 'EINVAL' });
  const writer = open(kind);
  try {
    entries.forEach((entry, index) => writer.write(entryFromCrit(kind, index, entry as JsonObject)));
  } finally {
    writer.close();
  }
}

// Fuzz targets for the image readers: every image kind that has entries,
// read from a file (the sync reader, with small random buffers so entries
// straddle buffer ends), from a stream cut into random chunks (the async
// reader), with the kind expected or found by magic; each entry read is
// also turned into crit's JSON (criu-crit reads untrusted images too).
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { CriuError } from '@criu-ts/base';
import {
  encodeEntry,
  encodeHeader,
  entryToCrit,
  imageKinds,
  imageReaderOnFd,
  kindHasSchema,
  openImageStream,
  sampleEntries,
  type ImageEntry,
  type ImageKindSpec,
} from '@criu-ts/images';
import { chunked, chunkingArbitrary, mutatedFrom } from './mutate.js';
import { FuzzFinding, expectBounded, expectImageError, type FuzzTarget } from './target.js';

/** A valid image of that kind holding sampleEntries(kind, seed). */
export function sampleImage(kind: ImageKindSpec, seed: number): Buffer {
  const parts: Uint8Array[] = [encodeHeader(kind)];
  sampleEntries(kind, seed).forEach((input, index) => parts.push(...encodeEntry(kind, index, input).parts));
  return Buffer.concat(parts);
}

interface ImageInput {
  bytes: Buffer;
  via: 'file' | 'stream';
  byMagic: boolean;
  bufferSize: number;
  chunks: number[];
}

function keptBytes(entries: readonly ImageEntry[]): number {
  let total = 0;
  for (const entry of entries) {
    total += entry.payload?.length ?? 0;
    for (const record of entry.records ?? []) total += record.payload.length;
  }
  return total;
}

/** crit's JSON of an entry: our typed errors only (a value crit cannot name is an error, not a crash). */
function critJson(kind: ImageKindSpec, entry: ImageEntry): void {
  try {
    entryToCrit(kind, entry);
  } catch (error) {
    if (!(error instanceof CriuError)) throw new FuzzFinding(`entryToCrit: ${String(error)}`, error);
  }
}

function readFile(kind: ImageKindSpec, input: ImageInput, path: string): ImageEntry[] {
  writeFileSync(path, input.bytes);
  const fd = openSync(path, 'r');
  try {
    const reader = imageReaderOnFd(fd, input.byMagic ? undefined : kind, { name: 'fuzz.img', bufferSize: input.bufferSize });
    return [...reader];
  } finally {
    closeSync(fd);
  }
}

async function readStream(kind: ImageKindSpec, input: ImageInput): Promise<ImageEntry[]> {
  const reader = await openImageStream(Readable.from(chunked(input.bytes, input.chunks)), input.byMagic ? undefined : kind, { name: 'fuzz.img' });
  const entries: ImageEntry[] = [];
  for await (const entry of reader) entries.push(entry);
  return entries;
}

function imageTarget(kind: ImageKindSpec): FuzzTarget<ImageInput> {
  const seeds = [0, 1, 2].map((seed) => sampleImage(kind, seed));
  return {
    name: `images/${kind.name}`,
    weight: 1,
    arbitrary: fc.record({
      bytes: mutatedFrom(seeds, { keep: kind.header === 'single' ? 4 : 8 }),
      via: fc.constantFrom('file' as const, 'stream' as const),
      byMagic: fc.boolean(),
      bufferSize: fc.integer({ min: 8, max: 8192 }),
      chunks: chunkingArbitrary,
    }),
    async check(input, scratch) {
      let entries: ImageEntry[];
      try {
        entries = input.via === 'file' ? readFile(kind, input, join(scratch, 'fuzz.img')) : await readStream(kind, input);
      } catch (error) {
        expectImageError(error, input.bytes.length);
        return 'rejected';
      }
      expectBounded(`${kind.name} payloads`, keptBytes(entries), input.bytes.length);
      for (const entry of entries) critJson(kind, entry);
      return 'accepted';
    },
  };
}

/** One target per image kind that has entries and schemas. */
export function imageTargets(): FuzzTarget<ImageInput>[] {
  return (imageKinds as readonly ImageKindSpec[]).filter((kind) => kind.message !== undefined && kindHasSchema(kind)).map(imageTarget);
}

// Whole-image helpers for small images in an images directory.
import { join } from 'node:path';
import { ImageError } from '@criu-ts/base';
import type { EntryInput } from './entry-encode.js';
import { imageFileName, imageKind } from './kind-lookup.js';
import type { KindName } from './kinds.js';
import { openImage, type ReadOptions } from './image-reader.js';
import { createImage } from './image-writer.js';
import type { ImageEntry } from './entry-steps.js';
import type { EntryMessage } from './typed.js';

type Id = number | bigint | string;

/** The path of an image in dir, e.g. imagePath(dir, 'core', 42) → dir/core-42.img. */
export function imagePath(dir: string, kind: KindName, id?: Id): string {
  return join(dir, imageFileName(kind, id));
}

/** Every entry (with payloads) of an image. */
export function readImageEntries(path: string, kind?: KindName, options: ReadOptions = {}): ImageEntry[] {
  const reader = openImage(path, kind, options);
  try {
    return [...reader];
  } finally {
    reader.close();
  }
}

/** The messages of a small image, e.g. readEntries(dir, 'pstree'), readEntries(dir, 'fdinfo', filesId). */
export function readEntries<K extends KindName>(dir: string, kind: K, ...args: [id?: Id]): EntryMessage<K>[] {
  return readImageEntries(imagePath(dir, kind, args[0]), kind).map((entry) => entry.message as EntryMessage<K>);
}

/** The single message of an image that holds exactly one (mm-PID, ids-PID, inventory, ...). */
export function readOne<K extends KindName>(dir: string, kind: K, ...args: [id?: Id]): EntryMessage<K> {
  const path = imagePath(dir, kind, args[0]);
  const reader = openImage(path, kind);
  try {
    const first = reader.next();
    if (first === null) throw new ImageError('expected one entry, found none', { image: reader.image, offset: reader.offset });
    const at = reader.offset;
    if (reader.next() !== null) throw new ImageError('expected one entry, found more', { image: reader.image, offset: at });
    return first.message as EntryMessage<K>;
  } finally {
    reader.close();
  }
}

/** Write a whole image (0600, fsynced); entries are messages or {message, payload}. */
export function writeImage<K extends KindName>(
  path: string,
  kind: K,
  entries: Iterable<EntryMessage<K> | EntryInput<EntryMessage<K>>>,
): void {
  const spec = imageKind(kind);
  const writer = createImage(path, spec);
  try {
    for (const entry of entries) {
      const input = (isEntryInput(entry) ? entry : { message: entry }) as EntryInput;
      if (writer.write(input) !== undefined) {
        throw new ImageError('entry written without its payload', { image: writer.name, offset: writer.offset });
      }
    }
  } finally {
    writer.close();
  }
}

function isEntryInput(value: unknown): value is EntryInput {
  return typeof value === 'object' && value !== null && 'message' in value && typeof value.message === 'object';
}

/** writeImage into dir under the kind's file name. */
export function writeEntries<K extends KindName>(
  dir: string,
  kind: K,
  entries: Iterable<EntryMessage<K> | EntryInput<EntryMessage<K>>>,
  ...args: [id?: Id]
): string {
  const path = imagePath(dir, kind, args[0]);
  writeImage(path, kind, entries);
  return path;
}

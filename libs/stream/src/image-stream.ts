// A whole checkpoint as one tar stream (format: README.md): the images of
// a directory in a fixed order — inventory.img, the other small images,
// pagemap images, then the pages images — then tar's end-of-stream marker.
// The writer is what `criu dump --stream` calls once the images are
// written; the reader is what `criu restore --stream` and crit call.
import { createReadStream, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CriuError, ImageError } from '@criu-ts/base';
import { kindOfFileName } from '@criu-ts/images';
import { memberNameProblem } from './member-names.js';
import { extractTar, type ExtractOptions } from './tar-extract.js';
import type { TarMember } from './tar-reader.js';
import { TarWriter, type TarWriterOptions } from './tar-writer.js';

/** The image every checkpoint stream must hold. */
export const INVENTORY = 'inventory.img';

function rank(name: string): number {
  if (name === INVENTORY) return 0;
  if (name.startsWith('pages-')) return 3;
  if (name.startsWith('pagemap-')) return 2;
  return 1;
}

function numbered(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Image file names in stream order: inventory, small images, pagemaps, pages. */
export function streamOrder(names: readonly string[]): string[] {
  return [...names].sort((a, b) => rank(a) - rank(b) || numbered(a, b));
}

/** The image files of a directory (regular files named as an image kind: core-1.img, stats-dump, ...), in stream order. */
export function imageFilesIn(dir: string): string[] {
  const isImage = (name: string): boolean => kindOfFileName(name) !== undefined && memberNameProblem(name) === undefined;
  const names = readdirSync(dir).filter((name) => isImage(name) && lstatSync(join(dir, name)).isFile());
  return streamOrder(names);
}

export interface StreamWriteResult {
  members: string[];
  bytes: number;
}

/**
 * Write the images of `dir` to `fd` as one stream, ending with the end
 * marker. Synchronous, memory bounded by a header block (data moves by
 * sendfile). Only a call that returns has written a complete stream.
 */
export function writeImageStream(dir: string, fd: number, options: TarWriterOptions = {}): StreamWriteResult {
  return finishImageStream(new TarWriter(fd, options), dir);
}

/**
 * Append the images of `dir` (in stream order) to a stream that may already
 * hold members (the pages images `criu dump --stream` wrote during the
 * dump), then the end marker. `members` lists what came from `dir`.
 */
export function finishImageStream(writer: TarWriter, dir: string): StreamWriteResult {
  const members = imageFilesIn(dir);
  if (!members.includes(INVENTORY)) throw new CriuError(`${dir}: no ${INVENTORY}, not a checkpoint to stream`, { code: 'ENOENT' });
  for (const name of members) writer.addFile(join(dir, name), name);
  writer.finish();
  return { members, bytes: writer.offset };
}

/** A Readable over an fd the caller keeps owning (stdin, a pipe, a socket). */
export function readableFromFd(fd: number): Readable {
  return createReadStream('', { fd, autoClose: false, highWaterMark: 256 * 1024 });
}

/**
 * Extract a checkpoint stream into `dir` (existing, with none of the
 * stream's files). Resolves only once the whole stream, end marker
 * included, was read and it held an inventory; otherwise every file it
 * created is removed and an ImageError says where the stream went wrong.
 */
export async function extractImageStream(source: Readable | number, dir: string, options: ExtractOptions = {}): Promise<TarMember[]> {
  const members = await extractTar(source, dir, options);
  if (!members.some((member) => member.name === INVENTORY)) {
    for (const member of members) rmSync(join(dir, member.name), { force: true });
    throw new ImageError(`no ${INVENTORY} in the stream: not a checkpoint`, { image: options.name ?? 'stream', offset: 0 });
  }
  return members;
}

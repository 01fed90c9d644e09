// Synchronous, buffered reading of an image one entry at a time, from a path
// or a file descriptor.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { basename } from 'node:path';
import { CriuError, errnoOf } from '@criu-ts/base';
import { FdByteSource } from './byte-source.js';
import { entrySteps, headerSteps, type Got, type ImageEntry, type Need, type ParseState } from './entry-steps.js';
import { imageKind } from './kind-lookup.js';
import type { ImageKindSpec, KindName } from './kinds.js';

export interface ReadOptions {
  /** don't load payloads: entries get payloadOffset/payloadLength and the reader seeks past them */
  skipPayloads?: boolean;
  /** read buffer size, 256 KiB by default */
  bufferSize?: number;
  /** name used in errors (default: the path's base name, or `fd N`) */
  name?: string;
}

const DEFAULT_BUFFER = 256 * 1024;

function drive<T>(source: FdByteSource, steps: Generator<Need, T, Got>): T {
  let step = steps.next();
  while (step.done !== true) step = steps.next(source.serve(step.value));
  return step.value;
}

export class ImageReader implements Iterable<ImageEntry> {
  private readonly source: FdByteSource;
  private readonly state: ParseState;
  private closed = false;

  /** Reads the magic(s); use openImage / imageReaderOnFd. */
  constructor(
    readonly fd: number,
    expected: ImageKindSpec | undefined,
    private readonly ownsFd: boolean,
    options: ReadOptions,
  ) {
    this.source = new FdByteSource(fd, options.bufferSize ?? DEFAULT_BUFFER);
    const partial = { image: options.name ?? `fd ${fd}`, offset: 0, index: 0, skipPayloads: options.skipPayloads === true, ended: false };
    const kind = drive(this.source, headerSteps(partial, expected));
    this.state = { ...partial, kind };
  }

  get kind(): ImageKindSpec {
    return this.state.kind;
  }

  get image(): string {
    return this.state.image;
  }

  /** Byte offset of the next entry. */
  get offset(): number {
    return this.state.offset;
  }

  /** The next entry, or null at the end of the image. */
  next(): ImageEntry | null {
    return drive(this.source, entrySteps(this.state));
  }

  *[Symbol.iterator](): Iterator<ImageEntry> {
    for (let entry = this.next(); entry !== null; entry = this.next()) yield entry;
  }

  /** Close the fd if the reader opened it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFd) closeSync(this.fd);
  }
}

/** Open an image file; with a kind, its magic must match, without, the kind is found by magic. */
export function openImage(path: string, kind?: KindName | ImageKindSpec, options: ReadOptions = {}): ImageReader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    // a missing or unreadable image is the images' fault, named as such (not an internal error)
    const code = errnoOf(error);
    if (code === undefined) throw error;
    throw new CriuError(`image ${path} cannot be opened: ${code === 'ENOENT' ? 'it is missing' : (error as Error).message}`, { code, cause: error });
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new CriuError(`image ${path} cannot be opened: it is a directory (EISDIR)`, { code: 'EISDIR' });
    return new ImageReader(fd, kind === undefined ? undefined : imageKind(kind), true, { name: basename(path), ...options });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Read an image from an fd the caller keeps owning (regular files are read from offset 0). */
export function imageReaderOnFd(fd: number, kind?: KindName | ImageKindSpec, options: ReadOptions = {}): ImageReader {
  return new ImageReader(fd, kind === undefined ? undefined : imageKind(kind), false, options);
}

// Synchronous, buffered writing of an image one entry at a time. Files are
// created 0600; close() flushes and fsyncs — unless the caller has taken
// durability over for a whole image set (deferImageSync: a dump syncs its
// images directory's filesystem once with syncfs(2) before the tree is
// killed, instead of one journal commit per file). Payloads the caller moves
// itself (splice, copy_file_range) get a slot: the fd and the offset to write at.
import { closeSync, fstatSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { CriuError } from '@criu-ts/base';
import { encodeEntry, encodeHeader, type EntryInput } from './entry-encode.js';
import { imageKind } from './kind-lookup.js';
import type { ImageKindSpec, KindName } from './kinds.js';

export interface WriteOptions {
  /** write buffer size, 256 KiB by default */
  bufferSize?: number;
  /** name used in errors */
  name?: string;
}

/** Where the caller writes a payload itself: `length` bytes at `offset` of `fd`. */
export interface PayloadSlot {
  fd: number;
  offset: number;
  length: number;
}

const DEFAULT_BUFFER = 256 * 1024;

let deferredSync = false;

/**
 * Whether close() leaves durability to the caller (true) or fsyncs each
 * image (false, the default). A caller that defers must make the files
 * durable itself (syncfs(2) of their filesystem) before relying on them.
 */
export function deferImageSync(defer: boolean): void {
  deferredSync = defer;
}

export class ImageWriter {
  readonly kind: ImageKindSpec;
  private buffer: Buffer;
  private used = 0;
  /** file offset of the buffer's first byte (null on pipes: sequential writes) */
  private position: number | null;
  private written = 0;
  private index = 0;
  private ended = false;
  private closed = false;

  constructor(
    readonly fd: number,
    kind: ImageKindSpec,
    private readonly ownsFd: boolean,
    readonly name: string,
    bufferSize = DEFAULT_BUFFER,
  ) {
    this.kind = kind;
    this.buffer = Buffer.allocUnsafe(bufferSize);
    this.position = fstatSync(fd).isFile() ? 0 : null;
    this.append(encodeHeader(kind));
  }

  /** Bytes written so far (buffered included): the offset of the next entry. */
  get offset(): number {
    return this.written + this.used;
  }

  private writeOut(data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const n = writeSync(this.fd, data, done, data.length - done, this.position === null ? null : this.position + done);
      done += n;
    }
    if (this.position !== null) this.position += data.length;
    this.written += data.length;
  }

  /** Append raw bytes (for raw images such as pages-N.img, or after a slot). */
  append(data: Uint8Array): void {
    if (this.used + data.length > this.buffer.length) this.flush();
    if (data.length >= this.buffer.length) {
      this.writeOut(data);
      return;
    }
    this.buffer.set(data, this.used);
    this.used += data.length;
  }

  /** Write buffered bytes to the fd. */
  flush(): void {
    if (this.used === 0) return;
    const pending = this.buffer.subarray(0, this.used);
    this.used = 0;
    this.writeOut(pending);
  }

  /**
   * Write one entry. A payload the kind requires but the input lacks becomes a
   * slot: the caller writes exactly slot.length bytes at slot.offset.
   */
  write(input: EntryInput): PayloadSlot | undefined {
    if (this.ended) throw new CriuError(`${this.name}: no entry may follow the rest-of-file payload`, { code: 'EINVAL' });
    const encoded = encodeEntry(this.kind, this.index, input);
    for (const part of encoded.parts) this.append(part);
    this.index += 1;
    this.ended = encoded.last;
    if (encoded.deferred === 0 && encoded.pad === 0) return undefined;
    return this.reserve(encoded.deferred, encoded.pad);
  }

  /** Leave `length` bytes for the caller (then `pad` zero bytes); positioned fds only. */
  reserve(length: number, pad = 0): PayloadSlot {
    this.flush();
    if (this.position === null) throw new CriuError(`${this.name}: payload slots need a regular file`, { code: 'EINVAL' });
    const slot = { fd: this.fd, offset: this.position, length };
    this.position += length;
    this.written += length;
    if (pad > 0) this.append(Buffer.alloc(pad));
    return slot;
  }

  /** Flush, fsync (regular files, unless deferred: deferImageSync) and close the fd if the writer opened it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flush();
      if (this.position !== null && !deferredSync) fsyncSync(this.fd);
    } finally {
      if (this.ownsFd) closeSync(this.fd);
    }
  }
}

/** Create (or truncate) an image file, mode 0600, and write its magic(s). */
export function createImage(path: string, kind: KindName | ImageKindSpec, options: WriteOptions = {}): ImageWriter {
  const fd = openSync(path, 'w', 0o600);
  try {
    return new ImageWriter(fd, imageKind(kind), true, options.name ?? basename(path), options.bufferSize);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Write an image to an fd the caller keeps owning (stdout, a socket, an open file at offset 0). */
export function imageWriterOnFd(fd: number, kind: KindName | ImageKindSpec, options: WriteOptions = {}): ImageWriter {
  return new ImageWriter(fd, imageKind(kind), false, options.name ?? `fd ${fd}`, options.bufferSize);
}

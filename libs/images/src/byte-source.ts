// A buffered, synchronous byte source over a file descriptor: positioned
// reads (pread) on regular files, sequential reads on pipes and ttys. It never
// allocates more than the bytes that are really there.
import { fstatSync, readSync } from 'node:fs';
import type { Need, Got } from './entry-steps.js';

const CHUNK = 1024 * 1024;

export class FdByteSource {
  private buffer: Buffer;
  private start = 0;
  private end = 0;
  /** file position of the next read, or null for sequential fds */
  private position: number | null;
  /** file size for regular files */
  private readonly size: number | undefined;

  constructor(
    readonly fd: number,
    bufferSize: number,
    position = 0,
  ) {
    this.buffer = Buffer.allocUnsafe(bufferSize);
    const stat = fstatSync(fd);
    this.position = stat.isFile() ? position : null;
    this.size = stat.isFile() ? stat.size : undefined;
  }

  /** Bytes of the file left to read (buffered included), if known. */
  available(): number | undefined {
    if (this.size === undefined || this.position === null) return undefined;
    return this.end - this.start + Math.max(0, this.size - this.position);
  }

  private readInto(target: Buffer, offset: number, length: number): number {
    const got = readSync(this.fd, target, offset, length, this.position);
    if (this.position !== null) this.position += got;
    return got;
  }

  /** Make at least n bytes buffered if the file has them (n ≤ buffer size). */
  private fill(n: number): void {
    if (this.end - this.start >= n) return;
    this.buffer.copy(this.buffer, 0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
    while (this.end < n) {
      const got = this.readInto(this.buffer, this.end, this.buffer.length - this.end);
      if (got === 0) break;
      this.end += got;
    }
  }

  private takeBuffered(n: number): Buffer {
    const count = Math.min(n, this.end - this.start);
    const out = Buffer.from(this.buffer.subarray(this.start, this.start + count));
    this.start += count;
    return out;
  }

  /** Up to n bytes (fewer only at end of file), as a fresh Buffer. */
  read(n: number): Buffer {
    if (n <= this.buffer.length) {
      this.fill(n);
      return this.takeBuffered(n);
    }
    const chunks = [this.takeBuffered(n)];
    let left = n - chunks[0]!.length;
    while (left > 0) {
      const want = Math.min(left, this.available() ?? CHUNK, CHUNK);
      if (want === 0) break;
      const chunk = Buffer.allocUnsafe(want);
      const got = this.readInto(chunk, 0, want);
      if (got === 0) break;
      chunks.push(chunk.subarray(0, got));
      left -= got;
    }
    return Buffer.concat(chunks);
  }

  /** Skip up to n bytes; returns how many were there. */
  skip(n: number): number {
    const inBuffer = Math.min(n, this.end - this.start);
    this.start += inBuffer;
    if (inBuffer === n) return n;
    if (this.size !== undefined && this.position !== null) {
      const count = Math.min(n - inBuffer, Math.max(0, this.size - this.position));
      this.position += count;
      return inBuffer + count;
    }
    let skipped = inBuffer;
    while (skipped < n) {
      this.fill(1);
      if (this.end === this.start) break;
      const count = Math.min(n - skipped, this.end - this.start);
      this.start += count;
      skipped += count;
    }
    return skipped;
  }

  /** Answer a parser step's need. */
  serve(need: Need): Got {
    if ('read' in need) return this.read(need.read);
    if ('skip' in need) return this.skip(need.skip);
    return need.rest === 'read' ? this.read(need.max + 1) : this.skip(Number.MAX_SAFE_INTEGER);
  }
}

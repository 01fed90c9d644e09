// Reading a stream straight from a file descriptor (stdin, a pipe, a file),
// synchronously: headers in exact reads, member data moved to its file by
// the kernel (splice from a pipe, copy_file_range from a file) without
// passing through JavaScript. A non-blocking fd that has nothing yet is
// waited on in short sleeps: a stream may pause (a slow ssh), it is not cut.
import { fstatSync, readSync, writeSync } from 'node:fs';
import { errnoOf } from '@criu-ts/base';
import { splice } from '@criu-ts/kernel';

const BUFFER = 1024 * 1024;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function again(error: unknown): boolean {
  return errnoOf(error) === 'EAGAIN';
}

export class FdByteSource {
  private readonly buffer = Buffer.allocUnsafe(BUFFER);
  /** buffered bytes: buffer[start, end) */
  private start = 0;
  private end = 0;
  private ended = false;
  private consumed = 0;
  private readonly isPipe: boolean;

  constructor(private readonly fd: number) {
    this.isPipe = fstatSync(fd).isFIFO();
  }

  get offset(): number {
    return this.consumed;
  }

  /** Refill the (empty) buffer; false at the end of the stream. */
  private fill(): boolean {
    if (this.ended) return false;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buffer, 0, BUFFER, null);
      } catch (error) {
        if (!again(error)) throw error;
        Atomics.wait(sleeper, 0, 0, 2);
        continue;
      }
      if (n === 0) {
        this.ended = true;
        return false;
      }
      this.start = 0;
      this.end = n;
      return true;
    }
  }

  /** Exactly n bytes (a copy), or fewer only at the end of the stream. */
  async take(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let want = n;
    while (want > 0 && (this.end > this.start || this.fill())) {
      const count = Math.min(want, this.end - this.start);
      parts.push(Buffer.from(this.buffer.subarray(this.start, this.start + count)));
      this.start += count;
      want -= count;
    }
    const out = Buffer.concat(parts);
    this.consumed += out.length;
    return out;
  }

  /** Up to max bytes (a copy) of what is at hand; empty at the end. */
  async chunk(max: number): Promise<Buffer> {
    if (this.end === this.start && !this.fill()) return Buffer.alloc(0);
    const count = Math.min(max, this.end - this.start);
    const out = Buffer.from(this.buffer.subarray(this.start, this.start + count));
    this.start += count;
    this.consumed += count;
    return out;
  }

  /**
   * Moves up to len bytes to outFd (at its position): buffered bytes first,
   * then straight from our fd with splice when it is a pipe. Returns the
   * bytes moved: fewer than len only at the end of the stream.
   */
  moveTo(outFd: number, len: number): number {
    let moved = 0;
    while (moved < len) {
      if (this.end > this.start) {
        const count = Math.min(len - moved, this.end - this.start);
        for (let w = 0; w < count; ) w += writeSync(outFd, this.buffer, this.start + w, count - w);
        this.start += count;
        moved += count;
        continue;
      }
      if (this.ended) break;
      if (!this.isPipe) {
        this.fill();
        continue;
      }
      const n = this.spliceSome(outFd, len - moved);
      if (n === 0) this.ended = true;
      moved += n;
    }
    this.consumed += moved;
    return moved;
  }

  private spliceSome(outFd: number, len: number): number {
    for (;;) {
      try {
        return splice(this.fd, null, outFd, null, Math.min(len, 1 << 30));
      } catch (error) {
        if (!again(error)) throw error;
        Atomics.wait(sleeper, 0, 0, 2);
      }
    }
  }
}

// Pulls bytes from a Readable in the amounts a parser asks for, holding at
// most the chunks it needs: exact reads for headers, and chunk by chunk
// pass-through for member data, so memory stays bounded whatever the
// stream's size.
import type { Readable } from 'node:stream';

export class ByteQueue {
  private chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private consumed = 0;
  private readonly source: AsyncIterator<unknown>;

  constructor(stream: Readable) {
    this.source = stream[Symbol.asyncIterator]();
  }

  /** Bytes handed out (or skipped) so far: the stream offset of the next byte. */
  get offset(): number {
    return this.consumed;
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done === true) {
      this.ended = true;
      return false;
    }
    const value = next.value;
    const chunk = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value as Uint8Array);
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.queued += chunk.length;
    }
    return true;
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async take(n: number): Promise<Buffer> {
    while (this.queued < n && (await this.more()));
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const count = Math.min(n, all.length);
    const rest = all.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.queued = rest.length;
    this.consumed += count;
    return all.subarray(0, count);
  }

  /** Up to max bytes, whatever is at hand (waiting for at least one); empty at the end. */
  async chunk(max: number): Promise<Buffer> {
    while (this.queued === 0 && (await this.more()));
    const head = this.chunks[0];
    if (head === undefined) return Buffer.alloc(0);
    const count = Math.min(max, head.length);
    if (count === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(count);
    this.queued -= count;
    this.consumed += count;
    return head.subarray(0, count);
  }

  /** True if the stream has no more bytes. */
  async atEnd(): Promise<boolean> {
    while (this.queued === 0 && (await this.more()));
    return this.queued === 0;
  }
}

// Asynchronous reading of an image from a Node Readable (a socket, a pipe, an
// image stream), one entry at a time, with the same checks as the file reader.
import type { Readable } from 'node:stream';
import { entrySteps, headerSteps, type Got, type ImageEntry, type Need, type ParseState } from './entry-steps.js';
import { imageKind } from './kind-lookup.js';
import type { ImageKindSpec, KindName } from './kinds.js';

export interface StreamReadOptions {
  skipPayloads?: boolean;
  /** name used in errors, 'stream' by default */
  name?: string;
}

/** Pulls exact byte counts from a Readable's chunks. */
class ChunkQueue {
  private chunks: Buffer[] = [];
  private queued = 0;
  private done = false;
  private readonly source: AsyncIterator<unknown>;

  constructor(stream: Readable) {
    this.source = stream[Symbol.asyncIterator]();
  }

  private async more(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done === true) {
      this.done = true;
      return false;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value as Uint8Array);
    this.chunks.push(chunk);
    this.queued += chunk.length;
    return true;
  }

  /** Up to n bytes; fewer only at the end of the stream. */
  async take(n: number): Promise<Buffer> {
    while (this.queued < n && (await this.more()));
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const count = Math.min(n, all.length);
    const rest = all.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.queued = rest.length;
    return Buffer.from(all.subarray(0, count));
  }

  /** Drop up to n bytes; returns how many were there. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      if (this.queued === 0 && !(await this.more())) break;
      const head = this.chunks[0]!;
      const count = Math.min(n - skipped, head.length);
      if (count === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(count);
      this.queued -= count;
      skipped += count;
    }
    return skipped;
  }

  async serve(need: Need): Promise<Got> {
    if ('read' in need) return this.take(need.read);
    if ('skip' in need) return this.skip(need.skip);
    return need.rest === 'read' ? this.take(need.max + 1) : this.skip(Number.MAX_SAFE_INTEGER);
  }
}

async function drive<T>(queue: ChunkQueue, steps: Generator<Need, T, Got>): Promise<T> {
  let step = steps.next();
  while (step.done !== true) step = steps.next(await queue.serve(step.value));
  return step.value;
}

/** An image being read from a stream. */
export interface ImageStreamReader extends AsyncIterable<ImageEntry> {
  readonly kind: ImageKindSpec;
  readonly image: string;
  /** the next entry, or null at the end of the image */
  next(): Promise<ImageEntry | null>;
}

/**
 * Start reading an image from a stream: reads the magic(s). With a kind, the
 * magic must match; without, the kind is found by magic.
 */
export async function openImageStream(
  stream: Readable,
  kind?: KindName | ImageKindSpec,
  options: StreamReadOptions = {},
): Promise<ImageStreamReader> {
  const queue = new ChunkQueue(stream);
  const partial = { image: options.name ?? 'stream', offset: 0, index: 0, skipPayloads: options.skipPayloads === true, ended: false };
  const found = await drive(queue, headerSteps(partial, kind === undefined ? undefined : imageKind(kind)));
  const state: ParseState = { ...partial, kind: found };
  const next = (): Promise<ImageEntry | null> => drive(queue, entrySteps(state));
  return {
    kind: found,
    image: state.image,
    next,
    async *[Symbol.asyncIterator]() {
      for (let entry = await next(); entry !== null; entry = await next()) yield entry;
    },
  };
}

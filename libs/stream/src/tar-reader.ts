// Reads a tar stream member by member from a Readable (a socket, a file)
// or straight from a file descriptor (stdin), handing each member's data
// to a callback chunk by chunk, or moving it into a file by the kernel. Accepts
// what our writer and GNU tar write (ustar, pax 'x'/'g', GNU 'L' long
// names, './' prefixes and the '.' directory of `tar -C DIR -c .`); refuses
// links, devices, other directories and names that are not flat image
// names. A stream that ends before its two zero blocks is truncated.
import { Readable } from 'node:stream';
import { ImageError } from '@criu-ts/base';
import { ByteQueue } from './byte-queue.js';
import { FdByteSource } from './fd-source.js';
import { writeSync } from 'node:fs';
import { memberNameProblem, stripDotSlash } from './member-names.js';
import { BLOCK, TYPE, decodeHeader, isZeroBlock, parsePaxRecords, type DecodedHeader } from './tar-header.js';

export interface TarMember {
  name: string;
  size: number;
  mode: number;
  mtime: number;
  /** stream offset of the member's data */
  offset: number;
}

/** A member's data, to be read at most once; what the callback leaves unread is skipped. */
export interface MemberBody {
  chunks(): AsyncIterable<Buffer>;
  /** the data as a Readable (e.g. for @criu-ts/images openImageStream) */
  readable(): Readable;
  /** all of the data into fd (at its position): by the kernel when the stream is a pipe fd */
  moveTo(fd: number): Promise<void>;
}

export interface TarReadOptions {
  /** the stream's name in errors ('stream' by default) */
  name?: string;
  /** largest pax/GNU extended header accepted, 64 KiB by default */
  maxExtendedHeader?: number;
}

export type MemberHandler = (member: TarMember, body: MemberBody) => void | Promise<void>;

const CHUNK = 256 * 1024;

/** Where the bytes come from: a Readable (ByteQueue) or a file descriptor (FdByteSource). */
interface ByteSource {
  readonly offset: number;
  take(n: number): Promise<Buffer>;
  chunk(max: number): Promise<Buffer>;
}

interface ReadState {
  queue: ByteSource;
  streamName: string;
  maxExtended: number;
  /** the last member read, for errors in the header after it */
  previous: string | undefined;
}

function headerError(state: ReadState, message: string, offset: number): ImageError {
  const where = state.previous === undefined ? `${state.streamName} (first header)` : `${state.streamName} (header after ${state.previous})`;
  return new ImageError(message, { image: where, offset });
}

async function readBlock(state: ReadState, what: string): Promise<Buffer> {
  const at = state.queue.offset;
  const block = await state.queue.take(BLOCK);
  if (block.length !== BLOCK) throw headerError(state, `truncated stream: ${what} has ${block.length} of ${BLOCK} bytes`, at);
  return block;
}

/** Skip or hand out `size` bytes of member data, then its padding. */
async function* memberData(state: ReadState, name: string, size: number): AsyncGenerator<Buffer> {
  const start = state.queue.offset;
  let left = size;
  while (left > 0) {
    const chunk = await state.queue.chunk(Math.min(left, CHUNK));
    if (chunk.length === 0) {
      throw new ImageError(`truncated stream: member data ends after ${size - left} of ${size} bytes`, { image: name, offset: state.queue.offset });
    }
    left -= chunk.length;
    yield chunk;
  }
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad > 0 && (await state.queue.take(pad)).length !== pad) {
    throw new ImageError(`truncated stream: padding after ${size} bytes of data is missing`, { image: name, offset: start + size });
  }
}

/** The member's data moved into fd: kernel-side from an fd source, else chunk by chunk. */
async function moveMember(state: ReadState, name: string, size: number, fd: number): Promise<void> {
  if (!(state.queue instanceof FdByteSource)) {
    for await (const chunk of memberData(state, name, size)) for (let w = 0; w < chunk.length; ) w += writeSync(fd, chunk, w, chunk.length - w);
    return;
  }
  const start = state.queue.offset;
  const moved = state.queue.moveTo(fd, size);
  if (moved < size) throw new ImageError(`truncated stream: member data ends after ${moved} of ${size} bytes`, { image: name, offset: start + moved });
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad > 0 && (await state.queue.take(pad)).length !== pad) {
    throw new ImageError(`truncated stream: padding after ${size} bytes of data is missing`, { image: name, offset: start + size });
  }
}

async function drain(data: AsyncGenerator<Buffer>): Promise<void> {
  for (let step = await data.next(); step.done !== true; step = await data.next());
}

async function extendedData(state: ReadState, header: DecodedHeader, at: number): Promise<Buffer> {
  if (header.size > state.maxExtended) throw headerError(state, `extended header of ${header.size} bytes is larger than ${state.maxExtended}`, at);
  const parts: Buffer[] = [];
  for await (const chunk of memberData(state, `${state.streamName} extended header`, header.size)) parts.push(chunk);
  return Buffer.concat(parts);
}

/** The next real member's header, applying pax/GNU extended headers; null at the end of the stream. */
async function nextHeader(state: ReadState): Promise<{ header: DecodedHeader; at: number } | null> {
  let overrides = new Map<string, string>();
  for (;;) {
    const at = state.queue.offset;
    const block = await readBlock(state, 'a header');
    if (isZeroBlock(block)) {
      const second = await readBlock(state, 'the end-of-stream marker');
      if (!isZeroBlock(second)) throw headerError(state, 'a lone zero block where the end-of-stream marker should be', at + BLOCK);
      return null;
    }
    let header: DecodedHeader;
    try {
      header = decodeHeader(block);
    } catch (error) {
      throw headerError(state, (error as Error).message, at);
    }
    if (header.typeflag === TYPE.PAX_GLOBAL) {
      await extendedData(state, header, at);
    } else if (header.typeflag === TYPE.PAX) {
      const data = await extendedData(state, header, at);
      try {
        overrides = new Map([...overrides, ...parsePaxRecords(data)]);
      } catch (error) {
        throw headerError(state, (error as Error).message, at);
      }
    } else if (header.typeflag === TYPE.GNU_LONG_NAME) {
      overrides.set('path', (await extendedData(state, header, at)).toString('utf8').replace(/\0+$/, ''));
    } else {
      return { header: applyOverrides(state, header, overrides, at), at };
    }
  }
}

function applyOverrides(state: ReadState, header: DecodedHeader, overrides: Map<string, string>, at: number): DecodedHeader {
  const path = overrides.get('path');
  const size = overrides.get('size');
  if (size !== undefined && !/^\d+$/.test(size)) throw headerError(state, `pax size '${size}' is not a number`, at);
  const bigSize = size === undefined ? header.size : Number(size);
  if (!Number.isSafeInteger(bigSize)) throw headerError(state, `pax size ${size} is too large`, at);
  return { ...header, name: path ?? header.name, size: bigSize };
}

function checkMember(state: ReadState, header: DecodedHeader, at: number): string | undefined {
  const name = stripDotSlash(header.name);
  if (header.typeflag === TYPE.DIRECTORY && name.replace(/\/$/, '') === '') return undefined;
  const kind = header.typeflag === TYPE.FILE || header.typeflag === TYPE.OLD_FILE ? undefined : `type '${header.typeflag}' (only regular files may be in an image stream)`;
  const problem = kind ?? memberNameProblem(name);
  if (problem !== undefined) throw new ImageError(`bad member: ${problem}`, { image: name === '' ? state.streamName : name, offset: at });
  return name;
}

/**
 * Read every member of the stream, calling `onMember` for each regular file
 * in order; resolves with the members once the end-of-stream marker is read.
 * Throws ImageError (member, offset) on a corrupt or truncated stream.
 */
export async function readTar(source: Readable | number, onMember: MemberHandler, options: TarReadOptions = {}): Promise<TarMember[]> {
  const queue = typeof source === 'number' ? new FdByteSource(source) : new ByteQueue(source);
  const state: ReadState = { queue, streamName: options.name ?? 'stream', maxExtended: options.maxExtendedHeader ?? 64 * 1024, previous: undefined };
  const members: TarMember[] = [];
  for (let next = await nextHeader(state); next !== null; next = await nextHeader(state)) {
    const { header, at } = next;
    const name = checkMember(state, header, at);
    const data = memberData(state, name ?? state.streamName, header.size);
    let moved = false;
    if (name !== undefined) {
      const member: TarMember = { name, size: header.size, mode: header.mode, mtime: header.mtime, offset: at + BLOCK };
      const moveTo = async (fd: number): Promise<void> => {
        moved = true;
        await moveMember(state, name, header.size, fd);
      };
      await onMember(member, { chunks: () => data, readable: () => Readable.from(data, { objectMode: false }), moveTo });
      members.push(member);
      state.previous = name;
    }
    if (!moved) await drain(data);
  }
  return members;
}

// The image format as step generators shared by the sync and async readers:
// each step yields what it needs from the byte source ({read: n}, {skip: n},
// {rest}) and gets back the bytes (or the count skipped); it checks every
// length against what arrived and reports file and offset on corrupt input.
import { CriuError, ImageError } from '@criu-ts/base';
import { IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC, type ImageKindSpec, type PayloadSpec } from './kinds.js';
import { kindByMagic } from './kind-lookup.js';
import { recordCount, recordSize, restFollows, sizedPayload } from './payload.js';
import { decodeMessage, type ImageMessage } from './wire.js';

/** Largest protobuf message we accept (CRIU's are a few KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Largest raw payload read into memory; skip payloads to handle bigger ones. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024;

export type Need = { read: number } | { skip: number } | { rest: 'read' | 'skip'; max: number };
export type Got = Buffer | number;
type Steps<T> = Generator<Need, T, Got>;

export interface ImageRecord {
  message: ImageMessage;
  payload: Buffer;
}

export interface ImageEntry<M = ImageMessage> {
  /** the message's protobuf type name */
  type: string;
  message: M;
  /** raw bytes after the message (padding removed), unless payloads are skipped */
  payload?: Buffer;
  /** length-prefixed records after the message (ipcns-msg) */
  records?: ImageRecord[];
  /** where the payload starts in the image and its length (set also when skipped) */
  payloadOffset?: number;
  payloadLength?: number;
}

/** Where a reader is in an image. */
export interface ParseState {
  image: string;
  kind: ImageKindSpec;
  offset: number;
  index: number;
  skipPayloads: boolean;
  /** set after a rest-of-file payload: nothing may follow */
  ended: boolean;
}

function* take(state: ParseState, length: number): Steps<Buffer> {
  const got = yield { read: length };
  if (typeof got === 'number') throw new TypeError('byte source answered a read with a count');
  state.offset += got.length;
  return got;
}

function* skip(state: ParseState, length: number): Steps<number> {
  const got = yield { skip: length };
  const count = typeof got === 'number' ? got : got.length;
  state.offset += count;
  return count;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function magicError(state: ParseState, found: number, offset: number, expected?: ImageKindSpec): ImageError {
  const known = kindByMagic(found);
  const what = known === undefined ? `unknown magic ${hex(found)}` : `a ${known.magicName} image (magic ${hex(found)})`;
  const want = expected === undefined ? '' : `, expected ${expected.magicName}`;
  return new ImageError(`${what}${want}`, { image: state.image, offset });
}

/** Read and check the magic(s); returns the image's kind (found by magic when none is expected). */
export function* headerSteps(state: Omit<ParseState, 'kind'>, expected?: ImageKindSpec): Steps<ImageKindSpec> {
  const st = state as ParseState;
  if (expected?.header === 'none') return expected;
  const first = yield* take(st, 4);
  if (first.length < 4) throw new ImageError(`file too short for a magic (${first.length} bytes)`, { image: st.image, offset: 0 });
  let magic = first.readUInt32LE(0);
  let header: ImageKindSpec['header'] = 'single';
  if (magic === IMG_COMMON_MAGIC || magic === IMG_SERVICE_MAGIC) {
    header = magic === IMG_COMMON_MAGIC ? 'common' : 'service';
    const second = yield* take(st, 4);
    if (second.length < 4) throw new ImageError('truncated image magic', { image: st.image, offset: 4 });
    magic = second.readUInt32LE(0);
  }
  const magicOffset = header === 'single' ? 0 : 4;
  const kind = expected ?? kindByMagic(magic);
  if (kind === undefined || kind.magic !== magic) throw magicError(st, magic, magicOffset, expected);
  if (kind.header !== header) {
    throw new ImageError(`${kind.magicName} image with a ${header} header, expected ${kind.header}`, { image: st.image, offset: 0 });
  }
  return kind;
}

function* messageSteps(state: ParseState, typeName: string, allowEof: boolean): Steps<ImageMessage | null> {
  const start = state.offset;
  const lengthBytes = yield* take(state, 4);
  if (lengthBytes.length === 0 && allowEof) return null;
  const where = { image: state.image, offset: start };
  if (lengthBytes.length < 4) throw new ImageError(`truncated entry length (${lengthBytes.length} of 4 bytes)`, where);
  const length = lengthBytes.readUInt32LE(0);
  if (length > MAX_MESSAGE_BYTES) throw new ImageError(`entry length ${length} is over the ${MAX_MESSAGE_BYTES}-byte limit`, where);
  const body = yield* take(state, length);
  if (body.length < length) throw new ImageError(`truncated ${typeName} (${body.length} of ${length} bytes)`, where);
  try {
    return decodeMessage(typeName, body);
  } catch (error) {
    if (error instanceof ImageError || !(error instanceof Error)) throw error;
    throw new ImageError(`cannot decode ${typeName}: ${error.message}`, { image: state.image, offset: start + 4, cause: error });
  }
}

function* bytesSteps(state: ParseState, data: number, pad: number): Steps<Buffer | undefined> {
  const where = { image: state.image, offset: state.offset };
  if (data > MAX_PAYLOAD_BYTES) throw new ImageError(`payload of ${data} bytes is over the ${MAX_PAYLOAD_BYTES}-byte limit`, where);
  let payload: Buffer | undefined;
  if (state.skipPayloads) {
    const count = yield* skip(state, data);
    if (count < data) throw new ImageError(`truncated payload (${count} of ${data} bytes)`, where);
  } else {
    payload = yield* take(state, data);
    if (payload.length < data) throw new ImageError(`truncated payload (${payload.length} of ${data} bytes)`, where);
  }
  const padded = yield* skip(state, pad);
  if (padded < pad) throw new ImageError(`truncated payload padding (${padded} of ${pad} bytes)`, where);
  return payload;
}

function* restSteps(state: ParseState, entry: ImageEntry): Steps<void> {
  entry.payloadOffset = state.offset;
  const got = yield { rest: state.skipPayloads ? 'skip' : 'read', max: MAX_PAYLOAD_BYTES };
  const length = typeof got === 'number' ? got : got.length;
  if (length > MAX_PAYLOAD_BYTES) {
    throw new ImageError(`payload is over the ${MAX_PAYLOAD_BYTES}-byte limit`, { image: state.image, offset: state.offset });
  }
  if (typeof got !== 'number') entry.payload = got;
  entry.payloadLength = length;
  state.offset += length;
  state.ended = true;
}

function* recordsSteps(state: ParseState, spec: PayloadSpec, entry: ImageEntry): Steps<void> {
  if (!('records' in spec)) return;
  entry.records = [];
  for (let i = 0, n = sizeFrom(state, () => recordCount(spec, entry.message)); i < n; i++) {
    const message = yield* messageSteps(state, spec.records.type, false);
    if (message === null) throw new ImageError('missing record', { image: state.image, offset: state.offset });
    const size = sizeFrom(state, () => recordSize(spec, message));
    const payload = yield* bytesSteps(state, size.data, size.pad);
    entry.records.push({ message, payload: payload ?? Buffer.alloc(0) });
  }
}

/** A payload size from the entry's fields; a size no payload can have is a corrupt entry. */
function sizeFrom<T>(state: ParseState, compute: () => T): T {
  try {
    return compute();
  } catch (error) {
    if (!(error instanceof CriuError)) throw error;
    throw new ImageError(error.message, { image: state.image, offset: state.offset, cause: error });
  }
}

function* payloadSteps(state: ParseState, spec: PayloadSpec, entry: ImageEntry): Steps<void> {
  const sized = sizeFrom(state, () => sizedPayload(spec, entry.message));
  if (sized !== undefined) {
    entry.payloadOffset = state.offset;
    entry.payloadLength = sized.data;
    const payload = yield* bytesSteps(state, sized.data, sized.pad);
    if (payload !== undefined) entry.payload = payload;
  } else if (restFollows(spec, entry.message)) {
    yield* restSteps(state, entry);
  } else {
    yield* recordsSteps(state, spec, entry);
  }
}

/** Read the next entry (message and its payload), or null at the end of the image. */
export function* entrySteps(state: ParseState): Steps<ImageEntry | null> {
  const kind = state.kind;
  if (kind.message === undefined) {
    throw new ImageError(`${kind.name} is a raw image, it has no entries`, { image: state.image, offset: state.offset });
  }
  if (state.ended) {
    const extra = yield* take(state, 1);
    if (extra.length === 0) return null;
    throw new ImageError('data after the last entry', { image: state.image, offset: state.offset - 1 });
  }
  const head = state.index === 0 ? kind.head : undefined;
  const type = head ?? kind.message;
  const message = yield* messageSteps(state, type, true);
  if (message === null) return null;
  const entry: ImageEntry = { type, message };
  const spec = head !== undefined ? kind.headPayload : kind.payload;
  if (spec !== undefined) yield* payloadSteps(state, spec, entry);
  state.index += 1;
  return entry;
}

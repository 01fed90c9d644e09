// crit's verbs on a checkpoint stream (a tar of images, as `criu-dump
// --stream` writes it): a file is recognised as a stream by its first
// header block; stdin is read as a stream when --member is given. decode /
// show / info then work on the member named by --member; info without
// --member lists the members. The whole stream is read (so a truncated one
// is reported), one member's entries decoded on the way, memory bounded.
import { closeSync, createReadStream, openSync, readSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { CriuError } from '@criu-ts/base';
import { entryToCrit, openImageStream, pythonJson, type ImageStreamReader, type JsonValue } from '@criu-ts/images';
import { readTar, readableFromFd, type TarMember } from '@criu-ts/stream';

/** ustar's magic sits at byte 257 of the first header ('ustar\0' or GNU's 'ustar '). */
const MAGIC_OFFSET = 257;

/** Whether a file starts with a tar header (images start with their magic numbers instead). */
export function isStreamFile(path: string): boolean {
  const head = Buffer.alloc(MAGIC_OFFSET + 5);
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.toString('latin1', MAGIC_OFFSET) === 'ustar';
  } finally {
    closeSync(fd);
  }
}

function sourceOf(input: string | undefined): { readable: Readable; name: string } {
  if (input === undefined) return { readable: readableFromFd(0), name: 'stdin' };
  return { readable: createReadStream(input, { highWaterMark: 256 * 1024 }), name: basename(input) };
}

export interface StreamDecodeOptions {
  in?: string;
  member: string;
  pretty?: boolean;
  nopl?: boolean;
}

/** Read the whole stream, handing the member named `wanted` to `use` on the way. */
async function withMember<T>(input: string | undefined, wanted: string, skipPayloads: boolean, use: (reader: ImageStreamReader) => Promise<T>): Promise<T> {
  const { readable, name } = sourceOf(input);
  let result: { value: T } | undefined;
  const members = await readTar(readable, async (member, body) => {
    if (member.name !== wanted) return;
    result = { value: await use(await openImageStream(body.readable(), undefined, { name: member.name, skipPayloads })) };
  }, { name });
  if (result === undefined) throw noSuchMember(name, wanted, members);
  return result.value;
}

/** decode / show of a stream's member: crit's JSON image. */
export function decodeStreamMember(options: StreamDecodeOptions): Promise<JsonValue> {
  const noPayload = options.nopl === true;
  return withMember(options.in, options.member, noPayload, async (reader) => {
    const entries: JsonValue[] = [];
    for await (const entry of reader) entries.push(entryToCrit(reader.kind, entry, { pretty: options.pretty === true, noPayload }));
    return { magic: reader.kind.magicName, entries };
  });
}

/** info of a stream's member: magic and entry count (a pagemap's head not counted), as crit info. */
export function infoStreamMember(input: string | undefined, member: string): Promise<JsonValue> {
  return withMember(input, member, true, async (reader) => {
    let count = 0;
    for (let entry = await reader.next(); entry !== null; entry = await reader.next()) count++;
    if (reader.kind.head !== undefined && reader.kind.name.startsWith('pagemap')) count = Math.max(0, count - 1);
    return { magic: reader.kind.magicName, count };
  });
}

function noSuchMember(stream: string, wanted: string, members: readonly TarMember[]): CriuError {
  return new CriuError(`${stream}: no member ${wanted} in the stream`, { code: 'ENOENT', hint: `its members: ${members.map((m) => m.name).join(', ')}` });
}

/** info on a stream: its members and their sizes. */
export async function streamMembers(input: string | undefined): Promise<JsonValue> {
  const { readable, name } = sourceOf(input);
  const members = await readTar(readable, () => undefined, { name });
  return { stream: name, members: members.map((m) => ({ name: m.name, size: m.size })) };
}

/** The JSON text as crit prints it, to `out` or stdout. */
export function writeJson(json: JsonValue, indent: number | undefined, out: string | undefined): void {
  const text = pythonJson(json, indent);
  if (out === undefined) process.stdout.write(`${text}\n`);
  else writeFileSync(out, text);
}

// Fuzz target for the image stream's tar reader and extraction: mutated
// streams (header checksums fixed up afterwards half of the time, so the
// edits reach past the checksum) and streams generated from hostile member
// lists (names with '..', '/', odd types, pax and GNU long names, sizes that
// lie). Extraction goes into a fresh directory: on success every file in it
// is a flat image name written by the stream; on failure it is left empty.
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { BLOCK, encodeHeader, extractTar, memberNameProblem, paxRecord, readTar, type TarMember } from '@criu-ts/stream';
import { chunked, chunkingArbitrary, mutatedFrom } from './mutate.js';
import { FuzzFinding, expectBounded, expectImageError, type FuzzTarget } from './target.js';

interface Member {
  name: string;
  typeflag: string;
  data: Buffer;
  /** the size the header claims (the data's length unless it lies) */
  size?: number;
  pax?: Record<string, string>;
  gnuLongName?: boolean;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
}

function extended(typeflag: string, data: Buffer): Buffer[] {
  return [encodeHeader({ name: '././@LongLink', size: data.length, typeflag, mode: 0o644, mtime: 0 }), padded(data)];
}

/** A tar stream of these members, ended by the two zero blocks (unless `end` is false). */
export function tarStream(members: readonly Member[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    if (m.pax !== undefined) parts.push(...extended('x', Buffer.from(Object.entries(m.pax).map(([k, v]) => paxRecord(k, v)).join(''))));
    if (m.gnuLongName === true) parts.push(...extended('L', Buffer.from(`${m.name}\0`)));
    const shortName = Buffer.byteLength(m.name) > 100 || m.gnuLongName === true ? 'long-name' : m.name;
    parts.push(encodeHeader({ name: shortName, size: m.size ?? m.data.length, typeflag: m.typeflag, mode: 0o600, mtime: 1 }), padded(m.data));
  }
  if (end) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** Recompute the checksum of every block that carries a ustar magic. */
function fixChecksums(input: Buffer): Buffer {
  const out = Buffer.from(input);
  for (let at = 0; at + BLOCK <= out.length; at += BLOCK) {
    const block = out.subarray(at, at + BLOCK);
    if (block.toString('latin1', 257, 262) !== 'ustar') continue;
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of block) sum += byte;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  }
  return out;
}

const seeds = [
  tarStream([
    { name: 'inventory.img', typeflag: '0', data: Buffer.alloc(37, 1) },
    { name: 'core-1.img', typeflag: '0', data: Buffer.alloc(512, 2) },
    { name: `pages-${'1'.repeat(120)}.img`, typeflag: '0', data: Buffer.alloc(700, 3), pax: { path: `pages-${'1'.repeat(120)}.img` } },
  ]),
  tarStream([
    { name: '.', typeflag: '5', data: Buffer.alloc(0) },
    { name: './mm-1.img', typeflag: '0', data: Buffer.alloc(0) },
    { name: `fdinfo-${'2'.repeat(110)}.img`, typeflag: '0', data: Buffer.alloc(1023, 4), gnuLongName: true },
  ]),
];

const hostileName = fc.oneof(
  fc.constantFrom('core-1.img', '../core-1.img', '/etc/passwd', 'a/b.img', '.', '..', '', './', 'x\0y.img', '-rf', '.hidden', 'dir/', `${'a'.repeat(300)}.img`),
  fc.string({ maxLength: 20 }),
);

const memberArbitrary: fc.Arbitrary<Member> = fc.record(
  {
    name: hostileName,
    typeflag: fc.constantFrom('0', '0', '0', '\0', '1', '2', '3', '5', 'x', 'g', 'L', 'K', 'S'),
    data: fc.uint8Array({ maxLength: 1100 }).map((bytes) => Buffer.from(bytes)),
    size: fc.option(fc.nat({ max: 4096 }), { nil: undefined }),
    pax: fc.option(fc.dictionary(fc.constantFrom('path', 'size', 'mtime', 'linkpath', 'x'), fc.oneof(hostileName, fc.constantFrom('-1', '99999999999999999999', '12'))), { nil: undefined }),
    gnuLongName: fc.boolean(),
  },
  { requiredKeys: ['name', 'typeflag', 'data'] },
);

interface TarInput {
  bytes: Buffer;
  via: 'readable' | 'fd';
  chunks: number[];
}

const generated = fc
  .record({ members: fc.array(memberArbitrary, { maxLength: 4 }), end: fc.boolean() })
  .map(({ members, end }) => {
    try {
      return tarStream(members, end);
    } catch (error) {
      if (error instanceof RangeError) return Buffer.alloc(0);
      throw error;
    }
  });

const mutated = fc.record({ bytes: mutatedFrom(seeds), fix: fc.boolean() }).map(({ bytes, fix }) => (fix ? fixChecksums(bytes) : bytes));

function source(input: TarInput, scratch: string): { source: Readable | number; close(): void } {
  if (input.via === 'readable') return { source: Readable.from(chunked(input.bytes, input.chunks)), close: () => undefined };
  const path = join(scratch, 'stream.tar');
  writeFileSync(path, input.bytes);
  const fd = openSync(path, 'r');
  return { source: fd, close: () => closeSync(fd) };
}

function checkExtracted(dir: string, members: readonly TarMember[]): void {
  const names = readdirSync(dir).sort();
  const expected = members.map((m) => m.name).sort();
  if (names.join('/') !== expected.join('/')) throw new FuzzFinding(`extracted ${names.join(',')} but read ${expected.join(',')}`);
  for (const name of names) if (memberNameProblem(name) !== undefined) throw new FuzzFinding(`extracted a file named '${name}'`);
}

export function tarTarget(): FuzzTarget<TarInput> {
  return {
    name: 'tar',
    weight: 8,
    arbitrary: fc.record({ bytes: fc.oneof(mutated, generated), via: fc.constantFrom('readable' as const, 'fd' as const), chunks: chunkingArbitrary }),
    async check(input, scratch) {
      const dir = join(scratch, 'out');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      const { source: from, close } = source(input, scratch);
      let members: TarMember[];
      try {
        members = await extractTar(from, dir, { sync: false });
      } catch (error) {
        expectImageError(error, input.bytes.length);
        if (readdirSync(dir).length !== 0) throw new FuzzFinding(`a failed extraction left ${readdirSync(dir).join(', ')}`);
        return 'rejected';
      } finally {
        close();
      }
      checkExtracted(dir, members);
      expectBounded('member data', members.reduce((sum, m) => sum + m.size, 0), input.bytes.length);
      return 'accepted';
    },
  };
}

/** readTar alone, through its callback interface (members read or left unread at random). */
export function tarReadTarget(): FuzzTarget<TarInput & { consume: boolean }> {
  return {
    name: 'tar-read',
    weight: 4,
    arbitrary: fc.record({ bytes: fc.oneof(mutated, generated), via: fc.constant('readable' as const), chunks: chunkingArbitrary, consume: fc.boolean() }),
    async check(input, scratch) {
      const { source: from, close } = source(input, scratch);
      let kept = 0;
      try {
        await readTar(from, async (_member, body) => {
          if (!input.consume) return;
          for await (const chunk of body.chunks()) kept += chunk.length;
        });
      } catch (error) {
        expectImageError(error, input.bytes.length);
        return 'rejected';
      } finally {
        close();
      }
      expectBounded('member data', kept, input.bytes.length);
      return 'accepted';
    },
  };
}

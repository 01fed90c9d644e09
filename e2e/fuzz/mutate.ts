// Inputs for the fuzz targets: a valid seed (an image, a tar stream, a
// page-server session) damaged by a few random edits, or plain random bytes.
// Edits pick the byte values readers care about (lengths near 0, 2^31 and
// 2^32, varint continuation bytes) more often than uniform bytes would.
import fc from 'fast-check';

export type Edit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'repeat'; at: number; length: number };

const interesting32 = [0, 1, 0x7f, 0x80, 0xff, 0x1000, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

const position = fc.nat({ max: 0x7fffffff });

export const editArbitrary: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: position, value: fc.oneof(fc.constantFrom(0, 0x7f, 0x80, 0xff), fc.nat({ max: 255 })) }),
  fc.record({ op: fc.constant('u32' as const), at: position, value: fc.oneof(fc.constantFrom(...interesting32), fc.nat({ max: 0xffffffff })) }),
  fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  fc.record({ op: fc.constant('repeat' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
);

/** Apply one edit (positions wrap around the buffer's length). */
export function applyEdit(input: Buffer, edit: Edit): Buffer {
  if (input.length === 0) return edit.op === 'insert' ? Buffer.from(edit.bytes) : input;
  const at = edit.at % input.length;
  switch (edit.op) {
    case 'flip': {
      const out = Buffer.from(input);
      out[at] = out[at]! ^ (1 << edit.bit);
      return out;
    }
    case 'set': {
      const out = Buffer.from(input);
      out[at] = edit.value;
      return out;
    }
    case 'u32': {
      const out = Buffer.from(input);
      if (at + 4 <= out.length) out.writeUInt32LE(edit.value >>> 0, at);
      return out;
    }
    case 'insert':
      return Buffer.concat([input.subarray(0, at), edit.bytes, input.subarray(at)]);
    case 'delete':
      return Buffer.concat([input.subarray(0, at), input.subarray(at + edit.length)]);
    case 'truncate':
      return Buffer.from(input.subarray(0, at));
    case 'repeat':
      return Buffer.concat([input.subarray(0, at + edit.length), input.subarray(at)]);
  }
}

export function applyEdits(input: Buffer, edits: readonly Edit[]): Buffer {
  return edits.reduce(applyEdit, input);
}

/** A seed (picked from `seeds`) with 0..maxEdits edits, or (one time in ten) random bytes after the seed's first `keep` bytes. */
export function mutatedFrom(seeds: readonly Buffer[], options: { maxEdits?: number; keep?: number } = {}): fc.Arbitrary<Buffer> {
  const keep = options.keep ?? 0;
  const edited = fc
    .record({ seed: fc.nat({ max: seeds.length - 1 }), edits: fc.array(editArbitrary, { maxLength: options.maxEdits ?? 4 }) })
    .map(({ seed, edits }) => applyEdits(seeds[seed]!, edits));
  const random = fc
    .record({ seed: fc.nat({ max: seeds.length - 1 }), tail: fc.uint8Array({ maxLength: 512 }) })
    .map(({ seed, tail }) => Buffer.concat([seeds[seed]!.subarray(0, keep), tail]));
  return fc.oneof({ arbitrary: edited, weight: 9 }, { arbitrary: random, weight: 1 });
}

/** How a byte stream is cut into chunks when it is fed to a stream reader. */
export const chunkingArbitrary = fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 8 });

/** Cut `input` into chunks of the given sizes, cycling. */
export function chunked(input: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(input.subarray(at, at + size));
    at += size;
  }
  return out;
}

// Fuzz target for the page server's side of CRIU's page-server protocol: a
// mutated (or generated) client session is fed to serveSession from a fake
// peer, in random chunks. A bad session must fail with our protocol or image
// error and leave no half-written image (only pairs flushed before the
// failure); every image left, after success or failure, reads back with
// valid runs.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { ImageError, LogLevel, createLogger } from '@criu-ts/base';
import { PAGE_SIZE, PE_PARENT, PE_PRESENT, imageFileName, openPagemap } from '@criu-ts/images';
import { PS_IOV, encodeDstId, encodeIov, serveSession, type PageServerIov } from '@criu-ts/page-server';
import { chunked, chunkingArbitrary, mutatedFrom } from './mutate.js';
import { FuzzFinding, expectCriuError, expectImageError, type FuzzTarget } from './target.js';

const log = createLogger({ fd: 2, level: LogLevel.none, withPid: false, start: process.hrtime.bigint() }, 'fuzz');

function iov(command: number, fields: Partial<PageServerIov> = {}): Buffer {
  return encodeIov({ command, flags: 0, nrPages: 0, vaddr: 0n, dstId: encodeDstId('pagemap', 42), ...fields });
}

function add(vaddr: bigint, nrPages: number, flags = PE_PRESENT, dstId = encodeDstId('pagemap', 42)): Buffer[] {
  const data = (flags & PE_PRESENT) !== 0 ? [Buffer.alloc(nrPages * PAGE_SIZE, 0x5a)] : [];
  return [iov(PS_IOV.ADD_F, { flags, nrPages, vaddr, dstId }), ...data];
}

const seeds = [
  Buffer.concat([iov(PS_IOV.OPEN2), ...add(0x400000n, 1), ...add(0x401000n, 2, PE_PARENT), iov(PS_IOV.FLUSH_N_CLOSE)]),
  Buffer.concat([
    iov(PS_IOV.PARENT),
    iov(PS_IOV.OPEN2, { dstId: encodeDstId('pagemap-shmem', 7) }),
    ...add(0x0n, 1, PE_PRESENT, encodeDstId('pagemap-shmem', 7)),
    iov(PS_IOV.FLUSH),
    iov(PS_IOV.OPEN, { dstId: encodeDstId('pagemap', 43) }),
    iov(PS_IOV.ADD, { nrPages: 1, vaddr: 0x7000n, dstId: encodeDstId('pagemap', 43) }),
    Buffer.alloc(PAGE_SIZE, 1),
    iov(PS_IOV.HOLE, { nrPages: 3, vaddr: 0x9000n, dstId: encodeDstId('pagemap', 43) }),
    iov(PS_IOV.FLUSH_N_CLOSE),
  ]),
];

/** A peer that sends `chunks` and swallows the answers. */
function fakePeer(chunks: readonly Buffer[]): Duplex {
  let next = 0;
  return new Duplex({
    read() {
      this.push(next < chunks.length ? chunks[next++]! : null);
    },
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

/** Every committed pagemap reads back; pages images match what their runs hold. */
function checkCommitted(dir: string, images: readonly string[]): void {
  const names = readdirSync(dir).sort();
  if (names.some((name) => name.endsWith('.part'))) throw new FuzzFinding(`the session left ${names.join(', ')}`);
  for (const name of images) {
    const match = /^pagemap-(shmem-)?(\d+)\.img$/.exec(name);
    if (match === null) continue;
    const reader = openPagemap(dir, BigInt(match[2]!), match[1] === undefined ? 'pagemap' : 'pagemap-shmem');
    try {
      for (const run of reader) void run;
      const pages = statSync(join(dir, imageFileName('pages', reader.pagesId))).size;
      if (pages !== reader.presentBytes) throw new FuzzFinding(`${name} accounts for ${reader.presentBytes} bytes of pages, its pages image has ${pages}`);
    } finally {
      reader.close();
    }
  }
}

export function pageServerTarget(): FuzzTarget<{ bytes: Buffer; chunks: number[] }> {
  return {
    name: 'page-server',
    weight: 2,
    arbitrary: fc.record({ bytes: mutatedFrom(seeds, { maxEdits: 3 }), chunks: chunkingArbitrary }),
    async check({ bytes, chunks }, scratch) {
      const dir = join(scratch, 'ps');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      let images: string[];
      try {
        ({ images } = await serveSession(fakePeer(chunked(bytes, chunks)), { dir, log, peer: 'fuzz', maxRunPages: 1024, maxTotalBytes: 1 << 24 }));
      } catch (error) {
        if (error instanceof ImageError) expectImageError(error, Number.MAX_SAFE_INTEGER);
        else expectCriuError(error, ['EPROTO']);
        // images flushed before the failure stay (FLUSH commits, as upstream); nothing half-written may
        checkCommitted(dir, readdirSync(dir));
        return 'rejected';
      }
      checkCommitted(dir, images);
      return 'accepted';
    },
  };
}

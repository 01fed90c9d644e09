// Our client → our server over loopback TCP: the images the server writes
// read back identically; bad peers leave no image that looks complete.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, readSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PE_PARENT, PE_PRESENT, openPagemap, openPagesImage } from '@criu-ts/images';
import { runData, type Step } from './client-worker.fixture.js';
import { session } from './ps-harness.fixture.js';
import { PS_IOV, encodeDstId, encodeIov } from './protocol.js';

const root = mkdtempSync(join(tmpdir(), 'page-server-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
function freshDir(): string {
  const dir = join(root, `d${(dirs += 1)}`);
  mkdirSync(dir);
  return dir;
}

function readPages(dir: string, pagesId: number, offset: number, length: number): Buffer {
  const fd = openPagesImage(dir, pagesId);
  try {
    const buf = Buffer.alloc(length);
    t.equal(readSync(fd, buf, 0, length, offset), length);
    return buf;
  } finally {
    closeSync(fd);
  }
}

t.test('runs sent by our client read back identically through PagemapReader', async (t) => {
  const dir = freshDir();
  const steps: Step[] = [
    { open: ['pagemap', 42] },
    { run: { vaddr: 0x400000n, nrPages: 3, flags: PE_PRESENT }, via: 'data' },
    { run: { vaddr: 0x500000n, nrPages: 2, flags: PE_PARENT } },
    { run: { vaddr: 0x7f0000000000n, nrPages: 16, flags: PE_PRESENT }, via: 'pipe' },
    { open: ['pagemap-shmem', 7] },
    { run: { vaddr: 0n, nrPages: 300, flags: PE_PRESENT }, via: 'file' },
    { flush: false },
  ];
  const outcome = await session(dir, { steps });
  t.strictSame(outcome.client, { ok: true }, 'the client saw a successful flush');
  if (outcome.server instanceof Error) return t.fail(outcome.server.message);
  t.strictSame(outcome.server.images, ['pagemap-42.img', 'pages-65537.img', 'pagemap-shmem-7.img', 'pages-65538.img']);
  t.equal(outcome.server.pages, 3 + 16 + 300);
  t.strictSame(readdirSync(dir).sort(), ['pagemap-42.img', 'pagemap-shmem-7.img', 'pages-65537.img', 'pages-65538.img']);

  const reader = openPagemap(dir, 42);
  t.equal(reader.pagesId, 0x10001);
  const runs = [...reader];
  reader.close();
  t.strictSame(runs, [
    { vaddr: 0x400000n, nrPages: 3, flags: PE_PRESENT, pagesOffset: 0 },
    { vaddr: 0x500000n, nrPages: 2, flags: PE_PARENT },
    { vaddr: 0x7f0000000000n, nrPages: 16, flags: PE_PRESENT, pagesOffset: 3 * 4096 },
  ]);
  t.ok(readPages(dir, 0x10001, 0, 3 * 4096).equals(runData(0x400000n, 3)), 'run 1 data');
  t.ok(readPages(dir, 0x10001, 3 * 4096, 16 * 4096).equals(runData(0x7f0000000000n, 16)), 'run 2 data (spliced from a pipe)');
  const shmem = openPagemap(dir, 7, 'pagemap-shmem');
  t.strictSame([...shmem], [{ vaddr: 0n, nrPages: 300, flags: PE_PRESENT, pagesOffset: 0 }]);
  shmem.close();
  t.ok(readPages(dir, 0x10002, 0, 300 * 4096).equals(runData(0n, 300)), 'shmem data (sendfile from a file)');
  const crit = JSON.parse(execFileSync('/usr/bin/crit', ['decode', '-i', join(dir, 'pagemap-42.img')], { encoding: 'utf8' })) as { magic: string; entries: Record<string, unknown>[] };
  t.equal(crit.magic, 'PAGEMAP');
  t.strictSame(crit.entries[0], { pages_id: 0x10001 }, 'crit reads the head');
  t.equal(crit.entries.length, 4);
});

t.test('FLUSH_N_CLOSE ends the session without waiting for the close', async (t) => {
  const dir = freshDir();
  const outcome = await session(dir, { steps: [{ open: ['pagemap', 1] }, { run: { vaddr: 0x1000n, nrPages: 1, flags: PE_PRESENT } }, { flush: true }] });
  t.strictSame(outcome.client, { ok: true });
  t.notOk(outcome.server instanceof Error);
  t.strictSame(readdirSync(dir).sort(), ['pagemap-1.img', 'pages-65537.img']);
});

function header(command: number, fields: { flags?: number; nrPages?: number; vaddr?: bigint; dstId?: bigint } = {}): Buffer {
  return encodeIov({ command, flags: fields.flags ?? 0, nrPages: fields.nrPages ?? 0, vaddr: fields.vaddr ?? 0n, dstId: fields.dstId ?? 0n });
}

const bad: [string, Step[], RegExp][] = [
  ['garbage', [{ raw: Buffer.from('GET / HTTP/1.1\r\nHost: example.org\r\n\r\n') }, { close: true }], /unknown command 0x4547 \(cmd 0x20544547\): not a CRIU page-server client/],
  ['an unknown image type', [{ raw: header(PS_IOV.OPEN, { dstId: (5n << 8n) | 77n }) }, { close: true }], /unknown image type 77/],
  [
    'an oversize run',
    [{ open: ['pagemap', 9] }, { raw: header(PS_IOV.ADD_F, { flags: PE_PRESENT, nrPages: 0xffffffff, vaddr: 0x1000n, dstId: encodeDstId('pagemap', 9) }) }, { close: true }],
    /longer than the limit/,
  ],
  [
    'an unaligned run',
    [{ open: ['pagemap', 9] }, { raw: header(PS_IOV.ADD_F, { flags: PE_PRESENT, nrPages: 1, vaddr: 0x1001n, dstId: encodeDstId('pagemap', 9) }) }, { close: true }],
    /not page aligned/,
  ],
  [
    'a disconnect mid-run',
    [
      { open: ['pagemap', 9] },
      { raw: Buffer.concat([header(PS_IOV.ADD_F, { flags: PE_PRESENT, nrPages: 10, vaddr: 0x1000n, dstId: encodeDstId('pagemap', 9) }), Buffer.alloc(5 * 4096, 1)]) },
      { close: true },
    ],
    /disconnected after 20480 of 40960 bytes/,
  ],
  ['a disconnect mid-header', [{ open: ['pagemap', 9] }, { raw: Buffer.alloc(10) }, { close: true }], /middle of a header \(10 of 32/],
  ['no flush', [{ open: ['pagemap', 9] }, { run: { vaddr: 0x1000n, nrPages: 2, flags: PE_PRESENT } }, { close: true }], /ended before the data were flushed/],
  ['PS_IOV_GET', [{ raw: header(PS_IOV.GET, { nrPages: 1, dstId: encodeDstId('pagemap', 1) }) }, { close: true }], /serving them to a lazy-pages daemon needs --lazy-pages/],
];
for (const [what, steps, message] of bad) {
  t.test(`a client sending ${what}: a clear error and no image`, async (t) => {
    const dir = freshDir();
    const outcome = await session(dir, { steps });
    t.type(outcome.server, Error, 'the session failed');
    t.match((outcome.server as Error).message, message, (outcome.server as Error).message);
    t.match((outcome.server as Error).message, /^page-server: peer 127\.0\.0\.1:\d+: /, 'names the peer');
    t.strictSame(readdirSync(dir), [], 'no image, complete or partial, is left');
  });
}

t.test('the session total is capped', async (t) => {
  const dir = freshDir();
  const steps: Step[] = [{ open: ['pagemap', 3] }, { run: { vaddr: 0x1000n, nrPages: 2, flags: PE_PRESENT } }, { run: { vaddr: 0x9000n, nrPages: 2, flags: PE_PRESENT } }, { flush: false }];
  const outcome = await session(dir, { steps }, { maxTotalBytes: 3 * 4096 });
  t.match((outcome.server as Error).message, /exceed its limit of 12288 bytes/);
  t.equal(outcome.client.ok, false, 'the client learns the flush failed');
  t.strictSame(readdirSync(dir), []);
});

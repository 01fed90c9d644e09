// Live test of the memory kind on e2e/fixtures/mem-layout.c: every kind of
// mapping is in mm-PID.img as /proc said, the pages images hold exactly the
// written pages with their data, crit decodes the images, and the task runs
// on unaltered after release.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import t, { type Test } from 'tap';
import { imagePath, openPagemap, readEntries, readOne, type VmaEntry } from '@criu-ts/images';
import { MAP, PROT } from '@criu-ts/kernel';
import { readSmaps } from '@criu-ts/proc';
import { compile, freezeForDump, start, tempDir } from './live-dump.fixture.js';
import { memoryKind } from './memory-kind.js';
import { VMA } from './vma-flags.js';

const PG = 4096;

/** The fixture's fill(): byte i of a region filled with seed. */
function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = ((i * 31 + seed) ^ (i >> 12)) & 0xff;
  return b;
}

/** Pages of an image's pagemap, as address → page data. */
function pagesOf(t: Test, dir: string, id: number | bigint, kind: 'pagemap' | 'pagemap-shmem' = 'pagemap'): Map<bigint, Buffer> {
  const pm = openPagemap(dir, id, kind);
  const data = readFileSync(imagePath(dir, 'pages', pm.pagesId));
  const pages = new Map<bigint, Buffer>();
  let total = 0;
  for (const run of pm) {
    for (let i = 0; i < run.nrPages; i++) {
      const off = (run.pagesOffset ?? 0) + i * PG;
      pages.set(run.vaddr + BigInt(i * PG), data.subarray(off, off + PG));
    }
    total += run.nrPages;
  }
  pm.close();
  t.equal(data.length, total * PG, `pages image size is ${total} pages (${kind} ${id})`);
  return pages;
}

function regions(out: string): Map<string, { start: bigint; pages: number }> {
  const map = new Map<string, { start: bigint; pages: number }>();
  for (const m of out.matchAll(/^(\w+) (0x[0-9a-f]+) (\d+)$/gm)) map.set(m[1]!, { start: BigInt(m[2]!), pages: Number(m[3]) });
  return map;
}

function vmaAt(vmas: VmaEntry[], addr: bigint): VmaEntry {
  const vma = vmas.find((v) => v.start <= addr && addr < v.end);
  if (vma === undefined) throw new Error(`no vma at 0x${addr.toString(16)}`);
  return vma;
}

t.test('memory kind on mem-layout', async (t) => {
  const dir = tempDir(t);
  const images = tempDir(t);
  const bin = compile('mem-layout', dir);
  const w = await start(t, bin, [dir], /^ready \d+/m);
  const at = regions(w.output());
  const live = readSmaps(w.pid);
  const dump = freezeForDump(t, w.pid, images);
  const record = { ids: {} as Record<string, number> };
  memoryKind.dump(dump.ctx, dump.task, record);
  dump.finish();

  const mm = readOne(images, 'mm', w.pid);
  const vmas = mm.vmas ?? [];
  t.equal(vmas.length, live.length, 'one vma per smaps entry');
  vmas.forEach((v, i) => {
    const s = live[i]!;
    t.equal(v.end, s.end, `vma ${i} end`);
    t.ok(v.start === s.start || (v.start === s.start - 4096n && (v.flags & MAP.GROWSDOWN) !== 0), `vma ${i} start (guard gap only below a stack)`);
    t.equal(v.prot, (s.read ? PROT.READ : 0) | (s.write ? PROT.WRITE : 0) | (s.exec ? PROT.EXEC : 0), `vma ${i} prot`);
    t.equal((v.flags & MAP.SHARED) !== 0, s.shared, `vma ${i} sharing`);
  });
  const files = readEntries(images, 'files');
  const fileName = (id: bigint): string | undefined => files.find((f) => BigInt(f.id) === id)?.reg?.name;

  const st = (name: string): number => vmaAt(vmas, at.get(name)!.start).status;
  t.equal(st('anon'), VMA.AREA_REGULAR | VMA.ANON_PRIVATE);
  t.equal(st('shanon'), VMA.AREA_REGULAR | VMA.ANON_SHARED);
  t.equal(st('fpriv'), VMA.AREA_REGULAR | VMA.FILE_PRIVATE);
  t.equal(st('fshared'), VMA.AREA_REGULAR | VMA.FILE_SHARED);
  t.equal(st('memfd'), VMA.AREA_REGULAR | VMA.FILE_SHARED | VMA.AREA_MEMFD);
  t.equal(st('heap'), VMA.AREA_REGULAR | VMA.AREA_HEAP | VMA.ANON_PRIVATE);
  t.equal(vmaAt(vmas, at.get('guard')!.start).prot, PROT.NONE, 'guard is PROT_NONE');
  t.equal(fileName(vmaAt(vmas, at.get('fpriv')!.start).shmid), `${dir}/file`, 'private file mapping names the file');
  t.equal(fileName(BigInt(mm.exe_file_id)), bin, 'exe_file_id names the binary');
  const stack = vmas.find((v) => (v.flags & MAP.GROWSDOWN) !== 0);
  t.ok(stack, 'the stack is MAP_GROWSDOWN');
  t.ok(vmas.some((v) => (v.status & VMA.AREA_VVAR) !== 0) && vmas.some((v) => (v.status & VMA.AREA_VDSO) !== 0), 'vvar and vdso found');
  t.ok(record.ids.vm_id > 0, 'vm_id set');

  const pages = pagesOf(t, images, w.pid);
  const anon = at.get('anon')!;
  for (let i = 0; i < anon.pages; i++) {
    const page = pages.get(anon.start + BigInt(i * PG));
    if (i % 2 === 0) t.same(page, pattern(PG, i), `anon page ${i} holds its data`);
    else t.equal(page, undefined, `untouched anon page ${i} is not dumped`);
  }
  const zero = at.get('zero')!;
  t.notOk([...pages.keys()].some((a) => a >= zero.start && a < zero.start + BigInt(zero.pages * PG)), 'zero pages skipped');
  const fpriv = at.get('fpriv')!;
  t.same(pages.get(fpriv.start + BigInt(PG)), pattern(PG, 11), 'written page of the private file mapping dumped');
  t.equal(pages.get(fpriv.start), undefined, 'page-cache page of the private file mapping skipped');
  const heap = at.get('heap')!;
  t.same(pages.get(heap.start), pattern(PG, 9).subarray(0, PG), 'heap page dumped');

  const shanonIno = vmaAt(vmas, at.get('shanon')!.start).shmid;
  const sh = pagesOf(t, images, shanonIno, 'pagemap-shmem');
  t.same(Buffer.concat([...sh.values()]), pattern(8 * PG, 3), 'shared anonymous content dumped once');
  const memfds = readEntries(images, 'memfd');
  t.equal(memfds.length, 1, 'one memfd inode');
  t.equal(memfds[0]!.name, 'mem-layout');
  const mf = pagesOf(t, images, memfds[0]!.shmid, 'pagemap-shmem');
  t.same(Buffer.concat([...mf.values()]), pattern(4 * PG, 5), 'memfd content dumped');

  for (const name of [`mm-${w.pid}.img`, `pagemap-${w.pid}.img`, 'files.img', 'memfd.img']) {
    const out = execFileSync('/usr/bin/crit', ['decode', '-i', `${images}/${name}`], { encoding: 'utf8', timeout: 30_000 });
    t.ok(out.length > 0 && statSync(`${images}/${name}`).size > 0, `crit decodes ${name}`);
  }

  process.kill(w.pid, 'SIGUSR1');
  const deadline = Date.now() + 5000;
  while (!/verify (ok|bad)/.test(w.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.match(w.output(), /verify ok/, 'the task runs on with its memory intact');
});

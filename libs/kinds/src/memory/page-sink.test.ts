// Live test of the memory kind with a page sink (criu dump --page-server):
// the same task dumped once into images and once into a recording sink
// gives the same pages, the sink's runs come in address order (the vDSO
// page under the injector's trampoline included, with its original bytes),
// shared memory goes to its own pagemap-shmem, and no pagemap or pages
// image is written locally.
import { readFileSync, readSync, readdirSync } from 'node:fs';
import t from 'tap';
import { PE_PRESENT, imagePath, openPagemap } from '@criu-ts/images';
import { ptraceGetRseqConfiguration } from '@criu-ts/kernel';
import type { PageSource } from '../dump-context.js';
import { compile, freezeForDump, start, tempDir } from './live-dump.fixture.js';
import { memoryKind } from './memory-kind.js';

const PG = 4096;

interface Recorded {
  kind: string;
  id: number;
  runs: { vaddr: bigint; nrPages: number; flags: number }[];
  pages: Map<bigint, Buffer>;
}

function readSource(source: PageSource, length: number): Buffer {
  if ('data' in source) return Buffer.from(source.data.subarray(0, length));
  const buf = Buffer.alloc(length);
  const fd = 'pipe' in source ? source.pipe : source.file;
  for (let done = 0; done < length; ) {
    const n = readSync(fd, buf, done, length - done, 'file' in source ? source.offset + done : null);
    if (n === 0) throw new Error('source ended early');
    done += n;
  }
  return buf;
}

/** Pages of a pagemap image pair, as address → page. */
function imagePages(dir: string, pid: number): Map<bigint, Buffer> {
  const pm = openPagemap(dir, pid);
  const data = readFileSync(imagePath(dir, 'pages', pm.pagesId));
  const pages = new Map<bigint, Buffer>();
  for (const run of pm) {
    for (let i = 0; i < run.nrPages; i++) pages.set(run.vaddr + BigInt(i * PG), data.subarray((run.pagesOffset ?? 0) + i * PG, (run.pagesOffset ?? 0) + (i + 1) * PG));
  }
  pm.close();
  return pages;
}

/** Zero `size` bytes at `addr` (within one page) in a page map. */
function blank(pages: Map<bigint, Buffer> | undefined, addr: bigint, size: number): void {
  if (addr === 0n) return;
  const base = addr - (addr % BigInt(PG));
  const offset = Number(addr - base);
  pages?.get(base)?.fill(0, offset, offset + size);
}

t.test('a page sink gets what the images would hold, in address order', async (t) => {
  const dir = tempDir(t);
  const bin = compile('mem-layout', dir);
  const w = await start(t, bin, [dir], /^ready \d+/m);

  const local = tempDir(t);
  const first = freezeForDump(t, w.pid, local);
  memoryKind.dump(first.ctx, first.task, { ids: {} });
  first.finish();
  const expected = imagePages(local, w.pid);

  const remote = tempDir(t);
  const recorded: Recorded[] = [];
  const sink = {
    open(kind: 'pagemap' | 'pagemap-shmem', id: number) {
      recorded.push({ kind, id, runs: [], pages: new Map() });
    },
    addRun(run: { vaddr: bigint; nrPages: number; flags: number }, source: PageSource) {
      const open = recorded.at(-1)!;
      open.runs.push(run);
      const data = readSource(source, run.nrPages * PG);
      for (let i = 0; i < run.nrPages; i++) open.pages.set(run.vaddr + BigInt(i * PG), data.subarray(i * PG, (i + 1) * PG));
    },
  };
  const second = freezeForDump(t, w.pid, remote);
  const rseq = ptraceGetRseqConfiguration(w.pid);
  memoryKind.dump({ ...second.ctx, pageSink: sink }, second.task, { ids: {} });
  second.finish();
  // the kernel writes the current CPU into the task's rseq area whenever it resumes: not ours to compare
  const task = recorded.find((r) => r.kind === 'pagemap');
  for (const pages of [expected, task?.pages]) blank(pages, rseq.rseqAbiPointer, rseq.rseqAbiSize);

  t.equal(task?.id, w.pid, 'the task\'s pagemap is opened under its pid');
  t.ok(recorded.some((r) => r.kind === 'pagemap-shmem'), 'shared memory goes to a pagemap-shmem of its own');
  for (const r of recorded) {
    t.ok(r.runs.every((run) => run.flags === PE_PRESENT && run.nrPages > 0), `${r.kind}-${r.id}: present runs only`);
    t.ok(r.runs.every((run, i) => i === 0 || run.vaddr >= r.runs[i - 1]!.vaddr + BigInt(r.runs[i - 1]!.nrPages * PG)), `${r.kind}-${r.id}: runs in address order, no overlap`);
  }
  t.same([...task!.pages.keys()].sort(), [...expected.keys()].sort(), 'the same pages as the images');
  const differing = [...expected].filter(([addr, page]) => !task!.pages.get(addr)?.equals(page)).map(([addr]) => addr.toString(16));
  t.same(differing, [], 'with the same data (the trampoline page too)');
  t.same(readdirSync(remote).filter((name) => /^(pagemap|pages)-/.test(name)), [], 'no pagemap or pages image written locally');
  t.ok(readdirSync(remote).includes(`mm-${w.pid}.img`), 'mm image written');
});

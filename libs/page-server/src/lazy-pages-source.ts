// What a page server answers a lazy-pages daemon's PS_IOV_GET with: the
// pages of a PE_LAZY run of pagemap-PID.img, from the pages image
// (`criu page-server --lazy-pages`, serving a dump copied here) or from the
// frozen task itself (`criu dump --lazy-pages`, whose images hold no data
// for those runs: process_vm_readv(2) reads them). A request outside every
// lazy run is refused; one past a run's end gets the pages up to it, as
// upstream answers fewer pages than asked.
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CriuError } from '@criu-ts/base';
import { PAGE_SIZE, PE_LAZY, imageFileName, openPagemap, type PageRun } from '@criu-ts/images';
import { processVmReadv } from '@criu-ts/kernel';

export interface LazyPagesSource {
  /** up to nrPages pages of pid from vaddr on: a buffer of whole pages (fewer at a run's end) */
  get(pid: number, vaddr: bigint, nrPages: number): Buffer;
  close(): void;
}

const PAGE = BigInt(PAGE_SIZE);

interface TaskRuns {
  pagesId: number;
  runs: PageRun[];
}

function readLazyRuns(dir: string, pid: number): TaskRuns {
  const pagemap = openPagemap(dir, pid);
  try {
    return { pagesId: pagemap.pagesId, runs: [...pagemap].filter((run) => (run.flags & PE_LAZY) !== 0) };
  } finally {
    pagemap.close();
  }
}

/** The run holding vaddr and how many of the asked pages it has from there. */
function clamp(dir: string, pid: number, runs: readonly PageRun[], vaddr: bigint, nrPages: number): { run: PageRun; pages: number } {
  const run = runs.find((r) => vaddr >= r.vaddr && vaddr < r.vaddr + BigInt(r.nrPages) * PAGE);
  if (run === undefined || vaddr % PAGE !== 0n || nrPages <= 0) {
    throw new CriuError(`lazy pages: pid ${pid} has no lazy pages at 0x${vaddr.toString(16)} in ${join(dir, imageFileName('pagemap', pid))}`, { code: 'EPROTO' });
  }
  return { run, pages: Math.min(nrPages, run.nrPages - Number((vaddr - run.vaddr) / PAGE)) };
}

function cached(dir: string): (pid: number) => TaskRuns {
  const known = new Map<number, TaskRuns>();
  return (pid) => {
    let runs = known.get(pid);
    if (runs === undefined) {
      runs = readLazyRuns(dir, pid);
      known.set(pid, runs);
    }
    return runs;
  };
}

/** Lazy pages from the pages images in dir (PE_LAZY|PE_PRESENT runs). */
export function imagesLazyPages(dir: string): LazyPagesSource {
  const runsOf = cached(dir);
  const files = new Map<number, number>();
  return {
    get(pid, vaddr, nrPages) {
      const task = runsOf(pid);
      const { run, pages } = clamp(dir, pid, task.runs, vaddr, nrPages);
      if (run.pagesOffset === undefined) throw new CriuError(`lazy pages: pid ${pid}: the pages at 0x${vaddr.toString(16)} are not in ${dir} (a dump --lazy-pages serves them itself)`, { code: 'ENOENT' });
      let fd = files.get(task.pagesId);
      if (fd === undefined) {
        fd = openSync(join(dir, imageFileName('pages', task.pagesId)), 'r');
        files.set(task.pagesId, fd);
      }
      const buf = Buffer.alloc(pages * PAGE_SIZE);
      const offset = run.pagesOffset + Number(vaddr - run.vaddr);
      for (let done = 0; done < buf.length; ) {
        const n = readSync(fd, buf, done, buf.length - done, offset + done);
        if (n === 0) throw new CriuError(`lazy pages: pages image of pid ${pid} ends before offset ${offset + done}`, { code: 'EIO' });
        done += n;
      }
      return buf;
    },
    close() {
      for (const fd of files.values()) closeSync(fd);
      files.clear();
    },
  };
}

/** Lazy pages read from the frozen tasks themselves (their runs from the pagemaps in dir). */
export function frozenTaskLazyPages(dir: string): LazyPagesSource {
  const runsOf = cached(dir);
  return {
    get(pid, vaddr, nrPages) {
      const { pages } = clamp(dir, pid, runsOf(pid).runs, vaddr, nrPages);
      const buf = Buffer.alloc(pages * PAGE_SIZE);
      const got = processVmReadv(pid, [buf], [{ addr: vaddr, len: buf.length }]);
      if (got !== buf.length) throw new CriuError(`lazy pages: pid ${pid}: read ${got} of ${buf.length} bytes at 0x${vaddr.toString(16)}`, { code: 'EIO' });
      return buf;
    },
    close() {},
  };
}

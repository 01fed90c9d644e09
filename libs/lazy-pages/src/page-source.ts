// Where the daemon gets the pages it places: the images (local) or the
// dump side's page server (remote, PS_IOV_GET). Either hands back an
// address in this process holding the pages, for UFFDIO_COPY to copy into
// the task: the pages image mapped read-only (one copy, page cache to
// task), or a buffer the page server's answer was read into.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { CriuError, ImageError } from '@criu-ts/base';
import { PAGE_SIZE, PE_LAZY, imageFileName, openPagemap, type PageRun } from '@criu-ts/images';
import { bufferAddress, mapFileReadOnly, unmapRange } from '@criu-ts/kernel';
import type { PageServerClient } from '@criu-ts/page-server';

export interface Pages {
  /** where in this process the pages are */
  addr: bigint;
  nrPages: number;
}

export interface PageSource {
  /** up to nrPages pages of pid's image from imgAddr on (fewer at the end of a run) */
  fetch(pid: number, imgAddr: bigint, nrPages: number): Pages;
  /** throws now if pid's lazy pages cannot be had from here (before its faults need them) */
  check?(pid: number): void;
  close(): void;
}

interface MappedPages {
  runs: PageRun[];
  addr: bigint;
  length: number;
}

const PAGE = BigInt(PAGE_SIZE);

/** The lazy runs of pid's pagemap (sorted, as the image holds them). */
export function lazyRuns(dir: string, pid: number): { pagesId: number; runs: PageRun[] } {
  const pagemap = openPagemap(dir, pid);
  try {
    return { pagesId: pagemap.pagesId, runs: [...pagemap].filter((run) => (run.flags & PE_LAZY) !== 0) };
  } finally {
    pagemap.close();
  }
}

function findRun(runs: readonly PageRun[], addr: bigint): PageRun | undefined {
  return runs.find((run) => addr >= run.vaddr && addr < run.vaddr + BigInt(run.nrPages) * PAGE);
}

/** Pages from the images dir: each task's pages-N.img mapped once. */
export function localSource(dir: string): PageSource {
  const mapped = new Map<number, MappedPages>();
  const open = (pid: number): MappedPages => {
    const { pagesId, runs } = lazyRuns(dir, pid);
    const path = join(dir, imageFileName('pages', pagesId));
    const missing = runs.find((run) => run.pagesOffset === undefined);
    if (missing !== undefined) {
      throw new ImageError(`pid ${pid}: the lazy pages at 0x${missing.vaddr.toString(16)} are not in the images (a dump --lazy-pages): serve them with --page-server from the dump side`, { image: imageFileName('pagemap', pid), offset: 0 });
    }
    const fd = openSync(path, 'r');
    try {
      const length = fstatSync(fd).size;
      const addr = length === 0 ? 0n : mapFileReadOnly(fd, length);
      return { runs, addr, length };
    } finally {
      closeSync(fd);
    }
  };
  const mappedOf = (pid: number): MappedPages => {
    let m = mapped.get(pid);
    if (m === undefined) {
      m = open(pid);
      mapped.set(pid, m);
    }
    return m;
  };
  return {
    check: (pid) => void mappedOf(pid),
    fetch(pid, imgAddr, nrPages) {
      const m = mappedOf(pid);
      const run = findRun(m.runs, imgAddr);
      if (run === undefined) throw new CriuError(`pid ${pid}: no lazy pages at 0x${imgAddr.toString(16)} in the images`, { code: 'ENOENT' });
      const skip = (imgAddr - run.vaddr) / PAGE;
      const pages = Math.min(nrPages, run.nrPages - Number(skip));
      const offset = BigInt(run.pagesOffset!) + skip * PAGE;
      if (offset + BigInt(pages) * PAGE > BigInt(m.length)) {
        throw new ImageError(`pages image of pid ${pid} is truncated: no data for 0x${imgAddr.toString(16)}`, { image: imageFileName('pagemap', pid), offset: 0 });
      }
      return { addr: m.addr + offset, nrPages: pages };
    },
    close() {
      for (const m of mapped.values()) if (m.length > 0) unmapRange(m.addr, m.length);
      mapped.clear();
    },
  };
}

/** The most pages one request asks the page server for (upstream's MAX_XFER_LEN, 4 MiB). */
export const MAX_REMOTE_PAGES = (4 << 20) / PAGE_SIZE;

/** Pages from the dump side's page server, asked with PS_IOV_GET; connects on first use. */
export function remoteSource(connect: () => PageServerClient): PageSource {
  let client: PageServerClient | undefined;
  const buffer = Buffer.alloc(MAX_REMOTE_PAGES * PAGE_SIZE);
  const addr = bufferAddress(buffer);
  return {
    fetch(pid, imgAddr, nrPages) {
      client ??= connect();
      const got = client.getPages(pid, imgAddr, Math.min(nrPages, MAX_REMOTE_PAGES), buffer);
      return { addr, nrPages: got };
    },
    close() {
      if (client === undefined) return;
      try {
        client.flush();
      } finally {
        client.close();
      }
    },
  };
}

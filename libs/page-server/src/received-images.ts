// The pagemap/pages image pairs a page-server session writes. Each is
// written under a temporary name ('pagemap-42.img.part') and renamed to
// its real name only when the client's flush says all data arrived, so an
// image that looks complete is complete. Pages ids start at 0x10001, as
// upstream's page server does, so they never clash with the ids of images
// the dump writes itself into the same directory.
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PagemapWriter, createImage, imageFileName, type PayloadSlot } from '@criu-ts/images';
import type { PagemapKind } from './protocol.js';

export const PAGES_ID_BASE = 0x10001;
const PART = '.part';

interface OpenPair {
  dstId: bigint;
  writer: PagemapWriter;
}

export class ReceivedImages {
  private nextPagesId: number;
  private current: OpenPair | undefined;
  /** final names of images written (closed) but not yet renamed into place */
  private pending: string[] = [];
  /** final names renamed into place so far */
  readonly committed: string[] = [];

  constructor(
    readonly dir: string,
    pagesIdBase = PAGES_ID_BASE,
  ) {
    this.nextPagesId = pagesIdBase;
  }

  /** Whether this session already opened that image (a peer may not send it twice). */
  has(kind: PagemapKind, id: bigint): boolean {
    const name = imageFileName(kind, id);
    return this.pending.includes(name) || this.committed.includes(name);
  }

  get openDstId(): bigint | undefined {
    return this.current?.dstId;
  }

  /** Start pagemap-ID.img (or pagemap-shmem-ID.img) and its pages image, closing the pair before. */
  open(kind: PagemapKind, id: bigint, dstId: bigint): void {
    this.closeCurrent();
    const pagesId = this.nextPagesId;
    const names = [imageFileName(kind, id), imageFileName('pages', pagesId)];
    const pagemap = createImage(join(this.dir, names[0]! + PART), kind, { name: names[0] });
    this.pending.push(names[0]!);
    let pages;
    try {
      pages = createImage(join(this.dir, names[1]! + PART), 'pages', { name: names[1] });
    } catch (error) {
      pagemap.close();
      throw error;
    }
    this.pending.push(names[1]!);
    this.nextPagesId += 1;
    this.current = { dstId, writer: new PagemapWriter(pagemap, pages, pagesId) };
  }

  /** Append a run to the open pair; a present run returns the slot its data goes to. */
  appendRun(run: { vaddr: bigint; nrPages: number; flags: number }): PayloadSlot | undefined {
    if (this.current === undefined) throw new Error('no image is open');
    return this.current.writer.appendRun(run);
  }

  private closeCurrent(): void {
    const open = this.current;
    this.current = undefined;
    open?.writer.close();
  }

  /** Close (fsync) what is open and rename every pending image into place; returns their names. */
  commit(): string[] {
    this.closeCurrent();
    const names = this.pending;
    this.pending = [];
    for (const name of names) renameSync(join(this.dir, name + PART), join(this.dir, name));
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.committed.push(...names);
    return names;
  }

  /** Drop everything not committed: no partial image is left behind. */
  discard(): void {
    try {
      this.closeCurrent();
    } finally {
      for (const name of this.pending) rmSync(join(this.dir, name + PART), { force: true });
      this.pending = [];
    }
  }
}

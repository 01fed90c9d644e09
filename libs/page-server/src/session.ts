// One page-server session: read page_server_iov headers from a connected
// peer, write the runs into pagemap/pages images, answer OPEN2, PARENT and
// FLUSH. The peer is untrusted: every header is checked (known command,
// known dst_id type, page-aligned run, run size and session total under the
// limits) and a peer that vanishes mid-run or never flushes fails the
// session, leaving no image that looks complete.
import { writeSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { CriuError, type Logger } from '@criu-ts/base';
import { PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT } from '@criu-ts/images';
import { ByteQueue } from '@criu-ts/stream';
import { IOV_SIZE, PS_IOV, commandName, decodeDstId, decodeIov, encodeIov, type PageServerIov } from './protocol.js';
import { ReceivedImages } from './received-images.js';
import type { LazyPagesSource } from './lazy-pages-source.js';

export interface SessionLimits {
  /** the most pages one header may announce (default 2^22 pages = 16 GiB) */
  maxRunPages?: number;
  /** the most page data bytes a session may send in all (default: 1 TiB) */
  maxTotalBytes?: number;
}

export interface SessionOptions extends SessionLimits {
  /** the images directory (-D) */
  dir: string;
  log: Logger;
  /** the peer, for messages: '127.0.0.1:40000' */
  peer: string;
  pagesIdBase?: number;
  /** --lazy-pages: answer PS_IOV_GET from here (lazy-pages-source.ts); without it PS_IOV_GET is refused */
  lazy?: LazyPagesSource;
}

export interface SessionResult {
  /** image files written, in the order they were committed */
  images: string[];
  pages: number;
}

const KNOWN_FLAGS = PE_PARENT | PE_LAZY | PE_PRESENT;
const CHUNK = 1 << 20;

interface Session {
  queue: ByteQueue;
  peer: Duplex;
  images: ReceivedImages;
  options: SessionOptions;
  pages: number;
  bytes: number;
}

function peerError(s: Session, message: string): CriuError {
  return new CriuError(`page-server: peer ${s.options.peer}: ${message}`, { code: 'EPROTO' });
}

async function reply(s: Session, data: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => s.peer.write(data, (error) => (error ? reject(error) : resolve())));
}

function int32(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value, 0);
  return buf;
}

async function open(s: Session, iov: PageServerIov, answer: boolean): Promise<void> {
  const target = decodeDstId(iov.dstId);
  if (target === undefined) throw peerError(s, `${commandName(iov.command)} names an unknown image type ${iov.dstId & 0xffn} (dst_id 0x${iov.dstId.toString(16)})`);
  if (s.images.has(target.kind, target.id)) throw peerError(s, `${commandName(iov.command)} opens ${target.kind} ${target.id} a second time in one session`);
  s.options.log.info(`page-server: opening ${target.kind} ${target.id}`);
  s.images.open(target.kind, target.id, iov.dstId);
  // no parent images on this side: incremental dumps through a page server are not supported
  if (answer) await reply(s, Buffer.from([0]));
}

function checkRun(s: Session, iov: PageServerIov, flags: number): number {
  const maxRun = s.options.maxRunPages ?? 1 << 22;
  const where = `run at 0x${iov.vaddr.toString(16)} of ${iov.nrPages} page(s)`;
  if (iov.nrPages === 0) throw peerError(s, `${where}: empty run`);
  if (iov.nrPages > maxRun) throw peerError(s, `${where}: longer than the limit of ${maxRun} pages per run`);
  if (iov.vaddr % BigInt(PAGE_SIZE) !== 0n) throw peerError(s, `${where}: address not page aligned`);
  if (iov.vaddr + BigInt(iov.nrPages * PAGE_SIZE) > 1n << 64n) throw peerError(s, `${where}: runs past the end of the address space`);
  if ((flags & ~KNOWN_FLAGS) !== 0 || flags === 0) throw peerError(s, `${where}: bad pagemap flags 0x${flags.toString(16)}`);
  const length = (flags & PE_PRESENT) !== 0 ? iov.nrPages * PAGE_SIZE : 0;
  const maxTotal = s.options.maxTotalBytes ?? 2 ** 40;
  if (s.bytes + length > maxTotal) throw peerError(s, `${where}: the session would exceed its limit of ${maxTotal} bytes of pages`);
  return length;
}

async function add(s: Session, iov: PageServerIov, flags: number): Promise<void> {
  const length = checkRun(s, iov, flags);
  if (s.images.openDstId !== iov.dstId) {
    s.options.log.warn(`page-server: ${commandName(iov.command)} without an open image (deprecated), opening it`);
    await open(s, iov, false);
  }
  const slot = s.images.appendRun({ vaddr: iov.vaddr, nrPages: iov.nrPages, flags });
  if (slot === undefined) return;
  let done = 0;
  while (done < length) {
    const chunk = await s.queue.chunk(Math.min(CHUNK, length - done));
    if (chunk.length === 0) throw peerError(s, `disconnected after ${done} of ${length} bytes of the run at 0x${iov.vaddr.toString(16)}`);
    for (let at = 0; at < chunk.length; ) at += writeSync(slot.fd, chunk, at, chunk.length - at, slot.offset + done + at);
    done += chunk.length;
  }
  s.pages += iov.nrPages;
  s.bytes += length;
}

/** PS_IOV_GET: the header again (PS_IOV_ADD_F, PE_PRESENT, the pages we have there), then the pages. */
async function get(s: Session, iov: PageServerIov): Promise<void> {
  const lazy = s.options.lazy;
  if (lazy === undefined) throw peerError(s, 'PS_IOV_GET: this page server receives pages; serving them to a lazy-pages daemon needs --lazy-pages');
  const target = decodeDstId(iov.dstId);
  const maxRun = s.options.maxRunPages ?? 1 << 22;
  if (target?.kind !== 'pagemap' || iov.nrPages === 0 || iov.nrPages > maxRun) {
    throw peerError(s, `PS_IOV_GET of ${iov.nrPages} page(s) of dst_id 0x${iov.dstId.toString(16)}: only task pagemaps, 1 to ${maxRun} pages`);
  }
  let data: Buffer;
  try {
    data = lazy.get(Number(target.id), iov.vaddr, iov.nrPages);
  } catch (error) {
    if (error instanceof CriuError) throw peerError(s, error.message);
    throw error;
  }
  const nrPages = data.length / PAGE_SIZE;
  await reply(s, Buffer.concat([encodeIov({ command: PS_IOV.ADD_F, flags: PE_PRESENT, nrPages, vaddr: iov.vaddr, dstId: iov.dstId }), data]));
  s.pages += nrPages;
  s.bytes += data.length;
}

/** Handle one command; true when the session ends (FLUSH_N_CLOSE). */
async function handle(s: Session, iov: PageServerIov): Promise<'flushed' | 'closed' | 'more'> {
  switch (iov.command) {
    case PS_IOV.OPEN:
    case PS_IOV.OPEN2:
      await open(s, iov, iov.command === PS_IOV.OPEN2);
      return 'more';
    case PS_IOV.PARENT:
      await reply(s, int32(0));
      return 'more';
    case PS_IOV.ADD_F:
    case PS_IOV.ADD:
    case PS_IOV.HOLE: {
      const flags = iov.command === PS_IOV.ADD_F ? iov.flags : iov.command === PS_IOV.ADD ? PE_PRESENT : PE_PARENT;
      await add(s, iov, flags);
      return 'more';
    }
    case PS_IOV.FLUSH:
    case PS_IOV.FLUSH_N_CLOSE: {
      const names = s.images.commit();
      s.options.log.info(`page-server: flushed ${names.length} image(s)`);
      await reply(s, int32(0));
      return iov.command === PS_IOV.FLUSH_N_CLOSE ? 'closed' : 'flushed';
    }
    case PS_IOV.GET:
      await get(s, iov);
      return 'more';
    default:
      throw peerError(s, `unknown command ${commandName(iov.command)} (cmd 0x${(((iov.flags << 16) | iov.command) >>> 0).toString(16)}): not a CRIU page-server client?`);
  }
}

/** Next header; null when the peer closed cleanly between headers. */
async function nextIov(s: Session): Promise<PageServerIov | null> {
  const head = await s.queue.take(IOV_SIZE);
  if (head.length === 0) return null;
  if (head.length !== IOV_SIZE) throw peerError(s, `disconnected in the middle of a header (${head.length} of ${IOV_SIZE} bytes)`);
  return decodeIov(head);
}

/**
 * Serve one session on a connected peer (plain or TLS). Resolves once the
 * client flushed and closed; rejects (after removing every uncommitted
 * image) on any protocol error, limit or early disconnect.
 */
export async function serveSession(peer: Duplex, options: SessionOptions): Promise<SessionResult> {
  const s: Session = { queue: new ByteQueue(peer), peer, images: new ReceivedImages(options.dir, options.pagesIdBase), options, pages: 0, bytes: 0 };
  try {
    let state: 'flushed' | 'closed' | 'more' = 'more';
    for (let iov = await nextIov(s); iov !== null; iov = state === 'closed' ? null : await nextIov(s)) {
      options.log.debug(`page-server: ${commandName(iov.command)} flags 0x${iov.flags.toString(16)} vaddr 0x${iov.vaddr.toString(16)} pages ${iov.nrPages}`);
      state = await handle(s, iov);
    }
    if (state === 'more') throw peerError(s, 'the connection ended before the data were flushed');
    return { images: s.images.committed, pages: s.pages };
  } catch (error) {
    s.images.discard();
    throw error;
  }
}

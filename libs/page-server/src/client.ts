// The dump side of the page-server protocol: what the memory kinds call
// instead of writing pagemap/pages images locally. Synchronous over a
// connected stream socket fd (the dump engine's ptrace work is synchronous
// too): headers are written whole, page data moves from a pipe by splice(2)
// or from a file by sendfile(2), never through JS buffers.
import { closeSync, readSync } from 'node:fs';
import { CriuError, errnoOf } from '@criu-ts/base';
import { PAGE_SIZE, PE_PRESENT } from '@criu-ts/images';
import { splice } from '@criu-ts/kernel';
import { copyFromFd, writeFully } from '@criu-ts/stream';
import { IOV_SIZE, PS_IOV, commandName, decodeIov, encodeDstId, encodeIov, type PagemapKind } from './protocol.js';

const SPLICE_F_MOVE = 1;

export interface ClientRun {
  vaddr: bigint;
  nrPages: number;
  /** PE_* flags; a PE_PRESENT run must be followed by its data */
  flags: number;
}

/** Where a present run's data comes from. */
export type RunSource = { pipe: number } | { file: number; offset: number } | { data: Uint8Array };

export class PageServerClient {
  private dstId: bigint | undefined;
  private closed = false;

  constructor(
    /** a connected stream socket */
    readonly fd: number,
    /** for messages: 'page server 10.0.0.2:1234' */
    readonly name: string,
    private readonly onClose: () => void = () => undefined,
  ) {}

  private send(command: number, fields: { flags?: number; nrPages?: number; vaddr?: bigint; dstId?: bigint } = {}): void {
    const iov = encodeIov({ command, flags: fields.flags ?? 0, nrPages: fields.nrPages ?? 0, vaddr: fields.vaddr ?? 0n, dstId: fields.dstId ?? 0n });
    writeFully(this.fd, iov, this.name);
  }

  private receive(size: number, what: string): Buffer {
    const buf = Buffer.alloc(size);
    this.readExactly(buf, size, what, { closed: `instead of answering ${what}`, timeout: true });
    return buf;
  }

  /** Start sending pagemap-ID.img (or pagemap-shmem-ID.img); returns the server's has_parent answer. */
  open(kind: PagemapKind, id: number | bigint): boolean {
    this.dstId = encodeDstId(kind, id);
    this.send(PS_IOV.OPEN2, { dstId: this.dstId });
    return this.receive(1, 'PS_IOV_OPEN2')[0] !== 0;
  }

  /** Send one run: its header, then (PE_PRESENT) its nrPages pages from `source`. */
  addRun(run: ClientRun, source?: RunSource): void {
    if (this.dstId === undefined) throw new CriuError(`${this.name}: a run sent before any image was opened`, { code: 'EINVAL' });
    const length = run.nrPages * PAGE_SIZE;
    const present = (run.flags & PE_PRESENT) !== 0;
    if (present && source === undefined) throw new CriuError(`${this.name}: present run at 0x${run.vaddr.toString(16)} without its data`, { code: 'EINVAL' });
    this.send(PS_IOV.ADD_F, { flags: run.flags, nrPages: run.nrPages, vaddr: run.vaddr, dstId: this.dstId });
    if (!present || source === undefined) return;
    const sent = this.sendData(source, length);
    if (sent !== length) throw new CriuError(`${this.name}: run at 0x${run.vaddr.toString(16)}: only ${sent} of ${length} bytes of data were available`, { code: 'EIO' });
  }

  private sendData(source: RunSource, length: number): number {
    if ('data' in source) {
      writeFully(this.fd, source.data.subarray(0, length), this.name);
      return Math.min(length, source.data.length);
    }
    if ('file' in source) return copyFromFd(this.fd, source.file, source.offset, length, this.name);
    let done = 0;
    while (done < length) {
      const n = splice(source.pipe, null, this.fd, null, length - done, SPLICE_F_MOVE);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /**
   * The lazy-pages daemon's request (PS_IOV_GET): up to nrPages pages of
   * pid's memory from vaddr on, read into `into`. The server answers a
   * header (PS_IOV_ADD_F, the pages it has there, perhaps fewer) and the
   * data. Returns the pages received.
   */
  getPages(pid: number, vaddr: bigint, nrPages: number, into: Buffer): number {
    const dstId = encodeDstId('pagemap', pid);
    this.send(PS_IOV.GET, { nrPages, vaddr, dstId });
    const answer = decodeIov(this.receive(IOV_SIZE, 'PS_IOV_GET'));
    const where = `PS_IOV_GET of pid ${pid} at 0x${vaddr.toString(16)}`;
    if (answer.command !== PS_IOV.ADD_F || answer.vaddr !== vaddr || answer.dstId !== dstId || answer.nrPages === 0 || answer.nrPages > nrPages) {
      throw new CriuError(`${this.name}: bad answer to ${where}: ${commandName(answer.command)} of ${answer.nrPages} page(s) at 0x${answer.vaddr.toString(16)}`, { code: 'EPROTO' });
    }
    if (answer.nrPages * PAGE_SIZE > into.length) throw new CriuError(`${this.name}: ${where}: ${answer.nrPages} pages do not fit the buffer`, { code: 'EPROTO' });
    this.receiveInto(into, answer.nrPages * PAGE_SIZE, where);
    return answer.nrPages;
  }

  private receiveInto(buf: Buffer, size: number, what: string): void {
    this.readExactly(buf, size, what, { closed: `in the middle of ${what}`, timeout: false });
  }

  /** size bytes into buf; `closed` ends the message of a peer that hangs up; with `timeout`, EAGAIN (SO_RCVTIMEO) is a late answer. */
  private readExactly(buf: Buffer, size: number, what: string, how: { closed: string; timeout: boolean }): void {
    let done = 0;
    while (done < size) {
      let n: number;
      try {
        n = readSync(this.fd, buf, done, size - done, null);
      } catch (error) {
        const code = errnoOf(error);
        if (how.timeout && code === 'EAGAIN') throw new CriuError(`${this.name} did not answer ${what} in time`, { code: 'ETIMEDOUT', cause: error });
        throw new CriuError(`${this.name}: reading ${what} failed (${code ?? String(error)})`, { code: code ?? 'EIO', cause: error });
      }
      if (n === 0) throw new CriuError(`${this.name} closed the connection ${how.closed}`, { code: 'ECONNRESET' });
      done += n;
    }
  }

  /**
   * Ask the server to make everything sent durable and wait for its answer
   * (PS_IOV_FLUSH; PS_IOV_FLUSH_N_CLOSE when `andClose`, as over a
   * --ps-socket the server cannot see the connection close). Throws unless
   * the server reports success.
   */
  flush(andClose = false): void {
    this.send(andClose ? PS_IOV.FLUSH_N_CLOSE : PS_IOV.FLUSH);
    const status = this.receive(4, 'the flush').readInt32LE(0);
    if (status !== 0) throw new CriuError(`${this.name} failed to store the pages (status ${status})`, { code: 'EIO' });
  }

  /** Close the connection (the fd too, if the client opened it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}

/** A client on a connected fd it owns (closes it on close()). */
export function clientOnOwnedFd(fd: number, name: string, extra: () => void = () => undefined): PageServerClient {
  return new PageServerClient(fd, name, () => {
    try {
      closeSync(fd);
    } finally {
      extra();
    }
  });
}

// Writes a tar stream to an fd, synchronously, one member at a time, with
// memory bounded by a header block: member data comes from a Buffer (small
// images), from a file descriptor by sendfile(2) (images written before),
// or, for a member whose size is known up front, piece by piece while it is
// produced (beginMember / append / appendFromPipe by splice(2) /
// endMember: page data during `criu dump --stream`). Long names and sizes
// past 8 GiB get a pax extended header.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { basename } from 'node:path';
import { CriuError } from '@criu-ts/base';
import { copyFromFd, spliceFromPipe, writeFully } from './fd-output.js';
import { memberNameProblem } from './member-names.js';
import { BLOCK, MAX_OCTAL_SIZE, TYPE, encodeHeader, paxRecord } from './tar-header.js';

export interface TarWriterOptions {
  /** modification time of every member, seconds since the epoch (default: now) */
  mtime?: number;
  /** name of the stream in errors ('stream' by default) */
  name?: string;
}

const ZEROS = Buffer.alloc(BLOCK * 2);

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The member being written piece by piece. */
interface OpenMember {
  name: string;
  size: number;
  done: number;
}

export class TarWriter {
  private written = 0;
  private count = 0;
  private member: OpenMember | undefined;
  private finished = false;
  private readonly mtime: number;
  readonly name: string;

  constructor(
    readonly fd: number,
    options: TarWriterOptions = {},
  ) {
    this.mtime = options.mtime ?? Math.floor(Date.now() / 1000);
    this.name = options.name ?? 'stream';
  }

  /** Members begun so far. */
  get members(): number {
    return this.count;
  }

  /** Bytes written to the stream so far. */
  get offset(): number {
    return this.written;
  }

  private put(data: Uint8Array): void {
    writeFully(this.fd, data, this.name);
    this.written += data.length;
  }

  private header(name: string, size: number): void {
    if (this.finished) throw new CriuError(`${this.name}: member ${name} added after the end of the stream`, { code: 'EINVAL' });
    if (this.member !== undefined) throw new CriuError(`${this.name}: member ${name} added while ${this.member.name} is still being written`, { code: 'EINVAL' });
    const problem = memberNameProblem(name);
    if (problem !== undefined) throw new CriuError(`${this.name}: ${problem}`, { code: 'EINVAL' });
    const longName = Buffer.byteLength(name, 'utf8') > 100;
    const bigSize = size > MAX_OCTAL_SIZE;
    if (longName || bigSize) {
      const records = Buffer.from((longName ? paxRecord('path', name) : '') + (bigSize ? paxRecord('size', String(size)) : ''), 'utf8');
      const paxName = `PaxHeaders/${name}`.slice(0, 100);
      this.put(encodeHeader({ name: paxName, size: records.length, typeflag: TYPE.PAX, mode: 0o644, mtime: this.mtime }));
      this.put(records);
      this.put(ZEROS.subarray(0, padding(records.length)));
    }
    this.count += 1;
    const stored = { name: longName ? name.slice(0, 100) : name, size: bigSize ? 0 : size };
    this.put(encodeHeader({ ...stored, typeflag: TYPE.FILE, mode: 0o600, mtime: this.mtime }));
  }

  /** A member whose content is in memory (small images). */
  addBuffer(name: string, data: Uint8Array): void {
    this.header(name, data.length);
    this.put(data);
    this.put(ZEROS.subarray(0, padding(data.length)));
  }

  /** A member of `size` bytes read from `fd` at `offset` (kernel-side copy). */
  addFd(name: string, fd: number, size: number, offset = 0): void {
    this.header(name, size);
    const copied = copyFromFd(this.fd, fd, offset, size, this.name);
    this.written += copied;
    if (copied !== size) {
      throw new CriuError(`${this.name}: ${name} ended after ${copied} of ${size} bytes while being streamed`, { code: 'EIO' });
    }
    this.put(ZEROS.subarray(0, padding(size)));
  }

  /** A member from a file, under its base name unless `name` is given. */
  addFile(path: string, name: string = basename(path)): void {
    const fd = openSync(path, 'r');
    try {
      this.addFd(name, fd, fstatSync(fd).size);
    } finally {
      closeSync(fd);
    }
  }

  /** Start a member of exactly `size` bytes whose data follows through append/appendFromPipe, then endMember. */
  beginMember(name: string, size: number): void {
    this.header(name, size);
    this.member = { name, size, done: 0 };
  }

  private room(length: number): OpenMember {
    const member = this.member;
    if (member === undefined) throw new CriuError(`${this.name}: member data with no member begun`, { code: 'EINVAL' });
    if (member.done + length > member.size) {
      throw new CriuError(`${this.name}: ${member.name} would get ${member.done + length} of its ${member.size} bytes`, { code: 'EINVAL' });
    }
    return member;
  }

  /** The next bytes of the open member. */
  append(data: Uint8Array): void {
    const member = this.room(data.length);
    this.put(data);
    member.done += data.length;
  }

  /** The next `length` bytes of the open member, moved out of a pipe by splice(2). */
  appendFromPipe(pipeFd: number, length: number): void {
    const member = this.room(length);
    const moved = spliceFromPipe(this.fd, pipeFd, length, this.name);
    this.written += moved;
    member.done += moved;
    if (moved !== length) throw new CriuError(`${this.name}: ${member.name}: the pipe ran dry after ${moved} of ${length} bytes`, { code: 'EIO' });
  }

  /** Close the open member; it must have got exactly its size. */
  endMember(): void {
    const member = this.room(0);
    if (member.done !== member.size) throw new CriuError(`${this.name}: ${member.name} ended after ${member.done} of ${member.size} bytes`, { code: 'EIO' });
    this.put(ZEROS.subarray(0, padding(member.size)));
    this.member = undefined;
  }

  /** The end of the stream: two zero blocks. A stream without them is truncated. */
  finish(): void {
    if (this.finished) return;
    if (this.member !== undefined) throw new CriuError(`${this.name}: stream ended inside ${this.member.name}`, { code: 'EIO' });
    this.put(ZEROS);
    this.finished = true;
  }
}

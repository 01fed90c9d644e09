// --stream for criu-dump: one tar stream (@criu-ts/stream), one writer.
// Each task's pages image goes into it while the task is dumped (pageStream:
// the memory kind splices page data straight in); the small images are
// written into a private temporary directory (mode 0700, under $TMPDIR,
// removed in every case) and appended once the dump wrote them all, then
// the end marker, before the tree is killed. A reader that goes away
// (EPIPE) fails the dump, and the tree runs on.
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { UsageError, type Logger } from '@criu-ts/base';
import { SYS, trySyscall } from '@criu-ts/kernel';
import { TarWriter, finishImageStream } from '@criu-ts/stream';

export interface StreamOutput {
  /** where the dump writes its images */
  readonly imagesDir: string;
  /** the stream's fd (1 for stdout) */
  readonly fd: number;
  /** the stream's writer: pages images go in during the dump */
  readonly writer: TarWriter;
  /**
   * Append every image of imagesDir to the stream, end marker included.
   * drain: wait until the reader has taken everything (see drainOutput).
   */
  write(imagesDir: string, drain: boolean): void;
  /** Remove the temporary directory; after a failure, also a --stream-file made here. */
  close(failed: boolean): void;
}

export interface StreamTarget {
  file?: string;
  fd?: number;
}

function openTarget(target: StreamTarget): { fd: number; owned: boolean; name: string } {
  if (target.file !== undefined && target.fd !== undefined) throw new UsageError('--stream-file and --stream-fd cannot be used together');
  if (target.file !== undefined) return { fd: openSync(target.file, 'w', 0o600), owned: true, name: target.file };
  if (target.fd !== undefined) return { fd: target.fd, owned: false, name: `fd ${target.fd}` };
  if (isatty(1)) throw new UsageError('refusing to write a checkpoint stream to a terminal', { hint: 'redirect stdout, or give --stream-file FILE' });
  return { fd: 1, owned: false, name: 'stdout' };
}

const FIONREAD = 0x541b;
/** SIOCOUTQ: bytes in a socket's send queue not yet taken by the peer */
const SIOCOUTQ = 0x5411;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Page data reaches a pipe or socket by reference (vmsplice, then splice):
 * until the reader has taken it, a page still in the pipe is the task's
 * own memory. A tree that runs on (-R) could change it under the reader,
 * so with -R we wait until the output holds nothing unread. A reader that
 * goes away ends the wait (the pipe's unread bytes are dropped).
 */
function drainOutput(fd: number, name: string, log: Logger): void {
  const stat = fstatSync(fd);
  const request = stat.isFIFO() ? FIONREAD : stat.isSocket() ? SIOCOUTQ : undefined;
  if (request === undefined) return;
  const count = Buffer.alloc(4);
  for (let waited = 0; ; waited++) {
    const { errno } = trySyscall(SYS.ioctl, fd, request, count);
    if (errno !== 0 || count.readInt32LE(0) === 0) return;
    if (waited === 0) log.info(`--stream: waiting for ${name}'s reader to take the last ${count.readInt32LE(0)} bytes before the tree runs on`);
    Atomics.wait(sleeper, 0, 0, 2);
  }
}

/** Open the stream's destination and a private images directory for the dump. */
export function openStreamOutput(target: StreamTarget, log: Logger): StreamOutput {
  const out = openTarget(target);
  let imagesDir: string;
  try {
    imagesDir = mkdtempSync(join(tmpdir(), 'criu-dump-stream-'));
  } catch (error) {
    if (out.owned) {
      closeSync(out.fd);
      rmSync(target.file!, { force: true });
    }
    throw error;
  }
  log.info(`--stream: pages go straight to ${out.name}, the other images through ${imagesDir}`);
  const writer = new TarWriter(out.fd, { name: out.name });
  return {
    imagesDir,
    fd: out.fd,
    writer,
    write(dir, drain) {
      const during = { members: writer.members, bytes: writer.offset };
      const written = finishImageStream(writer, dir);
      if (drain) drainOutput(out.fd, out.name, log);
      log.info(`--stream: ${during.members} pages image(s), ${during.bytes} bytes streamed during the dump`);
      log.info(`--stream: appended from ${dir}: ${written.members.join(' ')}`);
      log.info(`--stream: ${writer.members} image(s), ${written.bytes} bytes written to ${out.name}`);
    },
    close(failed) {
      rmSync(imagesDir, { recursive: true, force: true });
      if (!out.owned) return;
      closeSync(out.fd);
      if (failed) rmSync(target.file!, { force: true });
    },
  };
}

// --stream for criu-dump: the dump writes its images into a private
// temporary directory (mode 0700, under $TMPDIR, removed in every case),
// then the whole directory goes out as one tar stream (@criu-ts/stream)
// before the tree is killed. A reader that goes away (EPIPE) fails the
// dump, and the tree runs on.
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { UsageError, type Logger } from '@criu-ts/base';
import { writeImageStream } from '@criu-ts/stream';

export interface StreamOutput {
  /** where the dump writes its images */
  readonly imagesDir: string;
  /** the stream's fd (1 for stdout) */
  readonly fd: number;
  /** Write every image of imagesDir to the stream, end marker included. */
  write(imagesDir: string): void;
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
  log.info(`--stream: images go through ${imagesDir}, the stream to ${out.name}`);
  return {
    imagesDir,
    fd: out.fd,
    write(dir) {
      const written = writeImageStream(dir, out.fd, { name: out.name });
      log.info(`--stream: ${written.members.length} image(s), ${written.bytes} bytes written to ${out.name}`);
    },
    close(failed) {
      rmSync(imagesDir, { recursive: true, force: true });
      if (!out.owned) return;
      closeSync(out.fd);
      if (failed) rmSync(target.file!, { force: true });
    },
  };
}

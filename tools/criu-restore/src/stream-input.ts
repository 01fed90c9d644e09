// --stream for criu-restore: the checkpoint comes as one tar stream on
// stdin (or from --stream-file / --stream-fd). It is extracted in full —
// end marker seen, inventory present — into a private temporary directory
// (mode 0700, under $TMPDIR) before any task is created, so a truncated or
// corrupted stream fails with nothing restored; the directory is removed
// once the restore is over, whatever happened. As the stream may come
// straight from a dump on this host (`criu dump --stream | criu restore
// --stream`), whose tree is killed only once the stream is written, the
// restore waits a bounded time for the dumped pids to be free.
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { UsageError, type Logger } from '@criu-ts/base';
import { flag, int, text } from '@criu-ts/cli';
import { readEntries } from '@criu-ts/images';
import { extractImageStream } from '@criu-ts/stream';

/** How long a restore from a stream waits for the dumped tree's pids to be freed. */
const PIDS_FREE_TIMEOUT_MS = 10_000;

export const streamSourceOptions = {
  stream: flag('read the whole checkpoint as one stream (a tar of the images, as criu-dump --stream writes it) from stdin, or from --stream-file / --stream-fd'),
  'stream-file': text('with --stream: read the stream from FILE instead of stdin', { argName: 'FILE' }),
  'stream-fd': int('with --stream: read the stream from this open fd instead of stdin', { argName: 'FD', min: 0 }),
} as const;

export interface StreamSource {
  file?: string;
  fd?: number;
}

export interface ExtractedStream {
  /** the images, extracted */
  dir: string;
  /** Remove the directory. */
  remove(): void;
}

function openSource(source: StreamSource): { fd: number; owned: boolean; name: string } {
  if (source.file !== undefined && source.fd !== undefined) throw new UsageError('--stream-file and --stream-fd cannot be used together');
  if (source.file !== undefined) return { fd: openSync(source.file, 'r'), owned: true, name: source.file };
  if (source.fd !== undefined) return { fd: source.fd, owned: false, name: `fd ${source.fd}` };
  if (isatty(0)) throw new UsageError('--stream reads the checkpoint from stdin, which is a terminal', { hint: 'pipe a stream in, or give --stream-file FILE' });
  return { fd: 0, owned: false, name: 'stdin' };
}

/** Read the whole stream into a private directory; throws (leaving nothing behind) if it is not a complete checkpoint. */
export async function extractStream(source: StreamSource, log: Logger): Promise<ExtractedStream> {
  const input = openSource(source);
  const dir = mkdtempSync(join(tmpdir(), 'criu-restore-stream-'));
  try {
    // read from the fd itself: member data goes into its file by splice, not through JS
    const members = await extractImageStream(input.fd, dir, { name: input.name, sync: false }); // a private dir, read once
    const bytes = members.reduce((sum, member) => sum + member.size, 0);
    log.info(`--stream: ${members.length} image(s), ${bytes} bytes read from ${input.name} into ${dir}`);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    if (input.owned) closeSync(input.fd);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Wait (bounded) until no pid or tid of the checkpoint exists here; the restore then reports any still taken. */
export async function waitForPidsFree(dir: string, log: Logger, timeoutMs = PIDS_FREE_TIMEOUT_MS): Promise<void> {
  const ids = [...new Set(readEntries(dir, 'pstree').flatMap((entry) => [entry.pid, ...(entry.threads ?? [])]))];
  const taken = (): number[] => ids.filter((id) => existsSync(`/proc/${id}`));
  if (taken().length === 0) return;
  log.info(`--stream: waiting up to ${timeoutMs} ms for pid(s) ${taken().join(', ')} to be freed (the dumped tree is still exiting?)`);
  for (const end = Date.now() + timeoutMs; taken().length > 0 && Date.now() < end; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

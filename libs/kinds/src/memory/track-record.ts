// criu-ts-mem-track.json in an images directory: for each task armed by
// that run, the fd number its memory tracker (dirty-track.ts) was left
// at. The next run, given this directory as its parent, trusts a task's
// tracking only if a userfaultfd sits at exactly that number; the number
// changes at every arming, so an older parent never matches. Not a CRIU
// image: upstream ignores the file. Written 0600 and fsynced.
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ImageError } from '@criu-ts/base';

export const TRACK_RECORD = 'criu-ts-mem-track.json';

interface RecordFile {
  version: 1;
  trackers: { pid: number; fd: number }[];
}

function isRecordFile(value: unknown): value is RecordFile {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<RecordFile>;
  return v.version === 1 && Array.isArray(v.trackers) && v.trackers.every((t) => Number.isInteger(t?.pid) && Number.isInteger(t?.fd) && t.fd >= 0);
}

/** pid → tracker fd, as the run that wrote dir left them; empty if dir has no record. */
export function readTrackRecord(dir: string): Map<number, number> {
  let text: string;
  try {
    text = readFileSync(join(dir, TRACK_RECORD), 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return new Map();
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ImageError(`not JSON: ${String(error)}`, { image: join(dir, TRACK_RECORD), offset: 0 });
  }
  if (!isRecordFile(parsed)) throw new ImageError('not a memory-tracker record', { image: join(dir, TRACK_RECORD), offset: 0 });
  return new Map(parsed.trackers.map((t) => [t.pid, t.fd]));
}

export function writeTrackRecord(dir: string, trackers: ReadonlyMap<number, number>): void {
  const record: RecordFile = { version: 1, trackers: [...trackers].map(([pid, fd]) => ({ pid, fd })) };
  const fd = openSync(join(dir, TRACK_RECORD), 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

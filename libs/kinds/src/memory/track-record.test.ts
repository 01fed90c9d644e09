import t from 'tap';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRACK_RECORD, readTrackRecord, writeTrackRecord } from './track-record.js';

const dir = mkdtempSync(join(tmpdir(), 'kinds-track-record-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('round trip, 0600; no file is no trackers', async (t) => {
  t.same(readTrackRecord(dir), new Map(), 'absent: empty');
  writeTrackRecord(dir, new Map([[42, 19936], [43, 1000]]));
  t.same(readTrackRecord(dir), new Map([[42, 19936], [43, 1000]]));
  t.equal(statSync(join(dir, TRACK_RECORD)).mode & 0o777, 0o600);
});

t.test('a damaged record is an error naming the file', async (t) => {
  writeFileSync(join(dir, TRACK_RECORD), '{"version":1,"trackers":[{"pid":1,"fd":-3}]}');
  t.throws(() => readTrackRecord(dir), /not a memory-tracker record/);
  writeFileSync(join(dir, TRACK_RECORD), 'nope');
  t.throws(() => readTrackRecord(dir), /not JSON/);
});

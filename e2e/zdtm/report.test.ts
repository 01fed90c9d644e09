// The zdtm runner's report reading and comparison, on captured TAP text.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTapReport, readList, summarize } from './report.js';

const TAP = `TAP version 13
# Hardware architecture: x86_64
# Timestamp: 2026-12-02 13:40 (GMT+1)
#
1..5
ok 1 - zdtm/static/env00
not ok 2 - zdtm/static/cow00 # flavor h
ok 3 - zdtm/static/tun # SKIP no tun feature
ok 4 - zdtm/static/socket-tcp # flavor h
ok 5 - zdtm/static/maps00  # SKIP manual run only
`;

t.test('TAP lines become verdicts; comments and the plan are not tests', async (t) => {
  t.same(parseTapReport(TAP), [
    { test: 'static/env00', result: 'pass' },
    { test: 'static/cow00', result: 'fail' },
    { test: 'static/tun', result: 'skip', reason: 'no tun feature' },
    { test: 'static/socket-tcp', result: 'pass' },
    { test: 'static/maps00', result: 'skip', reason: 'manual run only' },
  ]);
  t.same(parseTapReport(''), []);
});

t.test('lists: one test a line, comments skipped, reasons carried', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-zdtm-list-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'l.txt'), '# header\n# reason: TCP (issue #12)\nstatic/socket-tcp\n\n# reason: cgroups\nstatic/cgroup00\n');
  t.same([...readList('l.txt', dir)], [['static/socket-tcp', 'TCP (issue #12)'], ['static/cgroup00', 'cgroups']]);
});

t.test('the summary counts what upstream passes, less the other issues, among the tests run', async (t) => {
  const upstream = new Set(['static/env00', 'static/cow00', 'static/maps00', 'static/socket-tcp', 'static/not-run']);
  const others = new Map([['static/socket-tcp', 'TCP']]);
  const s = summarize(parseTapReport(TAP), upstream, others);
  t.same(s.passed, ['static/env00', 'static/socket-tcp']);
  t.same(s.failed, ['static/cow00']);
  t.same(s.skipped.map((x) => x.test), ['static/tun', 'static/maps00']);
  t.equal(s.inScope, 3, 'env00, cow00, maps00: socket-tcp is another issue, not-run was not asked for');
  t.same(s.inScopeMissing, ['static/cow00', 'static/maps00'], 'a skip of a test upstream passes is not a pass');
});

t.test('the lists kept in the repo parse, and no test is in both', async (t) => {
  const upstream = readList('upstream-pass-h.txt');
  const others = readList('other-issues.txt');
  t.ok(upstream.size > 200, `upstream passes ${upstream.size} static tests here`);
  t.ok([...others.keys()].every((k) => k.startsWith('static/')));
  t.ok([...others.values()].every((reason) => /issue #\d+/.test(reason)), 'every other-issue test names its issue');
});

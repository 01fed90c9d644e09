// criu restore's --action-script stages, in criu(8)'s order, with the root
// pid in the environment; a failing post-restore script aborts the restore
// and leaves no task; stats-restore is written and crit reads it.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, runRestore, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

t.test('restore action scripts and stats-restore', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), ['8']);
  waitOutput(out, /ready/);
  const images = join(dir, 'img');
  mkdirSync(images);
  const dump = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '-D', images, '-o', 'dump.log'], { timeout: 60_000 });
  t.equal(dump.status, 0, 'dumped');
  killAndReap(pid);
  waitFor('the dumped task to be gone', () => !alive(pid));
  t.teardown(() => killAndReap(pid));

  const record = join(dir, 'actions');
  const script = join(dir, 'record.sh');
  writeFileSync(script, `#!/bin/sh\necho "$CRTOOLS_SCRIPT_ACTION $CRTOOLS_INIT_PID" >> "${record}"\n[ "$CRTOOLS_SCRIPT_ACTION" = post-restore ] && [ -e "${dir}/fail" ] && exit 3\nexit 0\n`);
  chmodSync(script, 0o755);

  writeFileSync(join(dir, 'fail'), '');
  const failed = runRestore(out, ['-D', images, '-d', '--action-script', script, '-o', 'failed.log']);
  t.not(failed, 0, 'a failing post-restore script fails the restore');
  t.notOk(alive(pid), 'and no task is left');
  t.match(readFileSync(join(images, 'failed.log'), 'utf8'), /Error/);

  execFileSync('rm', ['-f', join(dir, 'fail'), record]);
  t.equal(runRestore(out, ['-D', images, '-d', '--action-script', script, '-o', 'restore.log']), 0, 'restored');
  t.same(readFileSync(record, 'utf8').trim().split('\n'), ['pre-restore', 'post-restore', 'pre-resume', 'post-resume'].map((a) => `${a} ${pid}`), 'every stage, in order, with the root pid');
  t.ok(existsSync(join(images, 'stats-restore')), 'stats-restore written');
  const stats = JSON.parse(execFileSync('/usr/bin/crit', ['decode', '-i', join(images, 'stats-restore')], { encoding: 'utf8' })) as { entries: { restore: { pages_restored: number } }[] };
  t.ok(stats.entries[0]!.restore.pages_restored > 2048, 'pages_restored counts the 8 MiB');
  t.end();
});

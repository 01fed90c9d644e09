import t from 'tap';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriuError, createLogger } from '@criu-ts/base';
import { runActionScript } from './action-scripts.js';
import { openLog } from './log-setup.js';
import { tempDir } from './test-tool.js';

const rm = (path: string): void => rmSync(path, { recursive: true, force: true });

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

t.test('scripts see the action, the images dir and the init pid, in order', async (t) => {
  const dir = tempDir(t, rm);
  const out = join(dir, 'seen');
  const first = script(dir, 'first.sh', `echo "first $CRTOOLS_SCRIPT_ACTION $CRTOOLS_IMAGE_DIR $CRTOOLS_INIT_PID $EXTRA" >> ${out}`);
  const second = script(dir, 'second.sh', `echo "second $CRTOOLS_SCRIPT_ACTION" >> ${out}; echo "to the log"`);
  const log = openLog({ logFile: 'log', workDir: dir, level: 4, logPid: false, where: 'criu' });
  t.teardown(() => log.close());
  const ctx = { options: { actionScript: [first, second] }, imagesDir: '/imgs', log: log.logger, env: { PATH: process.env.PATH } };
  await runActionScript(ctx, 'post-dump', { initPid: 4242, env: { EXTRA: 'x' } });
  await runActionScript(ctx, 'pre-dump');
  t.equal(readFileSync(out, 'utf8'), 'first post-dump /imgs 4242 x\nsecond post-dump\nfirst pre-dump /imgs  \nsecond pre-dump\n');
  t.match(readFileSync(join(dir, 'log'), 'utf8'), /Running post-dump scripts[\s\S]*to the log\n/, "the script's output goes to the log");
});

t.test('a script that fails fails the stage, after every script ran', async (t) => {
  const dir = tempDir(t, rm);
  const out = join(dir, 'ran');
  const bad = script(dir, 'bad.sh', 'exit 3');
  const good = script(dir, 'good.sh', `echo ran > ${out}`);
  const logger = createLogger({ fd: 2, level: 0, withPid: false, start: process.hrtime.bigint() }, 'criu');
  const ctx = { options: { actionScript: [bad, good, join(dir, 'missing.sh')] }, imagesDir: dir, log: logger, env: {} };
  await t.rejects(runActionScript(ctx, 'pre-restore'), CriuError);
  await t.rejects(runActionScript(ctx, 'pre-restore'), /pre-restore action script failed: .*bad\.sh exited with 3; .*missing\.sh could not run/);
  t.equal(readFileSync(out, 'utf8'), 'ran\n');
  await t.resolves(runActionScript({ ...ctx, options: { actionScript: [] } }, 'pre-dump'), 'no scripts: nothing to do');
});

import t from 'tap';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SyscallError } from '@criu-ts/base';
import { openLog } from './log-setup.js';
import { writePidfile } from './pidfile.js';
import { tempDir } from './test-tool.js';

const rm = (path: string): void => rmSync(path, { recursive: true, force: true });

t.test('the pid goes to FILE relative to the work dir, 0600, no newline', async (t) => {
  const dir = tempDir(t, rm);
  const path = writePidfile({ options: { pidfile: 'root.pid' }, workDir: dir }, 4242);
  t.equal(path, join(dir, 'root.pid'));
  t.equal(readFileSync(join(dir, 'root.pid'), 'utf8'), '4242');
  t.equal(statSync(join(dir, 'root.pid')).mode & 0o777, 0o600);
  t.equal(writePidfile({ options: { pidfile: undefined }, workDir: dir }, 1), undefined, 'no --pidfile, nothing written');
});

t.test('an existing pidfile is an error, as criu (O_EXCL)', async (t) => {
  const dir = tempDir(t, rm);
  writePidfile({ options: { pidfile: 'p' }, workDir: dir }, 1);
  t.throws(() => writePidfile({ options: { pidfile: 'p' }, workDir: dir }, 2), SyscallError);
  t.throws(() => writePidfile({ options: { pidfile: 'p' }, workDir: dir }, 2), /open pidfile .*\/p: .*\(EEXIST\)/);
  t.equal(readFileSync(join(dir, 'p'), 'utf8'), '1');
});

t.test("log file '-' and no log file both mean stderr", async (t) => {
  const dash = openLog({ logFile: '-', workDir: '/nonexistent', level: 2, logPid: false, where: 'criu' });
  t.equal(dash.logger.sink.fd, 2);
  t.equal(dash.path, undefined);
  const none = openLog({ logFile: undefined, workDir: '/nonexistent', level: 2, logPid: false, where: 'criu' });
  t.equal(none.logger.sink.fd, 2);
});

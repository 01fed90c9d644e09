import t from 'tap';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriuError, UsageError } from '@criu-ts/base';
import { runTestTool, tempDir } from './test-tool.js';

const rm = (path: string): void => rmSync(path, { recursive: true, force: true });

/** a work area with a fake /etc file, a HOME and an env file, each setting `root` to its own name */
function configWorld(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t, rm);
  const globalConf = join(dir, 'etc-default.conf');
  const home = join(dir, 'home');
  mkdirSync(join(home, '.criu'), { recursive: true });
  writeFileSync(globalConf, 'root /from-global\ntcp-established\nexternal mnt[g]\n');
  writeFileSync(join(home, '.criu', 'default.conf'), 'root /from-home\nexternal mnt[h]\n');
  writeFileSync(join(dir, 'env.conf'), 'root /from-env\nexternal mnt[e]\n');
  writeFileSync(join(dir, 'option.conf'), 'root /from-option\nno-tcp-established\nexternal mnt[o]\n');
  const setup = (env: Record<string, string> = {}) => ({ cwd: dir, globalConfigPath: globalConf, env: { HOME: home, ...env } });
  return { dir, setup };
}

t.test('precedence: /etc < $HOME < $CRIU_CONFIG_FILE < command line', async (t) => {
  const world = configWorld(t);
  let run = await runTestTool(['-o', 'log'], world.setup());
  t.equal(run.ctx?.options.root, '/from-home');
  t.equal(run.ctx?.options.tcpEstablished, true, 'from /etc');
  t.same(run.ctx?.options.external, ['mnt[g]', 'mnt[h]'], 'repeatable options accumulate across files');
  run = await runTestTool(['-o', 'log'], world.setup({ CRIU_CONFIG_FILE: 'env.conf' }));
  t.equal(run.ctx?.options.root, '/from-env');
  t.same(run.ctx?.options.external, ['mnt[g]', 'mnt[h]', 'mnt[e]']);
  run = await runTestTool(['-o', 'log', '-r', '/from-cli', '--no-tcp-established'], world.setup({ CRIU_CONFIG_FILE: 'env.conf' }));
  t.equal(run.ctx?.options.root, '/from-cli');
  t.equal(run.ctx?.options.tcpEstablished, false, '--no- on the command line beats the config file');
});

t.test('--config FILE: read after $CRIU_CONFIG_FILE, and instead of the default files (as criu)', async (t) => {
  const world = configWorld(t);
  const run = await runTestTool(['-o', 'log', '--config', 'option.conf'], world.setup({ CRIU_CONFIG_FILE: 'env.conf' }));
  t.equal(run.ctx?.options.root, '/from-option');
  t.same(run.ctx?.options.external, ['mnt[e]', 'mnt[o]']);
  t.equal(run.ctx?.options.tcpEstablished, false);
  const cli = await runTestTool(['-o', 'log', '--config=option.conf', '--tcp-established', '-r', '/cli'], world.setup());
  t.equal(cli.ctx?.options.tcpEstablished, true, 'the command line beats --config');
  t.equal(cli.ctx?.options.root, '/cli');
  const missing = await runTestTool(['--config', 'nope.conf'], world.setup());
  t.equal(missing.code, 1);
  t.match(missing.stderr, /cannot read config file .*nope\.conf: ENOENT/);
  t.equal(missing.ctx, undefined, 'nothing was run');
});

t.test('--no-default-config skips /etc and $HOME, not $CRIU_CONFIG_FILE (as criu)', async (t) => {
  const world = configWorld(t);
  let run = await runTestTool(['-o', 'log', '--no-default-config'], world.setup());
  t.equal(run.ctx?.options.root, undefined);
  t.equal(run.ctx?.options.tcpEstablished, false);
  run = await runTestTool(['-o', 'log', '--no-default-config'], world.setup({ CRIU_CONFIG_FILE: 'env.conf' }));
  t.equal(run.ctx?.options.root, '/from-env');
});

t.test('a bad config line: usage error naming file:line, exit 1, nothing run', async (t) => {
  const world = configWorld(t);
  writeFileSync(join(world.dir, 'bad.conf'), 'tcp-established\n# fine\nfrobnicate\n');
  const run = await runTestTool(['--config', 'bad.conf'], world.setup());
  t.equal(run.code, 1);
  t.match(run.stderr, /^criu-test: .*bad\.conf:3: unknown option --frobnicate\n/);
  t.match(run.stderr, /Try 'criu-test --help'/);
  t.equal(run.ctx, undefined);
  writeFileSync(join(world.dir, 'cmd.conf'), 'restore\n');
  const cmd = await runTestTool(['--config', 'cmd.conf'], world.setup());
  t.match(cmd.stderr, /cmd\.conf:1: 'restore' is a command/);
  const help = await runTestTool(['--config', 'bad.conf', '--help'], world.setup());
  t.equal(help.code, 0, '--help works even with a broken config, as criu');
  t.match(help.stdout, /^Usage: criu-test/);
});

t.test('--no- negation from a config file, last one wins', async (t) => {
  const world = configWorld(t);
  writeFileSync(join(world.dir, 'neg.conf'), 'shell-job\nno-shell-job\nleave-running\n');
  const run = await runTestTool(['-o', 'log', '--config', 'neg.conf', '--no-leave-running'], world.setup());
  t.equal(run.ctx?.options.shellJob, false);
  t.equal(run.ctx?.options.leaveRunning, false);
});

t.test('directories: images dir default ., work dir defaults to the images dir', async (t) => {
  const dir = tempDir(t, rm);
  mkdirSync(join(dir, 'imgs'));
  mkdirSync(join(dir, 'work'));
  let run = await runTestTool(['-o', 'log'], { cwd: dir });
  t.equal(run.ctx?.imagesDir, dir);
  t.equal(run.ctx?.workDir, dir);
  run = await runTestTool(['-D', 'imgs', '-o', 'log'], { cwd: dir });
  t.equal(run.ctx?.workDir, join(dir, 'imgs'));
  run = await runTestTool(['-D', 'imgs', '-W', 'work', '-o', 'log'], { cwd: dir });
  t.equal(run.ctx?.imagesDir, join(dir, 'imgs'));
  t.equal(run.ctx?.workDir, join(dir, 'work'));
});

t.test('the log file: relative to the work dir, 0600, truncated; levels and format', async (t) => {
  const dir = tempDir(t, rm);
  mkdirSync(join(dir, 'work'));
  const path = join(dir, 'work', 'x.log');
  writeFileSync(path, 'old content that must go\n'.repeat(10));
  const say = (ctx: Parameters<Parameters<typeof runTestTool>[2] & object>[0]): void => {
    ctx.log.error('bad');
    ctx.log.warn('hmm');
    ctx.log.info('hello');
    ctx.log.child('vma').debug('deep');
  };
  await runTestTool(['-W', 'work', '-o', 'x.log'], { cwd: dir }, say);
  t.equal(readFileSync(path, 'utf8'), 'Error (criu): bad\nWarn  (criu): hmm\n', 'default level 2: errors and warnings, no timestamps');
  await runTestTool(['-W', 'work', '-o', 'x.log', '-vvv'], { cwd: dir }, say);
  const lines = readFileSync(path, 'utf8').split('\n');
  t.match(lines, [/^\(\d\d\.\d{6}\) Error \(criu\): bad$/, /^\(\d\d\.\d{6}\) Warn  \(criu\): hmm$/, /^\(\d\d\.\d{6}\) criu: hello$/, /^\(\d\d\.\d{6}\) criu\/vma: deep$/, /^$/]);
  await runTestTool(['-W', 'work', '-o', 'x.log', '--verbosity=0'], { cwd: dir }, say);
  t.equal(readFileSync(path, 'utf8'), '');
  await runTestTool(['-W', 'work', '-o', 'x.log', '-v1'], { cwd: dir }, say);
  t.equal(readFileSync(path, 'utf8'), 'Error (criu): bad\n');
  rmSync(path);
  await runTestTool(['-W', 'work', '-o', 'x.log'], { cwd: dir }, say);
  t.equal(statSync(path).mode & 0o777, 0o600);
});

t.test('errors map to exit codes', async (t) => {
  const dir = tempDir(t, rm);
  const failing = await runTestTool(['-o', 'log'], { cwd: dir }, () => {
    throw new CriuError('pid 42: gone', { exitCode: 3, hint: 'is it running?' });
  });
  t.equal(failing.code, 3);
  t.equal(failing.stderr, '', 'with a log file, the error goes to the log only (as criu)');
  t.equal(readFileSync(join(dir, 'log'), 'utf8'), 'Error (criu): pid 42: gone\nError (criu): hint: is it running?\n');
  const usage = await runTestTool(['-o', 'log'], { cwd: dir }, () => {
    throw new UsageError('-t is required');
  });
  t.equal(usage.code, 1);
  t.match(usage.stderr, /^criu-test: -t is required\nTry 'criu-test --help'/);
  const internal = await runTestTool(['-o', 'log'], { cwd: dir }, () => {
    throw new TypeError('oops');
  });
  t.equal(internal.code, 1);
  t.match(readFileSync(join(dir, 'log'), 'utf8'), /^Error \(criu\): internal error: TypeError: oops\n\s+at /);
  const nolog = await runTestTool(['-W', 'missing-dir', '-o', 'x.log'], { cwd: dir });
  t.equal(nolog.code, 1);
  t.match(nolog.stderr, /^Error \(criu\): open log file .*missing-dir\/x\.log: No such file or directory \(ENOENT\)/);
  t.equal(nolog.ctx, undefined);
});

t.test('help, version, positionals', async (t) => {
  const dir = tempDir(t, rm);
  const help = await runTestTool(['-h'], { cwd: dir });
  t.equal(help.code, 0);
  t.match(help.stdout, /-t, --tree N/);
  t.match(help.stdout, /Common options:[\s\S]*-v, --verbosity\[=N\][\s\S]*--action-script SCRIPT/);
  const version = await runTestTool(['--version'], { cwd: dir });
  t.match(version.stdout, /^Version: \d+\.\d+\nGitID: criu-ts-\d+\.\d+\.\d+/);
  const mode = await runTestTool(['b', '-o', 'log'], { cwd: dir });
  t.equal(mode.ctx?.args.mode, 'b');
  const bad = await runTestTool(['c'], { cwd: dir });
  t.match(bad.stderr, /'c' is not a valid mode/);
  const extra = await runTestTool(['a', 'b'], { cwd: dir });
  t.match(extra.stderr, /excessive parameter: b/);
});

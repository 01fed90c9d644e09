// The umbrella's pass-through, against stand-in tools in a temp dir
// (CRIU_TS_TOOLS_DIR), so what reaches the tool can be seen exactly.
import t from 'tap';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const umbrella = fileURLToPath(new URL('../bin/criu', import.meta.url));

function toolsDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'criu-umbrella-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = (name: string, body: string): void => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  // prints each argument on its own line, between brackets, then exits with $FAKE_EXIT
  const echo = `echo "$(basename "$0")"; for a in "$@"; do echo "[$a]"; done; exit \${FAKE_EXIT:-0}`;
  for (const tool of ['criu-dump', 'criu-restore', 'criu-cpuinfo', 'criu-service', 'criu-check']) fake(tool, echo);
  // says whether it runs under criu-launcher (its parent, which named its channel)
  fake('criu-launched', `[ -n "\${CRIU_TS_SIBLING_FD-}" ] && echo "launched $(cat /proc/$PPID/comm) $CRIU_TS_SIBLING_FD" || echo direct; exit \${FAKE_EXIT:-0}`);
  fake('criu-page-server', 'cat');
  fake('criu-lazy-pages', `kill -\${FAKE_SIGNAL} $$`);
  fake('criu-dedup', `trap 'echo got TERM; exit 42' TERM; echo ready; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 5`);
  return dir;
}

function criu(dir: string, args: string[], extra: { env?: Record<string, string>; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(umbrella, args, {
    encoding: 'utf8',
    timeout: 20_000,
    input: extra.input,
    env: { ...process.env, CRIU_TS_TOOLS_DIR: dir, ...extra.env },
  });
}

t.test('arguments pass through unchanged, exit status comes back', async (t) => {
  const dir = toolsDir(t);
  const run = criu(dir, ['dump', '-t', '1', '--action-script', 'a b', 'it"s', "'q'", '', '--', '-x'], { env: { FAKE_EXIT: '7' } });
  t.equal(run.status, 7);
  t.equal(run.stdout, 'criu-dump\n[-t]\n[1]\n[--action-script]\n[a b]\n[it"s]\n[\'q\']\n[]\n[--]\n[-x]\n');
  t.equal(criu(dir, ['restore', '-d']).stdout, 'criu-restore\n[-d]\n');
  t.equal(criu(dir, ['check']).status, 0);
});

t.test('commands that map to a mode of a tool', async (t) => {
  const dir = toolsDir(t);
  t.equal(criu(dir, ['pre-dump', '-t', '1']).stdout, 'criu-dump\n[pre-dump]\n[-t]\n[1]\n');
  t.equal(criu(dir, ['cpuinfo', 'dump']).stdout, 'criu-cpuinfo\n[dump]\n');
  t.equal(criu(dir, ['cpuinfo', 'check', '-D', 'x']).stdout, 'criu-cpuinfo\n[check]\n[-D]\n[x]\n');
  t.equal(criu(dir, ['service', '--address', '/s']).stdout, 'criu-service\n[--address]\n[/s]\n');
  t.equal(criu(dir, ['swrk', '3']).stdout, 'criu-service\n[swrk]\n[3]\n');
  t.equal(criu(dir, ['-v4', '-D', '/i', 'dump', '-t', '1']).stdout, 'criu-dump\n[-v4]\n[-D]\n[/i]\n[-t]\n[1]\n', 'options before the command move after it');
});

t.test('stdin and stdout are the caller\'s', async (t) => {
  const dir = toolsDir(t);
  const run = criu(dir, ['page-server'], { input: 'pages\x00and\nbytes' });
  t.equal(run.stdout, 'pages\x00and\nbytes');
});

t.test('a tool killed by a signal: the umbrella dies of the same signal', async (t) => {
  const dir = toolsDir(t);
  for (const signal of ['SIGTERM', 'SIGUSR1', 'SIGPIPE', 'SIGSEGV'] as const) {
    const run = criu(dir, ['lazy-pages'], { env: { FAKE_SIGNAL: signal.slice(3) } });
    t.equal(run.signal, signal, signal);
    t.equal(run.status, null);
  }
});

t.test('SIGTERM to the umbrella reaches the running tool', async (t) => {
  const dir = toolsDir(t);
  const child = spawn(umbrella, ['dedup'], { env: { ...process.env, CRIU_TS_TOOLS_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  const ended = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tool not ready: ${out}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGTERM');
  const end = await Promise.race([ended, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit')), 20_000))]);
  t.same(end, { code: 42, signal: null }, 'the tool handled TERM and its exit status came back');
  t.match(out, /got TERM/);
});

t.test('swrk and restore -S run under criu-launcher; the rest are exec\'d', async (t) => {
  const dir = toolsDir(t);
  for (const tool of ['criu-service', 'criu-restore', 'criu-dump']) writeFileSync(join(dir, tool), readFileSync(join(dir, 'criu-launched')));
  const launched = /^launched criu-launcher \d+\n$/;
  t.match(criu(dir, ['swrk', '3']).stdout, launched, 'swrk');
  for (const args of [['-S'], ['-d', '-S'], ['-dS'], ['-jdS', '-D', 'x'], ['--restore-sibling', '-d'], ['-v4', 'restore', '-dS']]) {
    t.match(criu(dir, args[0] === '-v4' ? args : ['restore', ...args]).stdout, launched, `restore ${args.join(' ')}`);
  }
  for (const args of [['-d'], ['-oS'], ['-DS'], ['--', '-S'], ['-v4S']]) t.equal(criu(dir, ['restore', ...args]).stdout, 'direct\n', `restore ${args.join(' ')}`);
  t.equal(criu(dir, ['dump', '-S']).stdout, 'direct\n', 'not for other commands');
  const failed = criu(dir, ['swrk', '3'], { env: { FAKE_EXIT: '9' } });
  t.equal(failed.status, 9, 'the exit status comes back through the launcher');
});

t.test('help, version, deprecated and unknown commands', async (t) => {
  const dir = toolsDir(t);
  const help = criu(dir, ['--help']);
  t.equal(help.status, 0);
  for (const command of ['dump', 'pre-dump', 'restore', 'lazy-pages', 'check', 'page-server', 'service', 'swrk', 'dedup', 'cpuinfo dump', 'cpuinfo check', 'exec']) {
    t.match(help.stdout, new RegExp(`^  ${command}( FD)? +\\S.*$`, 'm'), `--help lists ${command}`);
  }
  t.equal(criu(dir, ['-h']).stdout, help.stdout);
  const version = criu(dir, ['-V']);
  t.equal(version.status, 0);
  t.match(version.stdout, /^Version: \d+\.\d+\nGitID: criu-ts-\d+\.\d+\.\d+/);
  const exec = criu(dir, ['exec', '-t', '1', 'getpid']);
  t.not(exec.status, 0);
  t.match(exec.stderr, /"exec" action is deprecated by the Compel library/);
  const unknown = criu(dir, ['frobnicate']);
  t.equal(unknown.status, 1);
  t.match(unknown.stderr, /^criu: unknown command: frobnicate/);
  const none = criu(dir, []);
  t.equal(none.status, 1);
  t.match(none.stderr, /^criu: command is required/);
  const optionsOnly = criu(dir, ['-v4']);
  t.equal(optionsOnly.status, 1);
});

t.test('a missing tool is reported, not a crash', async (t) => {
  const dir = toolsDir(t);
  rmSync(join(dir, 'criu-restore'));
  const run = criu(dir, ['restore']);
  t.equal(run.status, 1);
  t.match(run.stderr, /criu: criu-restore is not installed/);
});

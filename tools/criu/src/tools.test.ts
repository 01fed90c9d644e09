// Every real tool, run by its workspace path: --help works, bad options are
// usage errors, and the umbrella reaches the real tools.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const toolsRoot = fileURLToPath(new URL('../../', import.meta.url));
const tools = ['criu-dump', 'criu-restore', 'criu-check', 'criu-page-server', 'criu-lazy-pages', 'criu-dedup', 'criu-cpuinfo', 'criu-service'];

function run(tool: string, args: string[], cwd?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: '/nonexistent', CRIU_CONFIG_FILE: '' };
  delete env.CRIU_TS_TOOLS_DIR;
  return spawnSync(process.execPath, [join(toolsRoot, tool, 'dist', 'main.cjs'), ...args], { encoding: 'utf8', timeout: 20_000, cwd, env });
}

for (const tool of tools) {
  t.test(`${tool}: --help, -V, a bad option`, async (t) => {
    const help = run(tool, ['--help']);
    t.equal(help.status, 0);
    t.match(help.stdout, new RegExp(`^Usage: ${tool}`));
    t.match(help.stdout, /Common options:/);
    t.equal(help.stderr, '');
    t.equal(run(tool, ['-V']).status, 0);
    const bad = run(tool, ['--no-such-option']);
    t.equal(bad.status, 1);
    t.match(bad.stderr, new RegExp(`^${tool}: unknown option --no-such-option\\n`));
    t.equal(bad.stdout, '');
  });
}

t.test('the tools parse, then fail plainly (exit 1), in the log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-tools-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lazy = run('criu-lazy-pages', ['-o', 'lazy-pages.log', '-D', dir]);
  t.equal(lazy.status, 1);
  t.equal(lazy.stderr, '');
  t.equal(readFileSync(join(dir, 'lazy-pages.log'), 'utf8'), `Error (criu): ${dir}/inventory.img is missing: is ${dir} a dump?\n`);
  const dash = run('criu-lazy-pages', ['-o', '-'], dir);
  t.equal(dash.status, 1);
  t.equal(dash.stdout, '', 'never the log on stdout');
  t.equal(dash.stderr, `Error (criu): ${dir}/inventory.img is missing: is ${dir} a dump?\n`);
  t.match(run('criu-dump', []).stderr, /-t\/--tree PID is required/);
  t.match(run('criu-cpuinfo', ['frob']).stderr, /'frob' is not a valid action/);
  t.match(run('criu-service', ['swrk']).stderr, /Usage: criu swrk <fd>/);
  t.match(run('criu-restore', ['-S']).stderr, /--restore-sibling only makes sense with --restore-detached/);
  t.match(run('criu-restore', ['-d', '-S']).stderr, /--restore-sibling: the root can become a child of criu's parent only when criu runs under criu-launcher/);
});

t.test('the umbrella runs the real tools next to it', async (t) => {
  const env = { ...process.env };
  delete env.CRIU_TS_TOOLS_DIR;
  const umbrella = join(toolsRoot, 'criu', 'bin', 'criu');
  const bad = spawnSync(umbrella, ['dump', '--bogus'], { encoding: 'utf8', timeout: 20_000, env });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^criu-dump: unknown option --bogus/);
  const help = spawnSync(umbrella, ['cpuinfo', '--help'], { encoding: 'utf8', timeout: 20_000, env });
  t.match(help.stdout, /^Usage: criu-cpuinfo dump\|check/);
});

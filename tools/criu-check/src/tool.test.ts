import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHECK_GOOD, CHECK_MAYBE, FEATURES } from '@criu-ts/check';

const MAIN = fileURLToPath(new URL('../dist/main.cjs', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });

t.test('criu-check: Category 1 only by default, Looks good. here', async (t) => {
  const r = run();
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, `${CHECK_GOOD}\n`);
});

t.test('--extra/--experimental/--all: verdict and exit code agree with the warnings', async (t) => {
  for (const option of ['--extra', '--experimental', '--all']) {
    const r = run(option);
    const warned = /^Warn  \(criu\/check\): /m.test(r.stderr);
    t.equal(r.status, warned ? 1 : 0, `${option}: exit`);
    t.equal(r.stdout, `${warned ? CHECK_MAYBE : CHECK_GOOD}\n`, `${option}: verdict`);
  }
  t.match(run('--experimental').stderr, /io_uring \(category 3\): .*dumping tasks that hold an io_uring instance will not work|^$/, 'io_uring warns only when enabled');
});

t.test('--feature NAME, --feature list, an unknown name', async (t) => {
  const one = run('--feature', 'uffd');
  t.same([one.status, one.stdout], [0, 'uffd is supported\n']);
  const list = run('--feature', 'list');
  t.same([list.status, list.stdout], [0, `${FEATURES.map((f) => f.name).join('\n')}\n`]);
  const bad = run('--feature', 'no_such_feature');
  t.equal(bad.status, 1);
  t.match(bad.stderr, /unknown feature no_such_feature/);
  t.equal(bad.stdout, '');
});

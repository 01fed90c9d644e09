import t from 'tap';
import { CHECK_BAD, CHECK_GOOD, CHECK_MAYBE, checkVerdict, featureVerdict, type ProbeOutcome } from './index.js';

const outcome = (name: string, category: 1 | 2 | 3, missing?: string): ProbeOutcome => ({
  name, category, neededFor: `using ${name}`, result: missing === undefined ? 'ok' : { missing },
});

t.test('verdict strings are criu\'s, byte for byte', async (t) => {
  t.equal(CHECK_GOOD, 'Looks good.');
  t.equal(CHECK_BAD, 'Does not look good.');
  t.equal(CHECK_MAYBE, 'Looks good but some kernel features are missing\nwhich, depending on your process tree, may cause\ndump or restore failure.');
});

t.test('all present: Looks good., exit 0', async (t) => {
  t.same(checkVerdict([outcome('a', 1), outcome('b', 2), outcome('c', 3)]), { exitCode: 0, stdout: [CHECK_GOOD], warnings: [] });
});

t.test('a missing category 1 feature: Does not look good., exit 1, warning names what breaks', async (t) => {
  const report = checkVerdict([outcome('ptrace_seize', 1, 'EPERM'), outcome('uffd', 2, 'ENOSYS')]);
  t.equal(report.exitCode, 1);
  t.same(report.stdout, []);
  t.same(report.warnings, [
    'ptrace_seize (category 1): EPERM; using ptrace_seize will not work',
    'uffd (category 2): ENOSYS; using uffd will not work',
    CHECK_BAD,
  ]);
});

t.test('only category 2/3 missing: Looks good but ..., exit 1', async (t) => {
  for (const category of [2, 3] as const) {
    const report = checkVerdict([outcome('a', 1), outcome('b', category, 'gone')]);
    t.same(report, { exitCode: 1, stdout: [CHECK_MAYBE], warnings: [`b (category ${category}): gone; using b will not work`] });
  }
});

t.test('--feature: "NAME is supported" or a warning and exit 1', async (t) => {
  t.same(featureVerdict([outcome('uffd', 2)]), { exitCode: 0, stdout: ['uffd is supported'], warnings: [] });
  t.same(featureVerdict([outcome('uffd', 2), outcome('timens', 2, 'no /proc/self/ns/time')]), {
    exitCode: 1, stdout: ['uffd is supported'], warnings: ['timens (category 2): no /proc/self/ns/time; using timens will not work'],
  });
});

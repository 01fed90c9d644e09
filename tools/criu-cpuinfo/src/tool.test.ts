import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { featureIndex, readCpuFeatures, readCpuinfoImage, writeCpuinfoImage, type CpuFeatures } from '@criu-ts/cpuinfo';

const MAIN = fileURLToPath(new URL('../dist/main.cjs', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
const here = readCpuFeatures();

/** this CPU plus one feature it lacks, or minus one it has */
function doctored(name: string, on: boolean): CpuFeatures {
  const i = featureIndex(name);
  const capability = [...here.capability];
  capability[Math.floor(i / 32)] = (on ? capability[Math.floor(i / 32)]! | (1 << i % 32) : capability[Math.floor(i / 32)]! & ~(1 << i % 32)) >>> 0;
  return { ...here, capability };
}
const lacked = ['avx512_4fmaps', 'avx512_4vnniw', '3dnow', 'xop', 'fma4', 'tbm'].find((name) => {
  const i = featureIndex(name);
  return ((here.capability[Math.floor(i / 32)]! >>> i % 32) & 1) === 0;
})!;

t.test('dump writes a cpuinfo.img crit decodes; check accepts it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-cpuinfo-tool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(run('dump', '-D', dir).status, 0);
  const decoded = JSON.parse(execFileSync('/usr/bin/crit', ['decode', '-i', join(dir, 'cpuinfo.img')], { encoding: 'utf8' })) as { magic: string };
  t.equal(decoded.magic, 'CPUINFO');
  t.same(readCpuinfoImage(dir, here), here);
  for (const caps of [[], ['--cpu-cap'], ['--cpu-cap=cpu'], ['--cpu-cap=none']]) t.equal(run('check', '-D', dir, ...caps).status, 0, `check ${caps.join(' ')}`);
});

t.test(`a doctored image claiming ${lacked}, which this CPU lacks`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-cpuinfo-tool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeCpuinfoImage(dir, doctored(lacked, true));
  const r = run('check', '-D', dir);
  t.equal(r.status, 1);
  t.match(r.stderr, new RegExp(`cannot run the dumped tasks \\(--cpu-cap=fpu,ins\\):\\n.*lacks instructions.*${lacked}`));
  t.match(r.stderr, /--cpu-cap=none/, 'says how to override');
  t.equal(run('check', '-D', dir, '--cpu-cap=none').status, 1, 'check with no caps checks everything (criu)');
  t.equal(run('check', '-D', dir, '--cpu-cap=none,fpu').status, 0, 'fpu alone ignores instruction bits');
  writeCpuinfoImage(dir, doctored('hypervisor', !(((here.capability[4]! >>> 31) & 1) === 1)));
  t.equal(run('check', '-D', dir).status, 0, 'a non-instruction bit passes fpu,ins');
  const strict = run('check', '-D', dir, '--cpu-cap=cpu');
  t.equal(strict.status, 1, 'but not cpu');
  t.match(strict.stderr, /CPU capabilities do not match the image .*hypervisor/);
  writeCpuinfoImage(dir, { ...here, xsaveSize: here.xsaveSize + 64 });
  t.match(run('check', '-D', dir, '--cpu-cap=fpu').stderr, /XSAVE frame size differs/);
});

t.test('usage: action required, bad action, bad cap, missing image', async (t) => {
  t.equal(run().status, 1);
  t.match(run('show').stderr, /'show' is not a valid action/);
  t.match(run('check', '--cpu-cap=avx').stderr, /unknown CPU capability 'avx'/);
  const missing = run('check', '-D', join(tmpdir(), 'criu-ts-no-such-dir'));
  t.equal(missing.status, 1);
  t.match(missing.stderr, /no cpuinfo image/);
});

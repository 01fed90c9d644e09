// --cpu-cap end to end: dump writes cpuinfo.img; restore refuses to resume
// the tasks on a CPU that lacks a feature the image claims, naming it and
// leaving nothing behind, unless told otherwise (--cpu-cap=none).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { featureIndex, readCpuFeatures, writeCpuinfoImage, type CpuFeatures } from '@criu-ts/cpuinfo';
import { criuDump, runTool } from './lib/criu.js';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { killAndWait, startWorkload, waitFor, waitForOutput } from './lib/processes.js';
import { toolPath } from './lib/workspace.js';

const here = readCpuFeatures();
const has = (name: string): boolean => {
  const i = featureIndex(name);
  return ((here.capability[Math.floor(i / 32)]! >>> i % 32) & 1) === 1;
};
const lacked = ['avx512_4fmaps', 'avx512_4vnniw', '3dnow', 'xop', 'fma4', 'tbm'].find((name) => !has(name))!;

function claiming(name: string): CpuFeatures {
  const i = featureIndex(name);
  const capability = [...here.capability];
  capability[Math.floor(i / 32)] = (capability[Math.floor(i / 32)]! | (1 << i % 32)) >>> 0;
  return { ...here, capability };
}

t.test('restore checks cpuinfo.img against this CPU', async (t) => {
  const dir = scratchDir(t);
  const images = join(dir, 'images');
  mkdirSync(images);
  const w = startWorkload(t, compileFixture('memory', dir), ['4']);
  await waitForOutput(w, /^ready/m);
  const dump = await criuDump(['-t', String(w.pid), '-D', images, '--cpu-cap', '-o', 'dump.log']);
  t.equal(dump.exitCode, 0, 'dump with --cpu-cap succeeds');
  t.ok(existsSync(join(images, 'cpuinfo.img')), 'and writes cpuinfo.img');
  await killAndWait(w.pid);
  await waitFor(() => !existsSync(`/proc/${w.pid}`), 10_000, `pid ${w.pid} to be reaped`);

  writeCpuinfoImage(images, claiming(lacked));
  const refused = await runTool('criu-restore', ['-D', images, '-d', '-o', '-']);
  t.not(refused.exitCode, 0, `restore refuses an image claiming ${lacked}`);
  t.match(refused.stderr, new RegExp(lacked), 'naming the missing feature');
  t.notOk(existsSync(`/proc/${w.pid}`), 'no task was created');

  const pidfile = join(dir, 'restored.pid');
  // stdio not captured: the restored task must not keep a pipe of ours open
  const forced = spawnSync(process.execPath, [toolPath('criu-restore'), '-D', images, '-d', '--cpu-cap=none', '--pidfile', pidfile, '-o', 'restore.log'], {
    stdio: 'ignore',
    timeout: 60_000,
  });
  t.equal(forced.status, 0, '--cpu-cap=none restores anyway');
  if (forced.status === 0) {
    const pid = Number(readFileSync(pidfile, 'utf8'));
    t.equal(pid, w.pid, 'with the same pid');
    await killAndWait(pid);
  }
});

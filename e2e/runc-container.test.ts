// runc, unmodified (Debian's runc 1.1), checkpoints and restores a running
// busybox container through our criu: `runc --criu OUR_CRIU checkpoint`
// drives `criu swrk` over RPC exactly as it drives upstream's, then
// `runc restore -d` brings the container back. The container counts in a
// file of its rootfs; after each restore the count goes on from where it
// was (not from 0), twice in a row. Skipped, saying so, without runc or
// busybox.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from './lib/fixtures.js';
import { waitFor } from './lib/processes.js';
import { criuBin } from './lib/rpc-client.js';

const RUNC = ['/usr/sbin/runc', '/usr/bin/runc'].find((path) => existsSync(path));
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((path) => existsSync(path));
const RUN_MS = 60_000;

interface Run {
  status: number | null;
  out: string;
}

function runc(args: readonly string[], cwd: string): Run {
  const run = spawnSync(RUNC!, ['--criu', criuBin, ...args], { cwd, encoding: 'utf8', timeout: RUN_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  // (runc's own output; the restored container's stdio is /dev/null again)
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

function state(bundle: string, id: string): { status: string; pid: number } | undefined {
  const run = spawnSync(RUNC!, ['state', id], { cwd: bundle, encoding: 'utf8', timeout: RUN_MS });
  if (run.status !== 0) return undefined;
  return JSON.parse(run.stdout) as { status: string; pid: number };
}

/** A bundle whose container adds 1 to /count every 100 ms, from what the file holds. */
function makeBundle(dir: string): string {
  const bundle = join(dir, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  for (const sub of ['bin', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, sub), { recursive: true });
  copyFileSync(BUSYBOX!, join(rootfs, 'bin', 'busybox'));
  for (const applet of ['sh', 'sleep', 'cat', 'mv']) symlinkSync('busybox', join(rootfs, 'bin', applet));
  const spec = spawnSync(RUNC!, ['spec'], { cwd: bundle, encoding: 'utf8' });
  if (spec.status !== 0) throw new Error(`runc spec: ${spec.stderr}`);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
    process: { terminal: boolean; args: string[] };
    root: { readonly: boolean };
  };
  config.process.terminal = false;
  config.process.args = ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; sleep 0.1; done'];
  config.root.readonly = false;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config, null, 1));
  return bundle;
}

function count(bundle: string): number {
  try {
    return Number.parseInt(readFileSync(join(bundle, 'rootfs', 'count'), 'utf8'), 10);
  } catch {
    return 0;
  }
}

t.test('runc checkpoints and restores a busybox container through our criu, twice in a row', { skip: RUNC === undefined || BUSYBOX === undefined ? 'runc or busybox is not installed' : false }, async (t) => {
  const dir = scratchDir(t, 'criu-ts-runc-');
  const bundle = makeBundle(dir);
  const id = `criu-ts-e2e-${process.pid}`;
  t.teardown(() => {
    spawnSync(RUNC!, ['kill', id, 'KILL'], { cwd: bundle, timeout: RUN_MS });
    spawnSync(RUNC!, ['delete', '-f', id], { cwd: bundle, timeout: RUN_MS });
    rmSync(dir, { recursive: true, force: true });
  });
  // the container's stdio is /dev/null: runc passes it on as it is (a pipe or socket of ours would be an external resource)
  const started = spawnSync(RUNC!, ['run', '-d', id], { cwd: bundle, timeout: RUN_MS, stdio: 'ignore' });
  t.equal(started.status, 0, 'runc run -d');
  await waitFor(() => count(bundle) >= 3, 10_000, 'the container to count');

  for (const round of [1, 2]) {
    const images = join(dir, `images-${round}`);
    const checkpoint = runc(['checkpoint', '--image-path', images, id], bundle);
    if (checkpoint.status !== 0) {
      const log = join(images, 'dump.log');
      t.fail(`round ${round}: runc checkpoint exit ${checkpoint.status}: ${checkpoint.out}\n${existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => line.includes('Error')).join('\n') : ''}`);
      t.ok(state(bundle, id)?.status === 'running', 'the container is left running after a failed checkpoint');
      return;
    }
    t.equal(state(bundle, id), undefined, `round ${round}: the container is gone after its checkpoint`);
    const before = count(bundle);
    t.ok(before >= 3, `round ${round}: it had counted to ${before}`);

    const restore = runc(['restore', '-d', '--image-path', images, id], bundle);
    if (restore.status !== 0) {
      const log = join(images, 'restore.log');
      t.fail(`round ${round}: runc restore exit ${restore.status}: ${restore.out}\n${existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => line.includes('Error')).join('\n') : ''}`);
      return;
    }
    t.equal(state(bundle, id)?.status, 'running', `round ${round}: runc sees the restored container running`);
    await waitFor(() => count(bundle) >= before + 3, 10_000, 'the restored container to count on');
    t.ok(count(bundle) >= before + 3, `round ${round}: it counts on from ${before} (now ${count(bundle)}), not from 0`);
  }
});

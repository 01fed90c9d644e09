// Unmodified programs dump: a shell loop, python3 and node. The images
// decode with crit and agree with what /proc said just before the dump;
// by default the tree is killed afterwards, with -R it runs on.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { criuDump } from './lib/criu.js';
import { scratchDir } from './lib/fixtures.js';
import { startWorkload, waitFor, waitForOutput, type Workload } from './lib/processes.js';
import { taskState } from './lib/task-state.js';

type Json = Record<string, any>; // crit's JSON

function crit(path: string): Json[] {
  const out = execFileSync('/usr/bin/crit', ['decode', '--pretty', '-i', path], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 << 20 });
  return (JSON.parse(out) as { entries: Json[] }).entries;
}

interface Snapshot {
  maps: number;
  threads: number[];
  fds: number[];
}

function snapshot(pid: number): Snapshot {
  const maps = execFileSync('cat', [`/proc/${pid}/maps`], { encoding: 'utf8' }).trim().split('\n').length;
  const threads = readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
  const fds = readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
  return { maps, threads, fds };
}

/** Every image decodes with crit; the tree's images agree with the snapshot. */
function checkImages(t: Test, images: string, pid: number, before: Snapshot): void {
  for (const name of readdirSync(images).filter((n) => n.endsWith('.img') && !n.startsWith('pages-'))) {
    t.doesNotThrow(() => crit(join(images, name)), `crit decodes ${name}`);
  }
  const pstree = crit(join(images, 'pstree.img'));
  t.equal(pstree[0]!.pid, pid, 'the root is the dumped pid');
  t.same([...(pstree[0]!.threads as number[])].sort((a, b) => a - b), before.threads, 'every thread is in pstree');
  for (const tid of before.threads) t.ok(readdirSync(images).includes(`core-${tid}.img`), `core-${tid}.img written`);
  const mm = crit(join(images, `mm-${pid}.img`))[0]!;
  t.equal(mm.vmas.length, before.maps, 'one vma per /proc/PID/maps line');
  const ids = crit(join(images, `ids-${pid}.img`))[0]!;
  const fdinfo = crit(join(images, `fdinfo-${ids.files_id}.img`));
  t.same(fdinfo.map((e) => e.fd as number).sort((a, b) => a - b), before.fds, 'every fd is in fdinfo');
  const stats = crit(join(images, 'stats-dump'))[0]!.dump;
  const pagemaps = readdirSync(images).filter((n) => /^pagemap-\d+\.img$/.test(n));
  const pagemapPages = pagemaps.flatMap((n) => crit(join(images, n)).slice(1)).reduce((sum, e) => sum + Number(e.nr_pages), 0);
  t.equal(Number(stats.pages_written), pagemapPages, 'stats-dump pages_written equals the pagemaps');
}

/** Dump w and check the images; returns the images directory. */
async function dumpAndCheck(t: Test, w: Workload, leaveRunning: boolean): Promise<string> {
  const images = join(scratchDir(t), 'images');
  mkdirSync(images);
  const before = snapshot(w.pid);
  const args = ['-t', String(w.pid), '-D', images, '-v4', '-o', 'dump.log', ...(leaveRunning ? ['-R'] : [])];
  const run = await criuDump(args, 120_000);
  if (run.exitCode !== 0) t.comment(execFileSync('tail', ['-20', join(images, 'dump.log')], { encoding: 'utf8' }));
  t.equal(run.exitCode, 0, 'criu dump succeeds');
  if (run.exitCode !== 0) return images;
  checkImages(t, images, w.pid, before);
  if (leaveRunning) {
    t.equal(taskState(w.pid)?.tracerPid, 0, 'still running, untraced (-R)');
  } else {
    await waitFor(() => taskState(w.pid) === undefined || taskState(w.pid)?.state === 'Z', 10_000, 'the dumped tree to die');
    t.pass('the tree was killed after the dump');
  }
  return images;
}

t.test('a shell loop', async (t) => {
  const w = startWorkload(t, 'bash', ['-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done']);
  await waitForOutput(w, /^3$/m);
  await dumpAndCheck(t, w, true);
  const seen = Number(w.output().trim().split('\n').pop());
  await waitFor(() => Number(w.output().trim().split('\n').pop()) > seen, 10_000, 'the loop to count on');
  await dumpAndCheck(t, w, false);
});

t.test('python3', async (t) => {
  const script = 'import time\nd = {i: str(i) * 10 for i in range(200000)}\nprint("ready", flush=True)\nwhile True: time.sleep(0.05)\n';
  const w = startWorkload(t, '/usr/bin/python3', ['-c', script]);
  await waitForOutput(w, /^ready/m, 30_000);
  await dumpAndCheck(t, w, false);
});

t.test('node', async (t) => {
  const script = "const http = require('http'); const s = http.createServer((q, r) => r.end('hi')); s.listen(0, '127.0.0.1', () => console.log('ready', s.address().port)); setInterval(() => {}, 1000);";
  const w = startWorkload(t, process.execPath, ['-e', script]);
  await waitForOutput(w, /^ready/m, 30_000);
  t.ok(readlinkSync(`/proc/${w.pid}/exe`).length > 0);
  await dumpAndCheck(t, w, false);
});

// A thread-group leader's exit is reported only after its other threads are
// reaped: the kill after a dump must reap them all together (it once waited
// for the leader first and hit its 5 s deadline on every threaded program).
// The bench's "python3 8 threads" row shows the time; here the log must not
// say that some thread never reported its exit.
t.test('python3 with threads is killed and fully reaped', async (t) => {
  const script = 'import threading, time\nfor _ in range(8): threading.Thread(target=lambda: [time.sleep(0.05) for _ in iter(int, 1)], daemon=True).start()\nprint("ready", flush=True)\nwhile True: time.sleep(0.05)\n';
  const w = startWorkload(t, '/usr/bin/python3', ['-c', script]);
  await waitForOutput(w, /^ready/m, 30_000);
  t.equal(readdirSync(`/proc/${w.pid}/task`).length, 9, 'nine threads');
  const images = await dumpAndCheck(t, w, false);
  const log = readFileSync(join(images, 'dump.log'), 'utf8');
  t.notMatch(log, /did not report their exit/, 'every thread reported its exit to the kill');
});

// criu-dump --stream sends page data straight into the stream: a 96 MiB
// task is dumped (-R) to a pipe; its pages image is never a file in the
// dump's private directory (watched while the dump runs, and named by the
// dump log), it comes first in the stream, as big as the pagemap says, and
// the stream restores the task with its memory intact.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, runRestore, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

const MIB = 96;

/** The names in dir, none if it is gone already (the dump removes it). */
function listing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The second "verify" line the fixture printed (the first was before the dump). */
function secondVerify(out: string): string {
  waitFor('a second verify line', () => (readFileSync(out, 'utf8').match(/verify \S+ \d+/g) ?? []).length >= 2, 20_000);
  return readFileSync(out, 'utf8').match(/verify \S+ \d+/g)![1]!;
}

/** `sh -c script` in cwd; resolves to its exit status and every pages-*.img seen in a private directory under tmp meanwhile. */
function dumpWatching(script: string, cwd: string, env: Record<string, string>, tmp: string): Promise<{ status: number; seen: string[] }> {
  const seen = new Set<string>();
  const watch = setInterval(() => {
    for (const dir of readdirSync(tmp)) {
      for (const name of listing(join(tmp, dir))) if (name.startsWith('pages-')) seen.add(name);
    }
  }, 2);
  const child = spawn('sh', ['-c', script], { cwd, env: { ...process.env, NODE: process.execPath, DUMP: toolPath('criu-dump'), ...env }, stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) => child.on('exit', (code) => {
    clearTimeout(timer);
    clearInterval(watch);
    resolve({ status: code ?? -1, seen: [...seen] });
  }));
}

t.test(`a ${MIB} MiB task: its pages go into the stream, never into the private directory`, async (t) => {
  const dir = scratchDir(t);
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), [String(MIB)]);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1]!;
  const file = join(dir, 'ckpt.tar');
  const dump = await dumpWatching('"$NODE" "$DUMP" -t $PID --stream -R -v4 -o dump.log | cat > "$FILE"', dir, { PID: String(pid), FILE: file, TMPDIR: tmp }, tmp);
  const log = readFileSync(join(dir, 'dump.log'), 'utf8');
  t.equal(dump.status, 0, 'the dump succeeds', { diagnostic: dump.status !== 0, log: log.split('\n').slice(-15).join('\n') });
  t.same(dump.seen, [], 'no pages image appeared in the private directory');
  const appended = log.match(/--stream: appended from \S+: (.*)/)?.[1]?.split(' ') ?? [];
  t.ok(appended.includes('inventory.img') && appended.includes(`pagemap-${pid}.img`), 'the small images went through the private directory');
  t.notOk(appended.some((name) => name.startsWith('pages-')), 'no pages image did');
  const during = log.match(/--stream: (\d+) pages image\(s\), (\d+) bytes streamed during the dump/);
  t.equal(during?.[1], '1', 'one pages image streamed during the dump');
  t.ok(Number(during?.[2]) > MIB * 1024 * 1024, `over ${MIB} MiB of it`);
  t.same(readdirSync(tmp), [], 'no temporary directory is left');
  t.ok(alive(pid), 'the tree runs on (-R)');

  const listing = spawnSync('tar', ['-tvf', file], { encoding: 'utf8' }).stdout.trim().split('\n');
  const first = listing[0]!.split(/\s+/);
  t.match(first.at(-1), /^pages-\d+\.img$/, 'the pages image is the first member');
  t.ok(Number(first[2]) > MIB * 1024 * 1024, 'with all the data');
  const pagemap = spawnSync('sh', ['-c', `tar -xOf "$0" pagemap-${pid}.img | /usr/bin/crit decode`, file], { encoding: 'utf8' });
  t.equal(pagemap.status, 0, "Debian's crit decodes the pagemap");
  const entries = (JSON.parse(pagemap.stdout) as { entries: { pages_id?: number; nr_pages?: number }[] }).entries;
  t.equal(`pages-${entries[0]?.pages_id}.img`, first.at(-1), 'the pagemap names the streamed member');
  const pages = entries.slice(1).reduce((n, entry) => n + (entry.nr_pages ?? 0), 0);
  t.equal(pages * 4096, Number(first[2]), 'whose size is the pagemap runs');

  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'the task was left unaltered');
  killAndReap(pid);
  waitFor('the dumped task to be gone', () => !alive(pid));
  const status = runRestore(out, ['--stream', '--stream-file', file, '-d', '-W', dir, '-v4', '-o', 'restore.log']);
  t.teardown(() => killAndReap(pid));
  t.equal(status, 0, 'criu-restore --stream-file restores it');
  kill(pid, SIG.USR1);
  t.equal(secondVerify(out), `verify ok ${sum}`, 'memory intact');
});

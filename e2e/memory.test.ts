// The memory kind end to end: criu-dump -R on the mem-layout fixture, then
// the mm image's VMAs against /proc/PID/maps as it was before the dump, the
// pagemap against the pages image, the fixture's data in the pages, crit
// decoding every memory image, and the task running on unaltered.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { criuDump } from './lib/criu.js';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { startWorkload, waitForOutput } from './lib/processes.js';

type Json = Record<string, any>; // crit's JSON output

function crit(path: string): Json[] {
  const out = execFileSync('/usr/bin/crit', ['decode', '--pretty', '-i', path], { encoding: 'utf8', timeout: 30_000 });
  return (JSON.parse(out) as { entries: Json[] }).entries;
}

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = ((i * 31 + seed) ^ (i >> 12)) & 0xff;
  return b;
}

const PG = 4096;

t.test('memory images of mem-layout', async (t) => {
  const dir = scratchDir(t);
  const bin = compileFixture('mem-layout', dir);
  // Node hands a child its stdout as a socket, which the files kind refuses: go through cat.
  const w = startWorkload(t, 'sh', ['-c', 'exec "$0" "$@" | cat', bin, dir]);
  const pid = Number((await waitForOutput(w, /^ready (\d+)/m))[1]);
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n');
  const anonAt = BigInt(/^anon (0x[0-9a-f]+)/m.exec(w.output())![1]!);
  const images = join(dir, 'images');
  mkdirSync(images);
  const run = await criuDump(['-t', String(pid), '-D', images, '-R', '-v4', '-o', 'dump.log']);
  t.equal(run.exitCode, 0, 'criu-dump succeeds');
  if (run.exitCode !== 0) {
    t.comment(run.stderr);
    return;
  }

  const mm = crit(join(images, `mm-${pid}.img`))[0]!;
  t.equal(mm.vmas.length, maps.length, 'one vma per maps line');
  mm.vmas.forEach((v: Json, i: number) => {
    const [range, perms] = maps[i]!.split(/\s+/);
    const [start, end] = range!.split('-').map((h) => BigInt(`0x${h}`));
    t.equal(BigInt(v.end), end, `vma ${i} end`);
    const growsDown = String(v.flags).includes('MAP_GROWSDOWN');
    t.equal(BigInt(v.start), growsDown ? start! - 4096n : start, `vma ${i} start`);
    t.equal(String(v.prot).includes('PROT_WRITE'), perms![1] === 'w', `vma ${i} write permission`);
    t.equal(String(v.flags).includes('MAP_SHARED'), perms![3] === 's', `vma ${i} sharing`);
  });

  const pagemap = crit(join(images, `pagemap-${pid}.img`));
  const pagesId = pagemap[0]!.pages_id as number;
  const runs = pagemap.slice(1);
  const total = runs.reduce((n, r) => n + Number(r.nr_pages), 0);
  const pages = readFileSync(join(images, `pages-${pagesId}.img`));
  t.equal(pages.length, total * PG, 'pages image holds exactly the pagemap pages');
  let offset = 0;
  let checked = 0;
  for (const r of runs) {
    for (let i = 0; i < Number(r.nr_pages); i++) {
      const addr = BigInt(r.vaddr) + BigInt(i * PG);
      const index = Number((addr - anonAt) / 4096n);
      if (addr >= anonAt && index < 64) {
        t.ok(index % 2 === 0, `only written anon pages dumped (page ${index})`);
        t.same(pages.subarray(offset, offset + PG), pattern(PG, index), `anon page ${index} data`);
        checked++;
      }
      offset += PG;
    }
  }
  t.equal(checked, 32, 'all 32 written anon pages found');
  for (const name of readdirSync(images).filter((n) => /^(mm|pagemap|files|memfd)/.test(n))) {
    t.ok(crit(join(images, name)).length > 0, `crit decodes ${name}`);
  }
  process.kill(pid, 'SIGUSR1');
  await waitForOutput(w, /verify (ok|bad)/);
  t.match(w.output(), /verify ok/, 'the task runs on with its memory intact');
});

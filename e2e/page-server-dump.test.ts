// criu-dump --page-server as users run it, against criu-page-server on
// loopback (plain and TLS, certificates made now with openssl): the page
// server gets pagemap/pages images, the dump's -D everything else, and the
// two directories merged restore the tree. Bad peers: see
// page-server-dump-failures.test.ts.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { openPagemap, readOne } from '@criu-ts/images';
import { SIG, kill } from '@criu-ts/kernel';
import { makeCa, makeCert } from '../libs/page-server/src/tls-certs.fixture.js';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, runRestore, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** criu-page-server ARGS, once it said (--status-fd) it listens; `exited` resolves its exit status. */
async function startPageServer(t: Test, args: string[]): Promise<{ exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [toolPath('criu-page-server'), ...args, '--status-fd', '3'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  t.teardown(() => {
    clearTimeout(timer);
    child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = await new Promise<boolean>((resolve) => {
    (child.stdio[3] as Readable).once('data', (chunk: Buffer) => resolve(chunk[0] === 0));
    (child.stdio[3] as Readable).once('end', () => resolve(false));
  });
  if (!ready) throw new Error('criu-page-server did not start');
  return { exited };
}

const tail = (path: string): string => readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');

async function roundTrip(t: Test, extraDump: string[], extraServer: string[]): Promise<void> {
  const dir = scratchDir(t);
  const [local, remote, merged] = ['local', 'remote', 'merged'].map((name) => join(dir, name));
  [local, remote, merged].forEach((d) => mkdirSync(d));
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), ['32']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  const port = await freePort();
  const server = await startPageServer(t, ['-D', remote, '--address', '127.0.0.1', '--port', String(port), '-v4', '-o', 'ps.log', ...extraServer]);
  const dump = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '-D', local, '--page-server', '--address', '127.0.0.1', '--port', String(port), '-v4', '-o', 'dump.log', ...extraDump], { timeout: 60_000 });
  killAndReap(pid);
  t.equal(dump.status, 0, 'criu-dump --page-server exits 0', { diagnostic: dump.status !== 0, log: tail(join(local, 'dump.log')), server: tail(join(remote, 'ps.log')) });
  t.equal(await server.exited, 0, 'the page server ends its session with 0');
  const localImages = readdirSync(local).filter((name) => name.endsWith('.img'));
  t.same(localImages.filter((name) => /^(pagemap|pages)-/.test(name)), [], 'no pagemap or pages image in the dump directory');
  t.ok(localImages.includes(`mm-${pid}.img`) && localImages.includes(`core-${pid}.img`), 'the other images are there');
  t.same(readdirSync(remote).filter((name) => name.endsWith('.img')).sort(), [`pagemap-${pid}.img`, 'pages-65537.img'], 'the page server wrote the pagemap and its pages');
  const pagemap = openPagemap(remote, pid);
  const runs = [...pagemap];
  pagemap.close();
  const sent = runs.reduce((n, run) => n + run.nrPages, 0);
  t.equal(sent, Number(readOne(local, 'stats', 'dump').dump?.pages_written), 'every page written went to the page server');
  t.ok(runs.every((run, i) => i === 0 || run.vaddr > runs[i - 1]!.vaddr), 'runs in address order');
  t.equal(spawnSync('/usr/bin/crit', ['decode', '-i', join(remote, `pagemap-${pid}.img`)]).status, 0, "Debian's crit decodes the pagemap");
  for (const d of [local, remote]) for (const name of readdirSync(d).filter((n) => n.endsWith('.img') || n === 'stats-dump')) copyFileSync(join(d, name), join(merged, name));
  waitFor('the dumped task to be gone', () => !alive(pid));
  const status = runRestore(out, ['-D', merged, '-d', '-v4', '-o', 'restore.log']);
  t.teardown(() => killAndReap(pid));
  t.equal(status, 0, 'the merged directory restores', { diagnostic: status !== 0, log: status === 0 ? '' : tail(join(merged, 'restore.log')) });
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'memory intact');
}

t.test('plain TCP: pages to the page server, the rest to -D, merged they restore', (t) => roundTrip(t, [], []));

t.test('TLS: the same over a mutually authenticated connection', async (t) => {
  const certs = scratchDir(t);
  const ca = makeCa(certs, 'test');
  const server = makeCert(certs, 'server', ca, 'IP:127.0.0.1');
  const client = makeCert(certs, 'client', ca, 'DNS:dump.example');
  const tls = (c: { cert: string; key: string }): string[] => ['--tls', '--tls-cacert', ca.cert, '--tls-cert', c.cert, '--tls-key', c.key];
  await roundTrip(t, tls(client), tls(server));
});

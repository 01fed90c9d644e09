// criu-page-server end to end: the tool in its own process, our client
// (synchronous, as dump uses it) in the test process, over loopback.
import t, { type Test } from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PE_PRESENT, openPagemap } from '@criu-ts/images';
import { connectPageServer, encodeIov } from '@criu-ts/page-server';
import { toolPath } from './lib/workspace.js';
import { waitFor } from './lib/processes.js';

const root = mkdtempSync(join(tmpdir(), 'e2e-page-server-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => mkdtempSync(join(root, `d${(dirs += 1)}-`));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Started {
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** Start the tool with --status-fd 3 and wait (bounded) until it says it is ready. */
async function startServer(t: Test, args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [toolPath('criu-page-server'), ...args, '--status-fd', '3'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  t.teardown(() => {
    clearTimeout(timer);
    child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const status = child.stdio[3] as Readable;
  const ready = await new Promise<boolean>((resolve) => {
    status.once('data', (chunk: Buffer) => resolve(chunk[0] === 0));
    status.once('end', () => resolve(false));
  });
  t.ok(ready, 'the server wrote \\0 to --status-fd');
  return { child, exited };
}

t.test('one session: runs in, images out, the tool exits 0', async (t) => {
  const dir = freshDir();
  const port = await freePort();
  const server = await startServer(t, ['-D', dir, '--address', '127.0.0.1', '--port', String(port), '-v4', '-o', 'ps.log', '--pidfile', 'ps.pid']);
  t.equal(readFileSync(join(dir, 'ps.pid'), 'utf8'), String(server.child.pid), 'pidfile');
  const client = await connectPageServer({ address: '127.0.0.1', port, timeoutMs: 10_000 });
  try {
    t.equal(client.open('pagemap', 77), false, 'no parent');
    client.addRun({ vaddr: 0x600000n, nrPages: 2, flags: PE_PRESENT }, { data: Buffer.alloc(8192, 0x5a) });
    client.flush();
  } finally {
    client.close();
  }
  t.equal(await server.exited, 0);
  const reader = openPagemap(dir, 77);
  t.strictSame([...reader], [{ vaddr: 0x600000n, nrPages: 2, flags: PE_PRESENT, pagesOffset: 0 }]);
  reader.close();
  t.ok(readFileSync(join(dir, 'pages-65537.img')).equals(Buffer.alloc(8192, 0x5a)));
  execFileSync('/usr/bin/crit', ['decode', '-i', join(dir, 'pagemap-77.img')]);
  t.match(readFileSync(join(dir, 'ps.log'), 'utf8'), /session over, 2 page\(s\) in 2 image\(s\)/);
});

t.test('--daemon: the tool returns once the background copy listens', async (t) => {
  const dir = freshDir();
  const port = await freePort();
  execFileSync(process.execPath, [toolPath('criu-page-server'), '-D', dir, '--address', '127.0.0.1', '--port', String(port), '-d', '--pidfile', 'ps.pid', '-o', 'ps.log'], { timeout: 30_000 });
  const pid = Number(readFileSync(join(dir, 'ps.pid'), 'utf8'));
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  });
  t.ok(pid > 0 && pid !== process.pid, `daemon pid ${pid}`);
  const client = await connectPageServer({ address: '127.0.0.1', port, timeoutMs: 10_000 });
  try {
    client.open('pagemap', 3);
    client.addRun({ vaddr: 0x1000n, nrPages: 1, flags: PE_PRESENT }, { data: Buffer.alloc(4096, 1) });
    client.flush();
  } finally {
    client.close();
  }
  await waitFor(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 10_000, 'the daemon to exit');
  t.ok(existsSync(join(dir, 'pagemap-3.img')));
});

t.test('a client sending garbage: exit 1, a clear error in the log, no image', async (t) => {
  const dir = freshDir();
  const port = await freePort();
  const server = await startServer(t, ['-D', dir, '--address', '127.0.0.1', '--port', String(port), '-o', 'ps.log']);
  const client = await connectPageServer({ address: '127.0.0.1', port, timeoutMs: 10_000 });
  try {
    client.open('pagemap', 1);
    const { writeFully } = await import('@criu-ts/stream');
    writeFully(client.fd, encodeIov({ command: 0x77, flags: 0, nrPages: 1, vaddr: 0n, dstId: 0n }), 'test');
    t.throws(() => client.flush(), /closed the connection|reading the flush failed/, 'the dump side sees the failure');
  } finally {
    client.close();
  }
  t.equal(await server.exited, 1);
  t.match(readFileSync(join(dir, 'ps.log'), 'utf8'), /Error \(criu\): page-server: peer 127\.0\.0\.1:\d+: unknown command 0x77/);
  t.strictSame(readdirSync(dir).filter((name) => name.endsWith('.img') || name.endsWith('.part')), []);
});

t.test('--daemon with --status-fd is a usage error', async (t) => {
  const run = spawn(process.execPath, [toolPath('criu-page-server'), '--port', '1', '-d', '--status-fd', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  run.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
  t.equal(code, 1);
  t.match(stderr, /--daemon and --status-fd cannot be used together/);
});

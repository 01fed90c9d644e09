// criu-dump --page-server with peers that fail it: nobody listening, a
// server whose certificate is not trusted, a peer that goes away in the
// middle of the pages, and one that takes every page but reports that it
// could not store them. Each time the dump fails saying what happened,
// the tree runs on unaltered and untraced, and -D holds no image.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { SIG, kill } from '@criu-ts/kernel';
import { IOV_SIZE, PS_IOV, decodeIov } from '@criu-ts/page-server';
import { makeCa, makeCert } from '../libs/page-server/src/tls-certs.fixture.js';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { alive, startBackground, waitOutput } from '../libs/restore/test/live.js';

const PE_PRESENT = 4;
const PAGE = 4096;

type Behaviour = { disconnectAfter: number } | 'refuse-flush';

/** A page-server peer speaking the protocol (answers OPEN2, skips page data) that fails as told. */
function servePeer(socket: Socket, behaviour: Behaviour): void {
  let pending = Buffer.alloc(0);
  let skip = 0;
  let received = 0;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (typeof behaviour === 'object' && received >= behaviour.disconnectAfter) {
      socket.destroy();
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const skipped = Math.min(skip, pending.length);
      pending = pending.subarray(skipped);
      skip -= skipped;
      if (skip > 0 || pending.length < IOV_SIZE) return;
      const iov = decodeIov(pending.subarray(0, IOV_SIZE));
      pending = pending.subarray(IOV_SIZE);
      if (iov.command === PS_IOV.OPEN2) socket.write(Buffer.from([0]));
      if (iov.command === PS_IOV.ADD_F && (iov.flags & PE_PRESENT) !== 0) skip = iov.nrPages * PAGE;
      if (iov.command === PS_IOV.FLUSH || iov.command === PS_IOV.FLUSH_N_CLOSE) {
        const status = Buffer.alloc(4);
        status.writeInt32LE(-1, 0);
        socket.write(status);
      }
    }
  });
}

async function fakePageServer(t: Test, behaviour: Behaviour): Promise<number> {
  const server: Server = createServer((socket) => servePeer(socket, behaviour));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** criu-dump ARGS run asynchronously (the fake peer lives in this process); its exit status. */
function dump(args: string[]): Promise<number> {
  const child = spawn(process.execPath, [toolPath('criu-dump'), ...args], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve) => child.on('exit', (code) => {
    clearTimeout(timer);
    resolve(code ?? -1);
  }));
}

/** Run a dump of a 64 MiB task that must fail; check the task and -D afterwards. */
async function failingDump(t: Test, port: number, extra: string[], error: RegExp): Promise<void> {
  const dir = scratchDir(t);
  const images = join(dir, 'images');
  mkdirSync(images);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), ['64']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  const status = await dump(['-t', String(pid), '-D', images, '--page-server', '--address', '127.0.0.1', '--port', String(port), '-v4', '-o', 'dump.log', ...extra]);
  t.not(status, 0, 'the dump fails');
  const log = readFileSync(join(images, 'dump.log'), 'utf8');
  t.match(log, error, 'saying why');
  t.same(readdirSync(images).filter((name) => name.endsWith('.img') || name === 'stats-dump'), [], 'no image is left in -D');
  t.ok(alive(pid), 'the task runs on');
  t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /TracerPid:\s+0\n/, 'untraced');
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'and unaltered');
}

t.test('nobody listening: the dump fails before freezing anything', async (t) => {
  // a port nobody listens on: one the kernel gave a server now closed
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const closed = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await failingDump(t, closed, [], /connect page server 127\.0\.0\.1:\d+: Connection refused/);
});

t.test('the peer goes away in the middle of the pages', async (t) => {
  const port = await fakePageServer(t, { disconnectAfter: 8 << 20 });
  await failingDump(t, port, [], /Error .*page server 127\.0\.0\.1:\d+.*(EPIPE|ECONNRESET|went away|closed)/);
});

t.test('the peer takes every page but cannot store them', async (t) => {
  const port = await fakePageServer(t, 'refuse-flush');
  await failingDump(t, port, [], /page server 127\.0\.0\.1:\d+ failed to store the pages \(status -1\)/);
});

t.test('TLS: a server certificate from an untrusted CA is refused before freezing', async (t) => {
  const certs = scratchDir(t);
  const ca = makeCa(certs, 'trusted');
  const rogue = makeCa(certs, 'rogue');
  const server = makeCert(certs, 'server', rogue, 'IP:127.0.0.1');
  const client = makeCert(certs, 'client', ca, 'DNS:dump.example');
  const peer = createTlsServer({ cert: readFileSync(server.cert), key: readFileSync(server.key) }, (socket) => socket.destroy());
  peer.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => peer.close(() => resolve())));
  const port = (peer.address() as { port: number }).port;
  await failingDump(t, port, ['--tls', '--tls-cacert', ca.cert, '--tls-cert', client.cert, '--tls-key', client.key], /page server 127\.0\.0\.1:\d+ \(TLS\): .*certificate/);
});

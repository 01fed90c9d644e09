// criu service: the daemon on a UNIX socket (created 0600), with --daemon,
// --pidfile and --status-fd; each connection served by its own worker:
// VERSION, a CHECK, a request refused because it is swrk-only, a malformed
// packet, and several clients one after another.
import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AF, SOCK, connectUnix, socket } from '@criu-ts/kernel';
import { decodeResponse, encodeRequest, recvPacket, sendPacket, type CriuReq, type CriuResp } from '@criu-ts/rpc';
import { scratchDir } from './lib/fixtures.js';
import { killAndWait, waitFor } from './lib/processes.js';
import { criuBin } from './lib/rpc-client.js';

t.setTimeout(600_000);

/** One connection: send each request (or raw bytes), read each answer. */
function ask(address: string, requests: readonly (CriuReq | Buffer)[]): CriuResp[] {
  const fd = socket(AF.UNIX, SOCK.SEQPACKET | SOCK.CLOEXEC);
  try {
    connectUnix(fd, address);
    return requests.map((req) => {
      sendPacket(fd, Buffer.isBuffer(req) ? req : encodeRequest(req));
      const packet = recvPacket(fd);
      if (packet.kind !== 'data') throw new Error(`no response (${packet.kind})`);
      return decodeResponse(packet.data);
    });
  } finally {
    closeSync(fd);
  }
}

t.test('criu service --daemon --pidfile serves connections on a 0600 socket', async (t) => {
  const dir = scratchDir(t, 'criu-ts-service-');
  const address = join(dir, 'criu.sock');
  const pidfile = join(dir, 'service.pid');
  const started = spawn(criuBin, ['service', '--address', address, '--daemon', '--pidfile', pidfile, '-o', join(dir, 'service.log'), '-v4'], { stdio: 'inherit' });
  const status = await new Promise<number | null>((resolve) => started.once('exit', resolve));
  t.equal(status, 0, 'criu service --daemon returns once the daemon listens');
  const pid = Number(readFileSync(pidfile, 'utf8'));
  t.teardown(() => killAndWait(pid));
  t.ok(pid > 0 && existsSync(`/proc/${pid}`), `the pidfile names the running daemon (${pid})`);
  t.equal(statSync(address).mode & 0o777, 0o600, 'the socket is 0600');

  const [version] = ask(address, [{ type: 'VERSION' }]);
  t.match(version, { type: 'VERSION', success: true, version: { major_number: 4, minor_number: 1 } }, 'VERSION');
  const [check] = ask(address, [{ type: 'CHECK' }]);
  t.match(check, { type: 'CHECK', success: true }, 'CHECK in a worker');
  const [features] = ask(address, [{ type: 'FEATURE_CHECK', features: { lazy_pages: true, mem_track: true } }]);
  // this kernel has userfaultfd with its events and the WP-async dirty tracking: both are answered true
  t.match(features, { type: 'FEATURE_CHECK', success: true, features: { lazy_pages: true, mem_track: true, pidfd_store: false } }, 'FEATURE_CHECK probes lazy_pages and mem_track');
  const [sibling] = ask(address, [{ type: 'RESTORE', opts: { images_dir: dir, rst_sibling: true } }]);
  t.match(sibling, { type: 'RESTORE', success: false, cr_errno: 56 }, 'rst_sibling is refused over the service socket (swrk only)');
  t.match(sibling.cr_errmsg, /only with criu swrk/);
  const [bad, after] = ask(address, [Buffer.from('not a request'), { type: 'VERSION', keep_open: true }]);
  t.match(bad, { success: false }, 'a malformed packet gets an error response');
  t.match(after, { type: 'VERSION', success: true }, 'and the connection still serves');
  t.ok(existsSync(`/proc/${pid}`), 'the daemon runs on');

  process.kill(pid, 'SIGTERM');
  await waitFor(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 10_000, 'the daemon to stop');
  t.notOk(existsSync(address), 'SIGTERM: the daemon stops and removes its socket');
});

t.test('criu service --status-fd reports readiness; a non-socket address is left alone', async (t) => {
  const dir = scratchDir(t, 'criu-ts-service-');
  const address = join(dir, 'criu.sock');
  const child = spawn(criuBin, ['service', '--address', address, '--status-fd', '3'], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
  t.teardown(() => (child.pid === undefined ? undefined : killAndWait(child.pid)));
  const ready = await new Promise<boolean>((resolve) => {
    child.stdio[3]?.once('data', () => resolve(true));
    child.once('exit', () => resolve(false));
  });
  t.ok(ready, '--status-fd got its byte once the service listened');
  t.match(ask(address, [{ type: 'VERSION' }])[0], { success: true });
  const plain = join(dir, 'plain-file');
  const refused = spawn(criuBin, ['service', '--address', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  refused.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => refused.once('exit', resolve));
  t.equal(code, 1, 'an address that exists and is not a socket is an error');
  t.match(stderr, /exists and is not a socket/);
  t.ok(existsSync(dir) && !existsSync(plain), 'nothing was removed');
});

// TLS between our client and our server, with certificates made here:
// verification on both sides, clear errors for untrusted or broken ones.
import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PE_PRESENT, openPagemap } from '@criu-ts/images';
import type { Step } from './client-worker.fixture.js';
import { session } from './ps-harness.fixture.js';
import { makeCa, makeCert } from './tls-certs.fixture.js';
import { loadTlsMaterial, TLS_DEFAULTS } from './tls-files.js';

const root = mkdtempSync(join(tmpdir(), 'page-server-tls-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const certs = join(root, 'certs');
mkdirSync(certs);
const ca = makeCa(certs, 'good');
const rogueCa = makeCa(certs, 'rogue');
const server = makeCert(certs, 'server', ca, 'IP:127.0.0.1');
const client = makeCert(certs, 'client', ca, 'DNS:dump.example');
const rogueClient = makeCert(certs, 'rogue-client', rogueCa, 'DNS:dump.example');
const misnamed = makeCert(certs, 'misnamed', ca, 'DNS:elsewhere.example');

let dirs = 0;
function freshDir(): string {
  const dir = join(root, `d${(dirs += 1)}`);
  mkdirSync(dir);
  return dir;
}

const steps: Step[] = [{ open: ['pagemap', 5] }, { run: { vaddr: 0x10000n, nrPages: 40, flags: PE_PRESENT }, via: 'file' }, { flush: false }];
const material = (pair: { cert: string; key: string }, cacert = ca.cert, noCnVerify = false) => loadTlsMaterial({ cacert, cert: pair.cert, key: pair.key, noCnVerify });

t.test('both sides verified: the images arrive', async (t) => {
  const dir = freshDir();
  const outcome = await session(dir, { steps, tls: material(client) }, { tls: material(server) });
  t.strictSame(outcome.client, { ok: true });
  if (outcome.server instanceof Error) return t.fail(outcome.server.message);
  t.strictSame(outcome.server.images, ['pagemap-5.img', 'pages-65537.img']);
  const reader = openPagemap(dir, 5);
  t.strictSame([...reader], [{ vaddr: 0x10000n, nrPages: 40, flags: PE_PRESENT, pagesOffset: 0 }]);
  reader.close();
});

t.test('a client certificate from another CA is refused by the server', async (t) => {
  const dir = freshDir();
  const outcome = await session(dir, { steps, tls: material(rogueClient) }, { tls: material(server) });
  t.type(outcome.server, Error);
  t.match((outcome.server as Error).message, /^page-server: TLS handshake with 127\.0\.0\.1:\d+ failed: .*client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE/, (outcome.server as Error).message);
  t.equal(outcome.client.ok, false, `the client fails too: ${outcome.client.error}`);
  t.strictSame(readdirSync(dir), []);
});

t.test('a server the client cannot verify is refused by the client', async (t) => {
  const dir = freshDir();
  const outcome = await session(dir, { steps, tls: material(client, rogueCa.cert) }, { tls: material(server) });
  t.equal(outcome.client.ok, false);
  t.match(outcome.client.error, /TLS connection failed: .*(unable to verify|self.signed|local issuer)/i, outcome.client.error ?? '');
  t.type(outcome.server, Error, 'the server reports the failed handshake');
  t.strictSame(readdirSync(dir), []);
});

t.test('a server certificate for another name: refused, unless --tls-no-cn-verify', async (t) => {
  const refused = await session(freshDir(), { steps, tls: material(client) }, { tls: material(misnamed) });
  t.equal(refused.client.ok, false);
  t.match(refused.client.error, /IP: 127\.0\.0\.1 is not in the cert's list|does not match/i, refused.client.error ?? '');
  const allowed = await session(freshDir(), { steps, tls: material(client, ca.cert, true) }, { tls: material(misnamed) });
  t.strictSame(allowed.client, { ok: true });
});

t.test('a key that does not match the certificate: a clear error at start', async (t) => {
  const outcome = await session(freshDir(), { steps, tls: material(client) }, { tls: material({ cert: server.cert, key: client.key }) });
  t.type(outcome.server, Error);
  t.match((outcome.server as Error).message, /key values mismatch|KEY_VALUES_MISMATCH/i, (outcome.server as Error).message);
});

t.test('missing files name the file and the option', async (t) => {
  t.throws(() => loadTlsMaterial({ cert: join(root, 'nope.pem'), key: client.key, cacert: ca.cert }), /TLS certificate .*nope\.pem: cannot read it \(ENOENT\)/);
  const defaults = { ...TLS_DEFAULTS, cacert: join(root, 'none-ca.pem'), cacrl: join(root, 'none-crl.pem'), cert: join(root, 'none-cert.pem') };
  t.throws(() => loadTlsMaterial({ key: client.key }, defaults), { message: /none-cert\.pem/, hint: 'give --tls-cert FILE' });
  const fine = loadTlsMaterial({ cert: client.cert, key: client.key }, defaults);
  t.ok(fine.ca.length > 1, 'without --tls-cacert: the system CAs');
  t.equal(fine.crl, undefined, 'no CRL when the default is absent');
});

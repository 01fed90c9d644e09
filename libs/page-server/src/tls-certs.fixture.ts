// Test fixture: a CA, and certificates it signs, made with openssl(1).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

/** A self-signed CA: NAME-ca.pem and NAME-ca.key in dir. */
export function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}-ca.pem`);
  const key = join(dir, `${name}-ca.key`);
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name} test CA`]);
  return { cert, key };
}

/** A certificate for `san` (e.g. 'IP:127.0.0.1') signed by ca: NAME.pem and NAME.key. */
export function makeCert(dir: string, name: string, ca: { cert: string; key: string }, san: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(dir, ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  return { cert, key };
}

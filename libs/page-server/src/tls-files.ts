// TLS credentials as criu(8) describes them (page-server section):
//   --tls-cacert FILE  only this CA; without it, the system's CAs and, if
//                      present, /etc/pki/CA/cacert.pem
//   --tls-cacrl FILE   this CRL; without it /etc/pki/CA/cacrl.pem if present
//   --tls-cert FILE    default /etc/pki/criu/cert.pem
//   --tls-key FILE     default /etc/pki/criu/private/key.pem
// Both sides present a certificate and verify the peer's; the client also
// checks the server's name against --address unless --tls-no-cn-verify.
import { existsSync, readFileSync } from 'node:fs';
import { rootCertificates, type ConnectionOptions, type TLSSocket, type TlsOptions } from 'node:tls';
import { CriuError, errnoOf } from '@criu-ts/base';

export const TLS_DEFAULTS = {
  cacert: '/etc/pki/CA/cacert.pem',
  cacrl: '/etc/pki/CA/cacrl.pem',
  cert: '/etc/pki/criu/cert.pem',
  key: '/etc/pki/criu/private/key.pem',
} as const;

/** The --tls-* options as given (undefined: the default). */
export interface TlsFiles {
  cacert?: string;
  cacrl?: string;
  cert?: string;
  key?: string;
  noCnVerify?: boolean;
}

/** What node:tls needs, read from the files. */
export interface TlsMaterial {
  ca: string[];
  crl: string | undefined;
  cert: string;
  key: string;
  checkName: boolean;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CriuError(`TLS ${what} ${path}: cannot read it (${errnoOf(error) ?? String(error)})`, {
      code: 'ETLS',
      hint: `give --tls-${what === 'CA certificate' ? 'cacert' : what === 'CRL' ? 'cacrl' : what === 'certificate' ? 'cert' : 'key'} FILE`,
      cause: error,
    });
  }
}

/** Read the credentials criu(8) would use for these options. */
export function loadTlsMaterial(files: TlsFiles, defaults: Readonly<Record<keyof typeof TLS_DEFAULTS, string>> = TLS_DEFAULTS): TlsMaterial {
  const ca =
    files.cacert !== undefined
      ? [readPem(files.cacert, 'CA certificate')]
      : [...rootCertificates, ...(existsSync(defaults.cacert) ? [readPem(defaults.cacert, 'CA certificate')] : [])];
  const crlPath = files.cacrl ?? (existsSync(defaults.cacrl) ? defaults.cacrl : undefined);
  return {
    ca,
    crl: crlPath === undefined ? undefined : readPem(crlPath, 'CRL'),
    cert: readPem(files.cert ?? defaults.cert, 'certificate'),
    key: readPem(files.key ?? defaults.key, 'private key'),
    checkName: files.noCnVerify !== true,
  };
}

/**
 * node:tls server options: present our certificate and require the
 * client's. The verdict on the client's certificate is checked after the
 * handshake (checkClientCertificate) so that the error says why.
 */
export function serverTlsOptions(material: TlsMaterial): TlsOptions {
  return { ca: material.ca, crl: material.crl, cert: material.cert, key: material.key, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' };
}

/** Why a TLS client's certificate is not acceptable, or undefined if it is. */
export function clientCertificateProblem(socket: TLSSocket): string | undefined {
  if (socket.authorized) return undefined;
  const reason = socket.authorizationError;
  const text = reason instanceof Error ? reason.message : String(reason ?? 'no certificate');
  return `client certificate refused: ${text}`;
}

/** node:tls client options for a server at `host` (plain data: they cross into the relay worker). */
export function clientTlsOptions(material: TlsMaterial, host: string): ConnectionOptions {
  const options: ConnectionOptions = { ca: material.ca, crl: material.crl, cert: material.cert, key: material.key, rejectUnauthorized: true, minVersion: 'TLSv1.2' };
  if (!/^[\d.]+$|:/.test(host)) options.servername = host;
  return options;
}

/** A TLS failure in words: 'certificate verify failed: unable to get local issuer certificate (UNABLE_TO_GET_ISSUER_CERT_LOCALLY)'. */
export function tlsFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = errnoOf(error);
  return code === undefined ? error.message : `${error.message} (${code})`;
}
